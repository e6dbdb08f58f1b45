"""The workflow's concurrency guarantees, for real, on PostgreSQL: two connections racing.

SQLite serialises writers, so these races can only be shown on a server that
runs transactions side by side.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from councilbot.errors import StaleVersion
from councilbot.services import assignment, intake, review
from councilbot.services.common import get_question, get_user
from councilbot.storage.db import make_engine, session_scope
from councilbot.storage.models import ApprovalStamp, Question
from tests.pg import wait_for_lock_waiters

pytestmark = pytest.mark.postgres

BODY = "避難所における女性や高齢者、障がいのある方への配慮について、現状と課題、今後の取組を伺う。"


def _question_input(source_ref: str | None = None) -> intake.QuestionInput:
    return intake.QuestionInput(
        session_name="令和8年12月定例会",
        seat=16,
        question_type="一般質問",
        item_no="1-(1)-①",
        title="避難所運営について",
        body=BODY,
        source_ref=source_ref,
    )


def _in_thread(fn) -> tuple[threading.Thread, dict]:  # type: ignore[no-untyped-def]
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except Exception as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.fixture
def at_mayor_stage(pg_org):
    """A mayor's answer waiting for the 市長 stamp, which the mayor and the secretary both hold."""
    with session_scope(pg_org) as db:
        key = intake.register_question(db, get_user(db, "UGA1"), _question_input()).question.key
    for user, action, kwargs in (
        ("UGA1", assignment.assign, {"department": "危機管理課", "answerer": "市長"}),
        ("UKK1", review.save_revision, {"answer": "お答えいたします。避難所の運営につきましては…"}),
        ("UKK1", review.submit, {}),
        ("UKK2", review.approve, {}),
        ("USB1", review.approve, {}),
    ):
        with session_scope(pg_org) as db:
            args = (kwargs.pop("department"),) if "department" in kwargs else ()
            action(db, get_user(db, user), key, *args, **kwargs)
    return pg_org, key


def test_two_approvers_at_once_one_wins_the_other_is_told_who_approved(at_mayor_stage):
    settings, key = at_mayor_stage
    engine = make_engine(settings.database_url)
    with session_scope(settings) as db:
        seen = get_question(db, key).version  # both screens show this version
    first = Session(engine, expire_on_commit=False)
    review.approve(first, get_user(first, "UMY1"), key, expected_version=seen)  # holds the row, not yet committed

    def second() -> object:
        with Session(engine) as db:
            result = review.approve(db, get_user(db, "USC1"), key, expected_version=seen)
            db.commit()
            return result

    thread, outcome = _in_thread(second)
    wait_for_lock_waiters(settings.database_url)  # the secretary's click waits on the mayor's row lock
    first.commit()
    first.close()
    thread.join()
    assert isinstance(outcome.get("error"), StaleVersion)
    assert "桜井 一郎さんが先に市長として承認しました" in outcome["error"].message
    with session_scope(settings) as db:
        q = get_question(db, key)
        assert q.status == "approved"
        mayor_stamps = db.scalars(
            select(ApprovalStamp).where(ApprovalStamp.question_id == q.id, ApprovalStamp.stage == "市長")
        ).all()
        assert [s.user.chat_id for s in mayor_stamps] == ["UMY1"]


def test_stale_copy_without_row_lock_is_refused_by_the_version_check(at_mayor_stage):
    """Two sessions read the same version; the later UPDATE finds the version moved (version_id_col)."""
    settings, key = at_mayor_stage
    engine = make_engine(settings.database_url)
    with Session(engine) as a, Session(engine) as b:
        qa, qb = get_question(a, key), get_question(b, key)  # plain reads: no lock taken
        qa.title = "避難所運営について（修正）"
        a.commit()
        qb.title = "古い画面からの修正"
        with pytest.raises(StaleDataError):
            b.flush()
    with session_scope(settings) as db:
        assert get_question(db, key).title == "避難所運営について（修正）"


def test_the_same_delivery_twice_at_once_creates_one_question(pg_org):
    engine = make_engine(pg_org.database_url)
    ref = "slack:C0SOMU:1700000000.0001"
    first = Session(engine, expire_on_commit=False)
    made = intake.register_question(first, get_user(first, "UGA1"), _question_input(ref))

    def again() -> intake.IntakeResult:
        with Session(engine, expire_on_commit=False) as db:
            result = intake.register_question(db, get_user(db, "UGA1"), _question_input(ref))
            db.commit()
            return result

    thread, outcome = _in_thread(again)
    wait_for_lock_waiters(pg_org.database_url)  # the retry waits on the first insert's unique key
    first.commit()
    first.close()
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["value"].created is False
    assert outcome["value"].question.key == made.question.key
    with session_scope(pg_org) as db:
        assert db.scalar(select(func.count()).select_from(Question)) == 1


