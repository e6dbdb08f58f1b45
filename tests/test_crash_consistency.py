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
from councilbot.services.common import get_council_session
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import AnswerRevision, AuditEntry, ExportRecord, Member, PastAnswer, Question
from tests.pg import temporary_database
from tests.support import load_small_org, workspace_settings
from tests.test_search_workers import children, wait_gone

ROOT = Path(__file__).parent.parent
RECORDS = 3 * BATCH_SIZE


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cfg(request, tmp_path):
    if request.param == "sqlite":
        yield workspace_settings(f"sqlite:///{tmp_path}/councilbot.db", tmp_path)
    else:
        with temporary_database() as url:
            yield workspace_settings(url, tmp_path)


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "INDEX_DIR": str(settings.index_dir),
        "EXPORT_DIR": str(settings.export_dir),
        "EMBEDDINGS_PROVIDER": "none",
    }


def _start(settings: Settings, code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


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
        "ref": f"H-{i:06d}",
        "session": "令和5年9月定例会",
        "member": "青木 健一",
        "department": "危機管理課",
        "answerer": "総務部長",
        "title": f"防災対策について（{i}）",
        "question": f"地域の防災訓練と備蓄について伺う。第{i}問。",
        "answer": f"自主防災組織と連携し、備蓄の充実に努めてまいります。第{i}答。",
    }


# The child says on stdout when it reaches the stage named, then waits there to be killed: the test
# kills it at that point exactly, whatever the machine's speed.
IMPORT = (
    "import sys, threading\n"
    "from councilbot.app_context import ensure_context\n"
    "from councilbot.services.archive import import_file\n"
    "from councilbot.settings import Settings\n"
    "from councilbot.storage.db import session_scope\n"
    "def progress(stage, done):\n"
    "    if stage == STAGE:\n"
    "        print(stage, flush=True)\n"
    "        threading.Event().wait()\n"
    "cfg = Settings()\n"
    "ensure_context()\n"
    "with session_scope(cfg) as db:\n"
    "    import_file(db, cfg, SOURCE, progress=progress)\n"
)


def _archive(tmp_path: Path, records: range) -> Path:
    source = tmp_path / f"archive-{records.start}.jsonl"
    source.write_text("".join(json.dumps(_record(i), ensure_ascii=False) + "\n" for i in records), encoding="utf-8")
    return source


def _import_killed_at(cfg: Settings, source: Path, stage: str) -> None:
    """Run an import in a real process and SIGKILL it once it has reached ``stage``."""
    proc = _start(cfg, IMPORT.replace("STAGE", repr(stage)).replace("SOURCE", repr(str(source))))
    line = proc.stdout.readline().decode().strip()  # waits for the child to reach the stage
    assert line == stage, proc.stderr.read().decode()[-2000:]
    workers = children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # No analysis worker outlives the import (it would keep a copy of the index lock).
    assert wait_gone(workers) == set()


def _councilbot(cfg: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "councilbot", *args],
        cwd=ROOT,
        env=_env(cfg),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_killed_before_its_commit_keeps_nothing_and_a_rerun_completes(cfg, tmp_path):
    source = _archive(tmp_path, range(RECORDS))
    _import_killed_at(cfg, source, "records")  # two chunks written, not committed
    assert _count(cfg, PastAnswer) == 0 and open_index(cfg.index_dir).count() == 0

    rerun = _councilbot(cfg, "archive", "import", str(source))
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _count(cfg, PastAnswer) == RECORDS
    assert open_index(cfg.index_dir).count() == RECORDS


@pytest.mark.parametrize("next_step", ["search", "import"])
def test_import_killed_while_indexing_is_caught_up_by_the_next_search_or_write(cfg, tmp_path, next_step):
    source = _archive(tmp_path, range(RECORDS))
    _import_killed_at(cfg, source, "index")  # the database has committed; the index has not
    assert _count(cfg, PastAnswer) == RECORDS
    index = open_index(cfg.index_dir)
    assert index.count() < RECORDS
    with index.writer_lock().acquire(timeout=0):  # the dead process's lock is free at once
        pass

    last = _record(RECORDS - 1)["title"]
    if next_step == "import":
        more = _councilbot(cfg, "archive", "import", str(_archive(tmp_path, range(RECORDS, RECORDS + 1))))
        assert more.returncode == 0, more.stderr[-2000:]
        assert index.count() == RECORDS + 1
    found = _councilbot(cfg, "search", last, "--limit", "1", "--json")
    assert found.returncode == 0, found.stderr[-2000:]
    assert [r["title"] for r in json.loads(found.stdout)["results"]] == [last]
    assert index.count() == RECORDS + (next_step == "import")


EXPORT = (
    "from councilbot.app_context import ensure_context\n"
    "from councilbot.services import books\n"
    "from councilbot.services.common import cli_user\n"
    "from councilbot.settings import Settings\n"
    "from councilbot.storage.db import session_scope\n"
    "cfg = Settings()\n"
    "ensure_context()\n"
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
        session = get_council_session(db, "令和8年12月定例会")
        member = db.scalar(select(Member).where(Member.seat == 16))
        db.execute(
            insert(Question),
            [
                {
                    "key": f"R8-12-16-{i}",
                    "session_id": session.id,
                    "member_id": member.id,
                    "question_type": "一般質問",
                    "item_no": str(i),
                    "item_sort": f"{i:04d}.000.000",
                    "title": f"地域防災について（{i}）",
                    "body": "地域の防災力向上について伺う。" * 5,
                    "status": "drafting",
                    "answerer": "総務部長",
                }
                for i in range(1, ITEMS + 1)
            ],
        )
        ids = db.scalars(select(Question.id)).all()
        db.execute(
            insert(AnswerRevision),
            [
                {
                    "question_id": qid,
                    "number": 1,
                    "answer": "お答えいたします。自主防災組織と連携してまいります。" * 8,
                    "back_data": "令和7年度実績",
                }
                for qid in ids
            ],
        )


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
