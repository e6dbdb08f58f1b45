"""The council-answer workflow through the services, on SQLite, as the CLI and chat use it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from councilbot.domain.workflow import State
from councilbot.errors import InvalidInput, InvalidTransition, NotFound, PermissionDenied, StaleVersion
from councilbot.services import assignment, intake, review, status
from councilbot.services.common import get_question, get_user
from councilbot.services.search import search_archive
from councilbot.storage.db import session_scope
from councilbot.storage.models import ApprovalStamp, AuditEntry, PastAnswer, Question, QuestionLink

BODY = "避難所における女性や高齢者、障がいのある方への配慮について、現状と課題、今後の取組を伺う。"


def _new_question(db, *, seat=16, item="1-(1)-①", body=BODY, title="避難所運営について", source_ref=None):
    data = intake.QuestionInput(
        session_name="令和8年12月定例会",
        seat=seat,
        question_type="一般質問",
        item_no=item,
        title=title,
        body=body,
        source_ref=source_ref,
    )
    return intake.register_question(db, get_user(db, "UGA1"), data)


def _snapshot(settings):
    """Everything a refused action must leave as it was."""
    with session_scope(settings) as db:
        q = db.scalar(select(Question))
        return (
            q.status,
            q.stage_index,
            q.version,
            q.review_round,
            len(q.revisions),
            db.scalar(select(func.count()).select_from(ApprovalStamp)),
            db.scalar(select(func.count()).select_from(AuditEntry)),
        )


@pytest.fixture
def key(org):
    with session_scope(org) as db:
        return _new_question(db).question.key


def _run(settings, fn, *args, **kwargs):
    with session_scope(settings) as db:
        return fn(db, *args, **kwargs)


def _as(user_id):
    def call(db, fn, *args, **kwargs):
        return fn(db, get_user(db, user_id), *args, **kwargs)

    return call


def test_intake_gives_a_stable_key_and_is_idempotent_per_delivery(org):
    with session_scope(org) as db:
        first = _new_question(db, source_ref="slack:C1:1700000000.0001")
        again = _new_question(db, source_ref="slack:C1:1700000000.0001")
        assert first.created and not again.created
        assert first.question.key == again.question.key == "R8-12-16-1-1-1"
        assert first.question.status == State.RECEIVED
        assert db.scalar(select(func.count()).select_from(Question)) == 1


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"body": ""}, InvalidInput, "本文が空"),
        ({"body": "あ" * 4001}, InvalidInput, "長すぎます"),
        ({"seat": 99}, NotFound, "99番の議員は登録されていません"),
        ({"item": "(2)"}, InvalidInput, "項目番号"),
    ],
)
def test_bad_intake_is_refused_and_creates_nothing(org, kwargs, error, text):
    with pytest.raises(error) as err:
        with session_scope(org) as db:
            _new_question(db, **kwargs)
    assert text in err.value.message
    with session_scope(org) as db:
        assert db.scalar(select(func.count()).select_from(Question)) == 0


def test_same_item_twice_is_refused(org, key):
    with pytest.raises(InvalidInput) as err:
        with session_scope(org) as db:
            _new_question(db)
    assert key in err.value.message


def test_duplicate_topic_from_another_member_is_linked(org, key):
    with session_scope(org) as db:
        other = _new_question(
            db, seat=3, item="2", body="避難所での女性や高齢者、障がいのある方への配慮の現状と課題について伺う。"
        )
        unrelated = _new_question(
            db,
            seat=21,
            item="1",
            title="給食費について",
            body="学校給食費の無償化について、財源の見通しと市の見解を伺う。",
        )
        assert [q.key for q, _ in other.duplicates] == [key]
        assert unrelated.duplicates == []
        assert db.scalar(select(func.count()).select_from(QuestionLink)) == 1


def _walk_to_review(settings, key, answerer="市長"):
    _run(settings, _as("UGA1"), assignment.assign, key, "危機管理課", answerer=answerer)
    _run(
        settings,
        _as("UKK1"),
        review.save_revision,
        key,
        answer="お答えいたします。避難所の運営につきましては…",
        back_data="備蓄計画 令和7年度改定",
    )
    _run(settings, _as("UKK1"), review.submit, key)


def test_mayor_answer_goes_through_every_stamp_to_final_and_the_archive(org, key):
    _walk_to_review(org, key)
    for approver in ("UKK2", "USB1", "USC1"):  # 課長, 部長, the mayor's secretary
        _run(org, _as(approver), review.approve, key)
    with session_scope(org) as db:
        assert get_question(db, key).status == State.APPROVED
        review.finalize(db, org, get_user(db, "UGA1"), key)
    with session_scope(org) as db:
        q = get_question(db, key)
        assert q.status == State.FINAL
        stamps = [(s.action, s.stage, s.user.chat_id) for s in q.stamps]
        assert stamps == [
            ("assign", None, "UGA1"),
            ("submit", "課長", "UKK1"),
            ("approve", "課長", "UKK2"),
            ("approve", "部長", "USB1"),
            ("approve", "市長", "USC1"),
            ("finalize", None, "UGA1"),
        ]
        assert all(s.stamped_at.microsecond == 0 and s.stamped_at.tzinfo for s in q.stamps)
        archived = db.scalar(select(PastAnswer).where(PastAnswer.ref == key))
        assert archived.source == "final" and archived.answer.startswith("お答えいたします")
        actions = [a.action for a in db.scalars(select(AuditEntry).where(AuditEntry.target == key))]
        assert actions.count("question.approve") == 3 and "question.finalize" in actions


@pytest.mark.parametrize(
    "user, action, kwargs, error",
    [
        ("UGK2", review.approve, {}, PermissionDenied),  # another division's 課長
        ("USB1", review.approve, {}, PermissionDenied),  # 部長 before his stage
        ("UKK1", review.approve, {}, PermissionDenied),  # the drafter stamping himself
        ("UKK2", review.send_back, {"comment": ""}, InvalidInput),  # send back with no comment
        ("UKK2", review.send_back, {"comment": "   "}, InvalidInput),  # a blank comment is no comment
        ("UKK1", review.submit, {}, InvalidTransition),  # already in review
    ],
)
def test_wrong_user_or_wrong_moment_is_refused_and_changes_nothing(org, key, user, action, kwargs, error):
    _walk_to_review(org, key)
    before = _snapshot(org)
    with pytest.raises(error) as err:
        _run(org, _as(user), action, key, **kwargs)
    assert err.value.message  # a Japanese sentence for the user
    assert _snapshot(org) == before


def test_finalize_before_approval_is_refused(org, key):
    _walk_to_review(org, key)
    before = _snapshot(org)
    with pytest.raises(InvalidTransition):
        with session_scope(org) as db:
            review.finalize(db, org, get_user(db, "UGA1"), key)
    assert _snapshot(org) == before


def test_send_back_returns_to_drafter_and_needs_all_stamps_again(org, key):
    _walk_to_review(org, key, answerer="総務部長")
    _run(org, _as("UKK2"), review.approve, key)
    _run(org, _as("USB1"), review.send_back, key, comment="備蓄数の最新値を反映してください。")
    with session_scope(org) as db:
        q = get_question(db, key)
        assert (q.status, q.review_round) == (State.DRAFTING, 2)
    _run(org, _as("UKK1"), review.save_revision, key, answer="お答えいたします。最新の備蓄数は…")
    _run(org, _as("UKK1"), review.submit, key)
    with pytest.raises(PermissionDenied):
        _run(org, _as("USB1"), review.approve, key)  # 課長 must stamp again first
    _run(org, _as("UKK2"), review.approve, key)
    _run(org, _as("USB1"), review.approve, key)
    with session_scope(org) as db:
        assert get_question(db, key).status == State.APPROVED
        assert "最新の備蓄数" in review.revision_diff(db, key)


def test_stale_version_loses(org, key):
    _walk_to_review(org, key)
    with session_scope(org) as db:
        seen = get_question(db, key).version
    _run(org, _as("UKK2"), review.approve, key, expected_version=seen)
    before = _snapshot(org)
    with pytest.raises(StaleVersion) as err:
        _run(org, _as("UKK1"), review.save_revision, key, answer="古い画面からの保存", expected_version=seen)
    assert "読み込み直して" in err.value.message
    assert _snapshot(org) == before


def _walk_to_final(settings, key):
    """A 部長 answer stamped by 課長 and 部長 and finalised by General Affairs."""
    _walk_to_review(settings, key, answerer="総務部長")
    _run(settings, _as("UKK2"), review.approve, key)
    _run(settings, _as("USB1"), review.approve, key)
    with session_scope(settings) as db:
        review.finalize(db, settings, get_user(db, "UGA1"), key)


def _reopen(settings, user, key, reason):
    with session_scope(settings) as db:
        return review.reopen(db, settings, get_user(db, user), key, reason=reason)


def _search(settings, query):
    with session_scope(settings) as db:
        return search_archive(db, settings, query)


def test_reopen_after_final_needs_general_affairs_and_a_reason(org, key):
    _walk_to_final(org, key)
    assert [h.ref for h in _search(org, "お答えいたします")] == [key]
    with pytest.raises(PermissionDenied):
        _reopen(org, "UKK2", key, "誤字")
    with pytest.raises(InvalidInput):
        _reopen(org, "UGA1", key, "")
    _reopen(org, "UGA1", key, "数値の誤りが判明したため")
    with session_scope(org) as db:
        assert get_question(db, key).status == State.DRAFTING
        # No longer final: out of the archive and the search index until finalised again.
        assert db.scalar(select(PastAnswer).where(PastAnswer.ref == key)) is None
    assert _search(org, "お答えいたします") == []


def test_comments_by_involved_staff_only(org, key):
    _walk_to_review(org, key)
    _run(org, _as("UKK2"), review.add_comment, key, "第2段落の表現を確認してください。")
    with pytest.raises(PermissionDenied):
        _run(org, _as("UGK1"), review.add_comment, key, "関係のない課から")
    with session_scope(org) as db:
        assert [c.body for c in get_question(db, key).comments] == ["第2段落の表現を確認してください。"]


def test_status_and_queues(org, key):
    _walk_to_review(org, key)
    with session_scope(org) as db:
        report = status.session_status(db, "令和8年12月定例会")
        assert report.divisions[0].department == "危機管理課"
        assert report.totals["課長確認中"] == 1
        assert [i.key for i in status.user_queue(db, get_user(db, "UKK2"))] == [key]
        assert status.user_queue(db, get_user(db, "UGK2")) == []


def test_unknown_department_on_assignment_changes_nothing(org, key):
    before = _snapshot(org)
    with pytest.raises(NotFound):
        _run(org, _as("UGA1"), assignment.assign, key, "財務課")
    with pytest.raises(InvalidInput):
        _run(org, _as("UGA1"), assignment.assign, key, "総務部")  # a 部, not a 課
    assert _snapshot(org) == before


def test_an_import_cannot_overwrite_a_finalised_answer(org, key):
    from councilbot.services.archive import ImportRefused, import_records

    _walk_to_final(org, key)
    with pytest.raises(ImportRefused) as refused, session_scope(org) as db:
        import_records(db, org, [{"ref": key, "question": "改ざん", "answer": "改ざんされた答弁です。"}])
    assert "校了した答弁と同じ" in str(refused.value.report.errors[0])
    with session_scope(org) as db:
        assert db.scalar(select(PastAnswer).where(PastAnswer.ref == key)).answer.startswith("お答えいたします")
    assert _search(org, "改ざん") == []


def test_a_notice_naming_an_unknown_member_is_refused_with_its_line_and_imports_nothing(org, tmp_path):
    notice = tmp_path / "通告書.txt"
    notice.write_text(
        "令和8年12月定例会　質問通告書\n\n【一般質問】3番　青木 健一（市民クラブ）\n1　避難所について\n避難所の備蓄について伺う。\n\n"
        "【一般質問】99番　架空 太郎（無所属）\n1　給食費について\n給食費の無償化について伺う。\n",
        encoding="utf-8",
    )
    with pytest.raises(NotFound) as err:
        with session_scope(org) as db:
            intake.import_notice(db, get_user(db, "UGA1"), notice)
    assert err.value.message.startswith("通告書.txt 8行目: 99番の議員は登録されていません")
    with session_scope(org) as db:
        assert db.scalar(select(func.count()).select_from(Question)) == 0
