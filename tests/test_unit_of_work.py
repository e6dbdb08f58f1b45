"""Transactions (storage.db.UnitOfWork): one unit of work per use case, work that waits for its commit.

Services never commit or roll back a Session; a use case in more than one transaction asks its unit
of work for a checkpoint. Work queued for after the commit (index and vector writes) runs only once
the transaction has committed, is dropped when it rolls back, and never turns a commit into an error.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from councilbot.search.index import open_index
from councilbot.services import archive
from councilbot.services.search import search_archive
from councilbot.settings import Settings
from councilbot.storage.db import make_engine, savepoint, session_scope, unit_of_work
from councilbot.storage.models import Commitment, IndexQueueEntry, PastAnswer

SERVICES = Path(__file__).parent.parent / "councilbot" / "services"


def _committed_refs(settings: Settings) -> list[str]:
    """What another connection sees: the committed state only."""
    with Session(make_engine(settings.database_url)) as other:
        return list(other.scalars(select(IndexQueueEntry.ref).order_by(IndexQueueEntry.id)))


def _write(db: Session, ref: str) -> None:
    db.execute(insert(IndexQueueEntry), [{"ref": ref}])


def _recorder(settings: Settings, ran: list[tuple[str, list[str]]], name: str) -> Callable[[], None]:
    """Work that notes when it ran and what was committed by then."""
    return lambda: ran.append((name, _committed_refs(settings)))


class Boom(Exception):
    pass


def test_work_queued_for_after_the_commit_runs_once_the_transaction_has_committed(settings):
    ran: list[tuple[str, list[str]]] = []
    with session_scope(settings) as db:
        _write(db, "R-1")
        unit_of_work(db).after_commit(_recorder(settings, ran, "index"))
        assert ran == []
    assert ran == [("index", ["R-1"])]


def test_a_rollback_drops_the_queued_work_and_a_later_commit_does_not_run_it(settings):
    ran: list[tuple[str, list[str]]] = []
    with pytest.raises(Boom), session_scope(settings) as db:
        _write(db, "R-1")
        unit_of_work(db).after_commit(_recorder(settings, ran, "index"))
        raise Boom
    with session_scope(settings) as db:
        _write(db, "R-2")
    assert ran == []
    assert _committed_refs(settings) == ["R-2"]


def test_a_use_case_in_several_transactions_runs_each_ones_work_after_its_own_commit(settings):
    ran: list[tuple[str, list[str]]] = []
    with session_scope(settings) as db:
        unit = unit_of_work(db)
        _write(db, "kept")
        unit.after_commit(_recorder(settings, ran, "kept"))
        unit.checkpoint()
        assert ran == [("kept", ["kept"])]
        _write(db, "dropped")
        unit.after_commit(_recorder(settings, ran, "dropped"))
        unit.discard()
        _write(db, "last")
        unit.after_commit(_recorder(settings, ran, "last"))
    assert ran == [("kept", ["kept"]), ("last", ["kept", "last"])]


def test_work_queued_twice_under_one_key_runs_once_per_transaction(settings):
    ran: list[tuple[str, list[str]]] = []
    with session_scope(settings) as db:
        unit = unit_of_work(db)
        for ref in ("R-1", "R-2"):
            _write(db, ref)
            unit.after_commit(_recorder(settings, ran, "first"), key="catch-up")
            unit.after_commit(_recorder(settings, ran, "second"), key="catch-up")
        unit.checkpoint()
        _write(db, "R-3")
        unit.after_commit(_recorder(settings, ran, "next"), key="catch-up")
    assert ran == [("first", ["R-1", "R-2"]), ("next", ["R-1", "R-2", "R-3"])]


def test_a_session_committed_or_rolled_back_directly_keeps_the_same_rules(settings):
    """A Session opened without session_scope (a test racing two connections) gets a unit of work too."""
    ran: list[tuple[str, list[str]]] = []
    with Session(make_engine(settings.database_url)) as db:
        _write(db, "rolled back")
        unit_of_work(db).after_commit(_recorder(settings, ran, "rolled back"))
        db.rollback()
        _write(db, "committed")
        unit_of_work(db).after_commit(_recorder(settings, ran, "committed"))
        db.commit()
    assert ran == [("committed", ["committed"])]


@pytest.mark.postgres
def test_a_savepoint_ending_inside_the_transaction_runs_nothing_before_the_commit(pg_settings):
    ran: list[tuple[str, list[str]]] = []
    with session_scope(pg_settings) as db:
        _write(db, "R-1")
        unit_of_work(db).after_commit(_recorder(pg_settings, ran, "index"))
        with savepoint(db):
            _write(db, "R-2")
        with pytest.raises(Boom), savepoint(db):
            _write(db, "R-3")
            raise Boom
        assert ran == []
    assert ran == [("index", ["R-1", "R-2"])]


def test_work_that_fails_after_the_commit_leaves_the_commit_standing_and_the_rest_runs(settings, caplog):
    ran: list[tuple[str, list[str]]] = []

    def failing() -> None:
        raise Boom("index unreachable")

    with session_scope(settings) as db:  # no error reaches the caller: its data is committed
        _write(db, "R-1")
        unit_of_work(db).after_commit(failing)
        unit_of_work(db).after_commit(_recorder(settings, ran, "vectors"))
    assert ran == [("vectors", ["R-1"])]
    assert "failing after commit failed" in caplog.text and "the commit stands" in caplog.text


def _records(n: int, *, fail_after: int | None = None) -> Iterator[dict[str, Any]]:
    for i in range(n):
        if i == fail_after:
            raise Boom("the source broke off")
        yield {
            "ref": f"H-{i:05d}",
            "title": f"防災対策について（{i}）",
            "question": f"防災訓練について伺う。第{i}問。",
            "answer": f"自主防災組織と連携し、訓練を実施してまいります。第{i}答。",
        }


def _count(settings: Settings, model: Any) -> int:
    with session_scope(settings) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_an_import_that_fails_midway_leaves_nothing_and_its_index_work_never_runs(settings):
    """The first chunk is written (answers, commitments, index queue) and its catch-up queued; the
    failure in the second leaves no trace of either, in the database or in the index."""
    with pytest.raises(Boom), session_scope(settings) as db:
        archive.import_records(db, settings, _records(2 * archive.BATCH_SIZE, fail_after=archive.BATCH_SIZE + 1))
    assert (_count(settings, PastAnswer), _count(settings, Commitment), _count(settings, IndexQueueEntry)) == (0, 0, 0)
    assert not open_index(settings.index_dir).exists()

    with session_scope(settings) as db:  # the same records, whole: the index follows the commit
        assert archive.import_records(db, settings, _records(3)).created == 3
    assert open_index(settings.index_dir).count() == 3
    assert _count(settings, IndexQueueEntry) == 0


@pytest.fixture
def index_lock_held_elsewhere(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Another process holds the index writer lock (waiting for it gives up at once); gives ``release()``."""
    monkeypatch.setattr(archive, "WRITE_LOCK_TIMEOUT_S", 0.1)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import filelock, sys\n"
            "lock = filelock.FileLock(sys.argv[1])\n"
            "lock.acquire()\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            open_index(settings.index_dir).writer_lock().lock_file,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == b"held\n"

    def release() -> None:
        if holder.stdin and not holder.stdin.closed:
            holder.stdin.close()
        holder.wait()

    yield release
    release()


