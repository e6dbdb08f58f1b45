"""Nothing lost (SPEC §5): a process killed in the middle of an archive import or an export.

The work runs in a real subprocess, killed with SIGKILL once it has visibly
made progress; then the database must be consistent, nothing half-written
visible, and running the same work again must complete it. On SQLite and,
when reachable, on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, insert, select

from councilbot.fsutil import sha256_file
from councilbot.search.index import open_index
from councilbot.services.archive import BATCH_SIZE
from councilbot.services.common import get_session
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import AnswerRevision, AuditEntry, ExportRecord, Member, PastAnswer, Question
from tests.pg import temporary_database
from tests.support import load_small_org, workspace_settings

ROOT = Path(__file__).parent.parent
RECORDS = 12 * BATCH_SIZE


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cfg(request, tmp_path):
    if request.param == "sqlite":
        yield workspace_settings(f"sqlite:///{tmp_path}/councilbot.db", tmp_path)
    else:
        with temporary_database() as url:
            yield workspace_settings(url, tmp_path)


def _start(settings: Settings, code: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "INDEX_DIR": str(settings.index_dir), "EXPORT_DIR": str(settings.export_dir)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen[bytes], progressed, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3000):
        if proc.poll() is not None:
            pytest.fail(f"the process ended before {what}: {proc.stderr.read().decode()[-2000:]}")
        if progressed():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return
        time.sleep(0.01)
    pytest.fail(f"no progress seen: {what}")


def _count(settings: Settings, model) -> int:  # type: ignore[no-untyped-def]
    with session_scope(settings) as db:
        return db.scalar(select(func.count()).select_from(model))


def _record(i: int) -> dict:
    return {
        "ref": f"H-{i:06d}", "session": "令和5年9月定例会", "member": "青木 健一", "department": "危機管理課", "answerer": "総務部長",
        "title": f"防災対策について（{i}）", "question": f"地域の防災訓練と備蓄について伺う。第{i}問。",
        "answer": f"自主防災組織と連携し、備蓄の充実に努めてまいります。第{i}答。",
    }


IMPORT = (
    "import sys\n"
    "from councilbot.services.archive import import_file\n"
    "from councilbot.settings import Settings\n"
    "from councilbot.storage.db import session_scope\n"
    "cfg = Settings()\n"
    "with session_scope(cfg) as db:\n"
    "    import_file(db, cfg, sys.argv[1])\n"
)


def test_import_killed_midway_keeps_whole_batches_and_a_rerun_completes(cfg, tmp_path):
    source = tmp_path / "archive.jsonl"
    source.write_text("".join(json.dumps(_record(i), ensure_ascii=False) + "\n" for i in range(RECORDS)), encoding="utf-8")
    proc = _start(cfg, IMPORT.replace("sys.argv[1]", repr(str(source))))
    _kill_when(proc, lambda: _count(cfg, PastAnswer) >= BATCH_SIZE, "the first batch was committed")

    done = _count(cfg, PastAnswer)
    assert 0 < done < RECORDS and done % BATCH_SIZE == 0  # whole batches only: nothing half-written
    with session_scope(cfg) as db:
        for row in db.scalars(select(PastAnswer)):
            i = int(row.ref[2:])
            assert (row.title, row.question, row.answer) == (_record(i)["title"], _record(i)["question"], _record(i)["answer"])

    rerun = _start(cfg, IMPORT.replace("sys.argv[1]", repr(str(source))))
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read().decode()[-2000:]
    assert _count(cfg, PastAnswer) == RECORDS
    assert open_index(cfg.index_dir).count() == RECORDS  # the rerun re-indexes what the killed one had committed


EXPORT = (
    "from councilbot.services import books\n"
    "from councilbot.services.common import cli_user\n"
    "from councilbot.settings import Settings\n"
    "from councilbot.storage.db import session_scope\n"
    "cfg = Settings()\n"
    "with session_scope(cfg) as db:\n"
    "    books.export_book(db, cfg, cli_user(db), '令和8年12月定例会', draft=True, back_data=True, out=OUT)\n"
)
ITEMS = 5000


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _big_session(settings: Settings) -> None:
    """A session with many drafted answers, inserted in bulk (the workflow itself is tested elsewhere)."""
    load_small_org(settings)
    with session_scope(settings) as db:
        session = get_session(db, "令和8年12月定例会")
        member = db.scalar(select(Member).where(Member.seat == 16))
        db.execute(insert(Question), [
            {"key": f"R8-12-16-{i}", "session_id": session.id, "member_id": member.id, "question_type": "一般質問",
             "item_no": str(i), "item_sort": f"{i:04d}.000.000", "title": f"地域防災について（{i}）",
             "body": "地域の防災力向上について伺う。" * 5, "status": "drafting", "answerer": "総務部長"}
            for i in range(1, ITEMS + 1)
        ])
        ids = db.scalars(select(Question.id)).all()
        db.execute(insert(AnswerRevision), [
            {"question_id": qid, "number": 1, "answer": "お答えいたします。自主防災組織と連携してまいります。" * 8, "back_data": "令和7年度実績"}
            for qid in ids
        ])


def test_export_killed_midway_leaves_no_half_book_and_no_record_and_a_rerun_completes(cfg, tmp_path):
    _big_session(cfg)
    out = tmp_path / "book" / "答弁書.docx"
    code = EXPORT.replace("OUT", repr(str(out)))
    proc = _start(cfg, code)
    # Killed while it works: once it has spent real effort (imports, database, rendering), well before it ends.
    _kill_when(proc, lambda: _cpu_seconds(proc.pid) >= 1.5, "the export was under way")

    assert _count(cfg, ExportRecord) == 0
    with session_scope(cfg) as db:
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "book.export")) == 0
    assert not out.exists() or docx.Document(str(out))  # the book is there whole, or not at all

    rerun = _start(cfg, code)
    assert rerun.wait(timeout=120) == 0, rerun.stderr.read().decode()[-2000:]
    with session_scope(cfg) as db:
        record = db.scalar(select(ExportRecord))
        assert record.item_count == ITEMS and record.sha256 == sha256_file(out)
    assert len(docx.Document(str(out)).paragraphs) > ITEMS