def _history(path, refs, answer="自主防災組織と連携してまいります。"):
    import json

    path.write_text(
        "".join(
            json.dumps(
                {
                    "ref": f"H-{i:05d}",
                    "title": f"防災対策について（{i}）",
                    "question": f"防災訓練について伺う。第{i}問。",
                    "answer": f"{answer}第{i}答。",
                },
                ensure_ascii=False,
            )
            + "\n"
            for i in refs
        ),
        encoding="utf-8",
    )
    return path


def _import_while_another_is_open(cfg, first_file, second_file):
    """The second import starts while the first one's transaction is still open, then both finish."""
    from councilbot.services.archive import import_file

    engine = make_engine(cfg.database_url)
    first = Session(engine, expire_on_commit=False)
    first_report = import_file(first, cfg, first_file)

    def second():  # type: ignore[no-untyped-def]
        with session_scope(cfg) as db:
            return import_file(db, cfg, second_file)

    thread, outcome = _in_thread(second)
    wait_for_lock_waiters(cfg.database_url)  # the second waits on the first's new refs
    first.commit()
    first.close()
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    return first_report, outcome["value"]


def test_the_same_archive_file_imported_twice_at_once_is_imported_once(pg_settings, tmp_path):
    from councilbot.search.index import open_index
    from councilbot.storage.models import PastAnswer

    source = _history(tmp_path / "history.jsonl", range(2500))
    first, second = _import_while_another_is_open(pg_settings, source, source)
    assert (first.created, second.created, second.updated, second.unchanged) == (2500, 0, 0, 2500)
    with session_scope(pg_settings) as db:
        assert db.scalar(select(func.count()).select_from(PastAnswer)) == 2500
    assert open_index(pg_settings.index_dir).count() == 2500


def test_overlapping_imports_at_once_leave_no_duplicate_in_the_index(pg_settings, tmp_path):
    from councilbot.search.index import open_index
    from councilbot.services.search import search_archive
    from councilbot.storage.models import PastAnswer

    older = _history(tmp_path / "older.jsonl", range(0, 3000))
    newer = _history(tmp_path / "newer.jsonl", range(1500, 4500), answer="備蓄倉庫を増設いたします。")
    first, second = _import_while_another_is_open(pg_settings, older, newer)
    assert (first.created, second.created, second.updated) == (3000, 1500, 1500)
    with session_scope(pg_settings) as db:
        assert db.scalar(select(func.count()).select_from(PastAnswer)) == 4500
        assert len(search_archive(db, pg_settings, "防災訓練", limit=3)) == 3
        assert len(search_archive(db, pg_settings, "備蓄倉庫", limit=100)) == 100
    assert open_index(pg_settings.index_dir).count() == 4500


def test_imports_that_deadlock_on_each_others_refs_end_one_imported_and_one_clear_line(
    pg_settings, tmp_path, monkeypatch
):
    from councilbot.errors import CouncilbotError
    from councilbot.search.index import open_index
    from councilbot.services import archive

    monkeypatch.setattr(archive, "BATCH_SIZE", 1)  # one ref per chunk: each file takes one ref, then the other's
    forward = _history(tmp_path / "forward.jsonl", [1, 2])
    backward = _history(tmp_path / "backward.jsonl", [2, 1])
    first_chunks_written = threading.Barrier(2)

    def importer(path):  # type: ignore[no-untyped-def]
        def progress(stage, done):  # type: ignore[no-untyped-def]
            if stage == "records" and done == 1:
                first_chunks_written.wait(timeout=60)

        def run():  # type: ignore[no-untyped-def]
            with session_scope(pg_settings) as db:
                return archive.import_file(db, pg_settings, path, progress=progress)

        return run

    runs = [_in_thread(importer(forward)), _in_thread(importer(backward))]
    for thread, _ in runs:
        thread.join()
    outcomes = [outcome for _, outcome in runs]
    errors = [o["error"] for o in outcomes if "error" in o]
    assert len(errors) == 1 and isinstance(errors[0], CouncilbotError), errors
    assert "同時に書き込んでいた" in errors[0].message and "取り込んでいません" in errors[0].message
    assert [o["value"].created for o in outcomes if "value" in o] == [2]
    assert open_index(pg_settings.index_dir).count() == 2