def test_an_import_whose_index_catch_up_fails_after_the_commit_reports_the_backlog_not_an_error(
    settings, tmp_path, cli, index_lock_held_elsewhere
):
    source = tmp_path / "history.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _records(3)), encoding="utf-8")
    result = cli(settings)("archive", "import", str(source))
    assert result.returncode == 0, result.stderr
    assert "新規 3件" in result.stdout
    assert "検索索引への反映が済んでいない過去答弁が 3件あります" in result.stderr
    assert "変更されていません" not in result.stderr and "取り込んでいません" not in result.stderr
    assert _count(settings, PastAnswer) == 3 and _count(settings, IndexQueueEntry) == 3


def test_the_index_catches_up_by_itself_once_the_lock_is_free(settings, index_lock_held_elsewhere):
    with session_scope(settings) as db:
        assert archive.import_records(db, settings, _records(3)).created == 3
    assert archive.pending_index_count(settings) == 3
    index_lock_held_elsewhere()  # released
    with session_scope(settings) as db:  # a search catches the index up in passing
        assert len(search_archive(db, settings, "防災訓練", limit=10)) == 3
    assert archive.pending_index_count(settings) == 0


def _commits_and_rollbacks(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.name}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    ]


def test_no_service_commits_or_rolls_back_a_session_itself():
    """Transaction boundaries belong to the unit of work (session_scope, checkpoint, discard)."""
    modules = sorted(SERVICES.rglob("*.py"))
    assert modules
    assert [found for path in modules for found in _commits_and_rollbacks(path)] == []
