import pytest

from councilbot.domain.chains import answerer_kind, chain_for
from councilbot.domain.permissions import Actor, ItemContext, check_transition
from councilbot.domain.workflow import TRANSITIONS, State, allowed_transitions, plan
from councilbot.errors import InvalidInput, InvalidTransition, PermissionDenied

MAYOR = chain_for("市長")
HEAD = chain_for("総務部長")


def test_chains_by_answerer():
    assert MAYOR.stages == ("課長", "部長", "市長")
    assert HEAD.stages == ("課長", "部長")
    assert answerer_kind("教育部長") == "部長" and answerer_kind("教育長") == "教育長"
    assert chain_for("市長", {"市長": ["課長", "部長", "副市長", "市長"]}).stages[-2] == "副市長"
    with pytest.raises(InvalidInput):
        chain_for("会計管理者")
    with pytest.raises(InvalidInput):
        chain_for("")


def test_full_mayor_chain_walks_stage_by_stage():
    step = plan("submit", State.DRAFTING, chain=MAYOR, stage_index=None, review_round=1)
    assert (step.state, step.stage_index, step.stage) == (State.IN_REVIEW, 0, "課長")
    seen = []
    state, index = step.state, step.stage_index
    while state == State.IN_REVIEW:
        step = plan("approve", state, chain=MAYOR, stage_index=index, review_round=1)
        seen.append(step.stage)
        state, index = step.state, step.stage_index
    assert seen == ["課長", "部長", "市長"]
    assert state == State.APPROVED
    assert plan("finalize", state, chain=MAYOR, stage_index=None, review_round=1).state == State.FINAL


def test_send_back_needs_comment_and_starts_a_new_round():
    with pytest.raises(InvalidInput):
        plan("send_back", State.IN_REVIEW, chain=HEAD, stage_index=1, review_round=1, note="  ")
    step = plan("send_back", State.IN_REVIEW, chain=HEAD, stage_index=1, review_round=1, note="数値を更新")
    assert (step.state, step.review_round, step.stage) == (State.DRAFTING, 2, "部長")


@pytest.mark.parametrize(
    "name, state",
    [
        ("approve", State.DRAFTING),
        ("finalize", State.IN_REVIEW),
        ("submit", State.RECEIVED),
        ("reopen", State.DRAFTING),
        ("assign", State.FINAL),
        ("withdraw", State.FINAL),
    ],
)
def test_illegal_transitions_refused_in_japanese(name, state):
    with pytest.raises(InvalidTransition) as err:
        plan(name, state, chain=HEAD, stage_index=0, review_round=1, note="理由")
    assert "できません" in err.value.message


def test_every_state_but_closed_ones_can_be_withdrawn():
    for state in State:
        names = {t.name for t in allowed_transitions(state)}
        assert ("withdraw" in names) == (state not in (State.FINAL, State.WITHDRAWN))


def _actor(position, department, roles=()):
    return Actor("U", "試験 太郎", position, department, frozenset(roles))


ITEM = ItemContext(responsible_department="危機管理課", responsible_parent="総務部", current_stage="課長")


def test_only_the_stage_holder_of_the_right_division_approves():
    approve = TRANSITIONS["approve"]
    check_transition(approve, _actor("課長", "危機管理課"), ITEM)
    for wrong in (
        _actor("課長", "学校教育課"),
        _actor("係長", "危機管理課"),
        _actor("部長", "総務部"),
        _actor("係長", "総務課", ["general_affairs"]),
    ):
        with pytest.raises(PermissionDenied) as err:
            check_transition(approve, wrong, ITEM)
        assert "権限がありません" in err.value.message


def test_department_head_and_executive_stages():
    approve = TRANSITIONS["approve"]
    at_head = ItemContext("危機管理課", "総務部", "部長")
    check_transition(approve, _actor("部長", "総務部"), at_head)
    with pytest.raises(PermissionDenied):
        check_transition(approve, _actor("部長", "教育部"), at_head)
    at_mayor = ItemContext("危機管理課", "総務部", "市長", executive_offices=frozenset({"市長室"}))
    check_transition(approve, _actor("市長", "市長室"), at_mayor)
    check_transition(approve, _actor("秘書", "市長室"), at_mayor)  # the secretary works the mayor's queue
    for wrong in (_actor("教育長", "市長室"), _actor("秘書", "教育総務課")):  # another office's secretary
        with pytest.raises(PermissionDenied):
            check_transition(approve, wrong, at_mayor)


def test_general_affairs_only_transitions():
    ga = _actor("係長", "総務課", ["general_affairs"])
    drafter = _actor("係長", "危機管理課")
    for name in ("assign", "finalize", "reopen", "withdraw"):
        check_transition(TRANSITIONS[name], ga, ITEM)
        with pytest.raises(PermissionDenied):
            check_transition(TRANSITIONS[name], drafter, ITEM)
    check_transition(TRANSITIONS["submit"], drafter, ITEM)
    with pytest.raises(PermissionDenied):
        check_transition(TRANSITIONS["submit"], _actor("係長", "学校教育課"), ITEM)
