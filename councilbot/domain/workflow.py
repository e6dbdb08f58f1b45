"""The life of a question item, as one table.

Every state is named once, with who must act while a question is in it. Every
transition is one line: where it may be taken from, where it leads, who may take
it and what it does on the way (review stage, review round, stamp, note). Services
call ``plan(...)`` and apply the ``Step`` it returns; nothing else decides where a
question may go next, or who acts after it.

    received ─assign→ assigned ─save_draft→ drafting ─submit→ in_review(stage 1..n)
    in_review ─approve→ next stage … ─approve (last)→ approved ─finalize→ final
    assigned/drafting ─reassign→ assigned
    in_review/approved ─send_back→ drafting          final ─reopen→ drafting
    any open state ─withdraw→ withdrawn

The answer is editable only where ``save_draft`` may be taken (assigned, drafting):
submitting locks it for review, and 校了 freezes it until General Affairs reopens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from councilbot.domain.chains import ApprovalChain
from councilbot.errors import CouncilbotError, InvalidInput, InvalidTransition


class State(StrEnum):
    """Stored as these values in ``questions.status``."""

    RECEIVED = "received"  # 受付
    ASSIGNED = "assigned"  # 担当決定
    DRAFTING = "drafting"  # 答弁作成中
    IN_REVIEW = "in_review"  # 答弁検討中 (at one stage of the chain)
    APPROVED = "approved"  # 決裁済・校了待ち
    FINAL = "final"  # 校了
    WITHDRAWN = "withdrawn"  # 取下げ


class Transition(StrEnum):
    """The named moves. Stored as these values in ``approval_stamps.action`` and in the audit log."""

    ASSIGN = "assign"  # 担当決定
    REASSIGN = "reassign"  # 担当変更
    SAVE_DRAFT = "save_draft"  # 答弁案の保存
    SUBMIT = "submit"  # 確認依頼
    APPROVE = "approve"  # 承認
    SEND_BACK = "send_back"  # 差戻し
    FINALIZE = "finalize"  # 校了
    REOPEN = "reopen"  # 校了解除
    WITHDRAW = "withdraw"  # 取下げ


class Who(StrEnum):
    """Kinds of actor a transition may be taken by, and who a state waits on (see permissions.py)."""

    GENERAL_AFFAIRS = "general_affairs"  # 総務課
    DRAFTER = "drafter"  # 担当課の係長
    STAGE_HOLDER = "stage_holder"  # the approver at the current review stage


class StageMove(Enum):
    """What a transition does to the review stage (``stage_index``)."""

    LEAVE = "leave"  # out of review: no stage
    ENTER = "enter"  # to the first stage of the answerer's chain
    ADVANCE = "advance"  # up one stage, staying in its state; past the last stage, on to the target


class RoundMove(Enum):
    """What a transition does to the review round, and which round its stamp belongs to."""

    KEEP = "keep"
    CLOSE = "close"  # a new round follows; the stamp belongs to the round it ends (差戻し)
    OPEN = "open"  # a new round begins with this stamp (校了解除)


@dataclass(frozen=True)
class StateRule:
    label: str  # Japanese name shown to users
    waiting_on: Who | None  # who must act while a question is in this state; None: it is closed
    asked: str  # what they are asked to do, in Japanese ({stage}: the current review stage)


GA, DRAFTER, HOLDER = Who.GENERAL_AFFAIRS, Who.DRAFTER, Who.STAGE_HOLDER

STATES: dict[State, StateRule] = {
    State.RECEIVED: StateRule("受付", GA, "担当課を決めてください"),
    State.ASSIGNED: StateRule("担当決定", DRAFTER, "答弁を作成して確認依頼してください"),
    State.DRAFTING: StateRule("答弁作成中", DRAFTER, "答弁を作成して確認依頼してください"),
    State.IN_REVIEW: StateRule("答弁検討中", HOLDER, "{stage}として確認・承認してください"),
    State.APPROVED: StateRule("校了待ち", GA, "校了してください"),
    State.FINAL: StateRule("校了", None, ""),
    State.WITHDRAWN: StateRule("取下げ", None, ""),
}

STATE_LABELS: dict[State, str] = {state: rule.label for state, rule in STATES.items()}
CLOSED_STATES = frozenset(state for state, rule in STATES.items() if rule.waiting_on is None)
OPEN_STATES = frozenset(STATES) - CLOSED_STATES


@dataclass(frozen=True)
class TransitionRule:
    name: Transition
    label: str  # Japanese name shown to users
    sources: frozenset[State]
    target: State
    who: tuple[Who, ...]  # who may take it
    stage: StageMove = StageMove.LEAVE
    round: RoundMove = RoundMove.KEEP
    # Along the answerer's approval chain: it needs one, and the stamp names the stage.
    in_chain: bool = False
    needs_note: bool = False  # a reason or comment is required
    stamped: bool = True  # recorded as an approval stamp (a saved draft is recorded as a revision instead)
    # Refused in a state where ``instead`` may be taken: say so ({key}: the question's key).
    instead: Transition | None = None
    instead_hint: str = ""


T = Transition

# fmt: off
TRANSITIONS: dict[str, TransitionRule] = {rule.name: rule for rule in (
    TransitionRule(T.ASSIGN, "担当決定", frozenset({State.RECEIVED}), State.ASSIGNED, (GA,), instead=T.REASSIGN,
                   instead_hint="「{key}」はすでに担当が決まっています。担当を変える場合は理由を添えて担当変更してください。"),
    TransitionRule(T.REASSIGN, "担当変更", frozenset({State.ASSIGNED, State.DRAFTING}), State.ASSIGNED, (GA,),
                   needs_note=True),
    TransitionRule(T.SAVE_DRAFT, "答弁案の保存", frozenset({State.ASSIGNED, State.DRAFTING}), State.DRAFTING,
                   (DRAFTER, GA), stamped=False),
    TransitionRule(T.SUBMIT, "確認依頼", frozenset({State.DRAFTING}), State.IN_REVIEW, (DRAFTER, GA),
                   stage=StageMove.ENTER, in_chain=True),
    TransitionRule(T.APPROVE, "承認", frozenset({State.IN_REVIEW}), State.APPROVED, (HOLDER,),
                   stage=StageMove.ADVANCE, in_chain=True),
    TransitionRule(T.SEND_BACK, "差戻し", frozenset({State.IN_REVIEW, State.APPROVED}), State.DRAFTING, (HOLDER, GA),
                   round=RoundMove.CLOSE, in_chain=True, needs_note=True),
    TransitionRule(T.FINALIZE, "校了", frozenset({State.APPROVED}), State.FINAL, (GA,)),
    TransitionRule(T.REOPEN, "校了解除", frozenset({State.FINAL}), State.DRAFTING, (GA,),
                   round=RoundMove.OPEN, needs_note=True),
    TransitionRule(T.WITHDRAW, "取下げ", OPEN_STATES, State.WITHDRAWN, (GA,), needs_note=True),
)}
# fmt: on


@dataclass(frozen=True)
class Step:
    """The outcome of a transition: new state, review stage and round, and what the stamp records."""

    transition: TransitionRule
    state: State
    stage_index: int | None
    review_round: int
    stage: str | None  # the stage acted at (approve / send_back) or entered (submit), for the stamp
    stamp_round: int  # the review round the stamp belongs to
    next_stage: str | None = None  # the review stage that acts next, while in review

    @property
    def waiting_on(self) -> Who | None:
        """Who acts next (at ``next_stage`` when it is the stage holder); None once the question is closed."""
        return STATES[self.state].waiting_on


def rule_for(name: str) -> TransitionRule:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise InvalidTransition(f"「{name}」という操作はありません。") from None


def allowed_transitions(state: State) -> list[TransitionRule]:
    return [t for t in TRANSITIONS.values() if state in t.sources]


def _refusal(rule: TransitionRule, state: State, key: str) -> CouncilbotError:
    if rule.instead is not None and state in TRANSITIONS[rule.instead].sources:
        # The user asked for the wrong transition, not for an impossible one.
        return InvalidInput(rule.instead_hint.format(key=key))
    return InvalidTransition(f"この質問は「{STATE_LABELS[state]}」の状態のため、「{rule.label}」はできません。")


def plan(
    name: str,
    state: State,
    *,
    chain: ApprovalChain | None,
    stage_index: int | None,
    review_round: int,
    note: str | None = None,
    key: str = "",
) -> Step:
    """Where ``name`` takes a question in ``state``; raises when it may not be taken (``key`` names it then)."""
    rule = rule_for(name)
    if state not in rule.sources:
        raise _refusal(rule, state, key)
    if rule.needs_note and not (note or "").strip():
        raise InvalidInput(f"「{rule.label}」には理由（コメント）の入力が必要です。")
    new_round = review_round if rule.round is RoundMove.KEEP else review_round + 1
    stamp_round = review_round if rule.round is RoundMove.CLOSE else new_round
    if not rule.in_chain:
        return Step(rule, rule.target, None, new_round, None, stamp_round)
    if chain is None:
        raise InvalidInput("答弁者が決まっていないため、決裁に回せません。担当決定で答弁者を指定してください。")
    stages = chain.stages
    if rule.stage is StageMove.ENTER:
        return Step(rule, rule.target, 0, new_round, stages[0], stamp_round, next_stage=stages[0])
    if rule.stage is StageMove.ADVANCE:
        current = stage_index or 0
        if current + 1 < len(stages):
            return Step(
                rule, state, current + 1, new_round, stages[current], stamp_round, next_stage=stages[current + 1]
            )
        return Step(rule, rule.target, None, new_round, stages[current], stamp_round)
    return Step(rule, rule.target, None, new_round, chain.stage(stage_index), stamp_round)


def asked_of(state: State, stage: str | None = None) -> str:
    """What the one who acts on a question in ``state`` is asked to do (「課長として確認・承認してください」)."""
    return STATES[state].asked.format(stage=stage or "")


def status_label(state: State, stage: str | None = None) -> str:
    """「答弁検討中（部長）」 style label for lists and books."""
    if state == State.IN_REVIEW and stage:
        return f"{stage}確認中"
    return STATE_LABELS[state]
