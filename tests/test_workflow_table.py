"""The workflow table itself: every transition named once, every (state, transition) pair either
taken or refused in Japanese, who acts after each step, and the typed state columns."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from councilbot.domain.chains import chain_for
from councilbot.domain.workflow import (
    STATE_LABELS,
    STATES,
    TRANSITIONS,
    State,
    Transition,
    Who,
    allowed_transitions,
    asked_of,
    plan,
)
from councilbot.errors import InvalidInput, InvalidTransition
from councilbot.services import assignment, intake, review, status
from councilbot.services.common import get_question, get_user
from councilbot.storage.db import session_scope

MAYOR = chain_for("市長")
HEAD = chain_for("総務部長")
KEY = "R8-12-16-1-1-1"


def test_every_transition_and_state_is_in_the_table_once():
    assert set(TRANSITIONS) == set(Transition)
    assert all(name == rule.name for name, rule in TRANSITIONS.items())
    assert set(STATES) == set(State)
    # The stored values never change: existing databases and audit logs use them.
    assert [t.value for t in Transition] == [
        "assign",
        "reassign",
        "save_draft",
        "submit",
        "approve",
        "send_back",
        "finalize",
        "reopen",
        "withdraw",
    ]
    assert [s.value for s in State] == [
        "received",
        "assigned",
        "drafting",
        "in_review",
        "approved",
        "final",
        "withdrawn",
    ]


def _plan(name, state, **kw):
    return plan(name, state, chain=HEAD, stage_index=0, review_round=1, note="理由", key=KEY, **kw)


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("name", list(Transition))
def test_every_pair_is_taken_or_refused_in_japanese(name, state):
    rule = TRANSITIONS[name]
    if state in rule.sources:
        assert _plan(name, state).transition is rule
        return
    if name is Transition.ASSIGN and state in (State.ASSIGNED, State.DRAFTING):
        # Assigning again is a reassignment, which needs its reason: said as before.
        with pytest.raises(InvalidInput) as err:
            _plan(name, state)
        assert (
            err.value.message
            == f"「{KEY}」はすでに担当が決まっています。担当を変える場合は理由を添えて担当変更してください。"
        )
        return
    with pytest.raises(InvalidTransition) as err:
        _plan(name, state)
    assert err.value.message == f"この質問は「{STATE_LABELS[state]}」の状態のため、「{rule.label}」はできません。"


def test_unknown_transition_is_refused_in_japanese():
    with pytest.raises(InvalidTransition) as err:
        plan("stamp", State.IN_REVIEW, chain=HEAD, stage_index=0, review_round=1)
    assert err.value.message == "「stamp」という操作はありません。"


@pytest.mark.parametrize("name", [t for t in Transition if TRANSITIONS[t].needs_note])
def test_transitions_that_need_a_reason_say_so(name):
    state = next(iter(sorted(TRANSITIONS[name].sources)))
    with pytest.raises(InvalidInput) as err:
        plan(name, state, chain=HEAD, stage_index=0, review_round=1, note=" \u3000")
    assert err.value.message == f"「{TRANSITIONS[name].label}」には理由（コメント）の入力が必要です。"


def test_review_transitions_need_an_answerer():
    for name in (Transition.SUBMIT, Transition.APPROVE, Transition.SEND_BACK):
        state = State.DRAFTING if name is Transition.SUBMIT else State.IN_REVIEW
        with pytest.raises(InvalidInput) as err:
            plan(name, state, chain=None, stage_index=0, review_round=1, note="理由")
        assert "答弁者が決まっていないため、決裁に回せません" in err.value.message


def test_who_acts_after_each_step():
    def step(name, state, index=None, chain=MAYOR):
        return plan(name, state, chain=chain, stage_index=index, review_round=1, note="理由")

    assert step(Transition.ASSIGN, State.RECEIVED, chain=None).waiting_on is Who.DRAFTER
    submitted = step(Transition.SUBMIT, State.DRAFTING)
    assert (submitted.waiting_on, submitted.next_stage) == (Who.STAGE_HOLDER, "課長")
    approved = step(Transition.APPROVE, State.IN_REVIEW, 1)
    assert (approved.state, approved.stage, approved.waiting_on, approved.next_stage) == (
        State.IN_REVIEW,
        "部長",
        Who.STAGE_HOLDER,
        "市長",
    )
    last = step(Transition.APPROVE, State.IN_REVIEW, 2)
    assert (last.state, last.stage, last.waiting_on, last.next_stage) == (
        State.APPROVED,
        "市長",
        Who.GENERAL_AFFAIRS,
        None,
    )
    assert step(Transition.SEND_BACK, State.IN_REVIEW, 1).waiting_on is Who.DRAFTER
    assert step(Transition.FINALIZE, State.APPROVED).waiting_on is None
    assert step(Transition.REOPEN, State.FINAL).waiting_on is Who.DRAFTER
    assert step(Transition.WITHDRAW, State.IN_REVIEW, 1).waiting_on is None


def test_closed_states_wait_on_nobody_and_allow_only_what_general_affairs_may_do():
    for state in (State.FINAL, State.WITHDRAWN):
        assert STATES[state].waiting_on is None
        assert all(t.who == (Who.GENERAL_AFFAIRS,) for t in allowed_transitions(state))
    assert asked_of(State.IN_REVIEW, "部長") == "部長として確認・承認してください"
    assert asked_of(State.APPROVED) == "校了してください"


def test_rounds_and_stamps():
    back = plan(Transition.SEND_BACK, State.IN_REVIEW, chain=HEAD, stage_index=1, review_round=2, note="理由")
    assert (back.review_round, back.stamp_round, back.stage) == (3, 2, "部長")  # the stamp ends round 2
    reopened = plan(Transition.REOPEN, State.FINAL, chain=HEAD, stage_index=None, review_round=3, note="理由")
    assert (reopened.review_round, reopened.stamp_round, reopened.stage) == (4, 4, None)  # it starts round 4
    withdrawn = plan(Transition.WITHDRAW, State.IN_REVIEW, chain=HEAD, stage_index=1, review_round=1, note="理由")
    assert (withdrawn.stage_index, withdrawn.stage) == (None, None)  # not a stamp of the review stage
    assert [t for t in Transition if not TRANSITIONS[t].stamped] == [Transition.SAVE_DRAFT]


def _register(db, settings):
    data = intake.QuestionInput(
        session_name="令和8年12月定例会",
        seat=16,
        question_type="一般質問",
        item_no="1-(1)-①",
        title="避難所運営について",
        body="避難所における女性や高齢者への配慮について伺う。",
    )
    return intake.register_question(db, settings, get_user(db, "UGA1"), data).question.key


def test_assigning_twice_is_refused_as_before_and_changes_nothing(org):
    with session_scope(org) as db:
        key = _register(db, org)
        assignment.assign(db, get_user(db, "UGA1"), key, "危機管理課")
    with pytest.raises(InvalidInput) as err:
        with session_scope(org) as db:
            assignment.assign(db, get_user(db, "UGA1"), key, "学校教育課")
    assert (
        err.value.message
        == f"「{key}」はすでに担当が決まっています。担当を変える場合は理由を添えて担当変更してください。"
    )
    with session_scope(org) as db:
        q = get_question(db, key)
        assert (q.status, q.responsible_department.name, [s.action for s in q.stamps]) == (
            State.ASSIGNED,
            "危機管理課",
            ["assign"],
        )


def test_queues_and_next_actors_follow_who_each_state_waits_on(org):
    with session_scope(org) as db:
        key = _register(db, org)

    def look(chat_id):
        with session_scope(org) as db:
            q = get_question(db, key)
            return (
                [i.why for i in status.user_queue(db, get_user(db, chat_id))],
                [u.chat_id for u in status.next_actors(db, q)],
            )

    assert look("UGA1") == (["担当課を決めてください"], ["UGA1"])
    with session_scope(org) as db:
        assignment.assign(db, get_user(db, "UGA1"), key, "危機管理課", answerer="市長")
    assert look("UKK1") == (["答弁を作成して確認依頼してください"], ["UKK1"])
    assert look("UGA1")[0] == []
    with session_scope(org) as db:
        review.submit_answer(db, get_user(db, "UKK1"), key, answer="お答えいたします。")
    for approver in ("UKK2", "USB1"):
        assert look(approver)[0] and look("UKK1")[0] == []
        with session_scope(org) as db:
            review.approve(db, get_user(db, approver), key)
    # At the mayor's stage: the mayor first, the secretary after; both see it in their queue.
    assert look("USC1") == (["市長として確認・承認してください"], ["UMY1", "USC1"])
    with session_scope(org) as db:
        review.approve(db, get_user(db, "UMY1"), key)
    assert look("UGA1") == (["校了してください"], ["UGA1"])
    with session_scope(org) as db:
        review.finalize(db, org, get_user(db, "UGA1"), key)
    assert look("UGA1") == ([], [])


def test_states_are_stored_as_before_and_unknown_ones_are_refused(org):
    with session_scope(org) as db:
        key = _register(db, org)
        assignment.assign(db, get_user(db, "UGA1"), key, "危機管理課")
    with session_scope(org) as db:
        raw = db.execute(
            text(
                "SELECT q.status, s.action FROM questions q JOIN approval_stamps s ON s.question_id = q.id"
                " WHERE q.key = :key"
            ),
            {"key": key},
        ).one()
        assert tuple(raw) == ("assigned", "assign")
        q = get_question(db, key)
        assert q.status is State.ASSIGNED and q.stamps[0].action is Transition.ASSIGN
    with pytest.raises(StatementError):
        with session_scope(org) as db:
            get_question(db, key).status = "done"
            db.flush()
    with session_scope(org) as db:
        assert get_question(db, key).status is State.ASSIGNED
