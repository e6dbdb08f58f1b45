"""The life of a question item, as a table.

Every state is named once; every transition is one line with who may take it.
Services call ``plan(transition, ...)`` and apply what it returns; nothing else
decides where a question may go next.

    received ─assign→ assigned ─save_draft→ drafting ─submit→ in_review(stage 1..n)
    in_review ─approve→ next stage … ─approve (last)→ approved ─finalize→ final
    in_review/approved ─send_back→ drafting          final ─reopen→ drafting
    any open state ─withdraw→ withdrawn
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from councilbot.domain.chains import ApprovalChain
from councilbot.errors import InvalidInput, InvalidTransition


class State(StrEnum):
    RECEIVED = "received"  # 受付
    ASSIGNED = "assigned"  # 担当決定
    DRAFTING = "drafting"  # 答弁作成中
    IN_REVIEW = "in_review"  # 答弁検討中 (at one stage of the chain)
    APPROVED = "approved"  # 決裁済・校了待ち
    FINAL = "final"  # 校了
    WITHDRAWN = "withdrawn"  # 取下げ


STATE_LABELS: dict[State, str] = {
    State.RECEIVED: "受付",
    State.ASSIGNED: "担当決定",
    State.DRAFTING: "答弁作成中",
    State.IN_REVIEW: "答弁検討中",
    State.APPROVED: "校了待ち",
    State.FINAL: "校了",
    State.WITHDRAWN: "取下げ",
}

OPEN_STATES = frozenset({State.RECEIVED, State.ASSIGNED, State.DRAFTING, State.IN_REVIEW, State.APPROVED})
CLOSED_STATES = frozenset({State.FINAL, State.WITHDRAWN})


class Who(StrEnum):
    """Kinds of actor a transition may be taken by (see permissions.py)."""

    GENERAL_AFFAIRS = "general_affairs"  # 総務課
    DRAFTER = "drafter"  # 担当課の係長
    STAGE_HOLDER = "stage_holder"  # the approver at the current review stage


@dataclass(frozen=True)
class Transition:
    name: str
    label: str  # Japanese name shown to users
    sources: frozenset[State]
    target: State
    who: tuple[Who, ...]
    needs_note: bool = False  # a reason or comment is required
    # approve moves stage by stage; only the last approval reaches ``final_target``.
    final_target: State | None = None


def _t(name: str, label: str, sources: set[State], target: State, who: tuple[Who, ...], **kw: object) -> Transition:
    return Transition(name, label, frozenset(sources), target, who, **kw)  # type: ignore[arg-type]


GA, DRAFTER, HOLDER = Who.GENERAL_AFFAIRS, Who.DRAFTER, Who.STAGE_HOLDER

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t("assign", "担当決定", {State.RECEIVED}, State.ASSIGNED, (GA,)),
        _t("reassign", "担当変更", {State.ASSIGNED, State.DRAFTING}, State.ASSIGNED, (GA,), needs_note=True),
        _t("save_draft", "答弁案の保存", {State.ASSIGNED, State.DRAFTING}, State.DRAFTING, (DRAFTER, GA)),
        _t("submit", "確認依頼", {State.DRAFTING}, State.IN_REVIEW, (DRAFTER, GA)),
        _t("approve", "承認", {State.IN_REVIEW}, State.IN_REVIEW, (HOLDER,), final_target=State.APPROVED),
        _t("send_back", "差戻し", {State.IN_REVIEW, State.APPROVED}, State.DRAFTING, (HOLDER, GA), needs_note=True),
        _t("finalize", "校了", {State.APPROVED}, State.FINAL, (GA,)),
        _t("reopen", "校了解除", {State.FINAL}, State.DRAFTING, (GA,), needs_note=True),
        _t("withdraw", "取下げ", set(OPEN_STATES), State.WITHDRAWN, (GA,), needs_note=True),
    )
}


@dataclass(frozen=True)
class Step:
    """The outcome of a transition: new state, review stage and round."""

    transition: Transition
    state: State
    stage_index: int | None
    review_round: int
    stage: str | None  # the stage acted at (approve / send_back), for the stamp


def transition(name: str) -> Transition:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise InvalidTransition(f"「{name}」という操作はありません。") from None


def allowed_transitions(state: State) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if state in t.sources]


def plan(
    name: str,
    state: State,
    *,
    chain: ApprovalChain | None,
    stage_index: int | None,
    review_round: int,
    note: str | None = None,
) -> Step:
    """Where ``name`` takes a question in ``state``; raises when it may not be taken."""
    t = transition(name)
    if state not in t.sources:
        raise InvalidTransition(f"この質問は「{STATE_LABELS[state]}」の状態のため、「{t.label}」はできません。")
    if t.needs_note and not (note or "").strip():
        raise InvalidInput(f"「{t.label}」には理由（コメント）の入力が必要です。", field="note")
    if chain is None and t.name in ("submit", "approve", "send_back"):
        raise InvalidInput("答弁者が決まっていないため、決裁に回せません。担当決定で答弁者を指定してください。")
    if t.name == "submit":
        return Step(t, State.IN_REVIEW, 0, review_round, chain.stages[0])
    if t.name == "approve":
        current = stage_index or 0
        if current + 1 < len(chain.stages):
            return Step(t, State.IN_REVIEW, current + 1, review_round, chain.stages[current])
        return Step(t, t.final_target or State.APPROVED, None, review_round, chain.stages[current])
    if t.name == "send_back":
        stage = chain.stages[stage_index] if stage_index is not None else None
        return Step(t, State.DRAFTING, None, review_round + 1, stage)
    if t.name == "reopen":
        return Step(t, State.DRAFTING, None, review_round + 1, None)
    return Step(t, t.target, None, review_round, None)


def status_label(state: State, stage: str | None = None) -> str:
    """「答弁検討中（部長）」 style label for lists and books."""
    if state == State.IN_REVIEW and stage:
        return f"{stage}確認中"
    return STATE_LABELS[state]
