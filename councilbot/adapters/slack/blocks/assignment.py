"""担当決定: the card General Affairs decides on, the owner modals, and the posts to the division
that now owns an item and the one that no longer does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from councilbot.adapters.slack.blocks.common import (
    ANSWER_OPEN,
    ANSWERER_BLOCK,
    ASSIGN_CONFIRM,
    ASSIGN_OPEN,
    ASSIGN_VIEW,
    COMMENT_OPEN,
    DEPARTMENT_BLOCK,
    DRAFT,
    NOTE_BLOCK,
    REASSIGN_OPEN,
    REASSIGN_VIEW,
    RELATED_BLOCK,
    SlackMessage,
    actions,
    button,
    context,
    escape,
    item_value,
    mention,
    modal_view,
    question_fields,
    section,
    sections,
    select_menu,
    text_input,
    truncate,
)
from councilbot.domain.chains import EXECUTIVES
from councilbot.storage.models import Question

# --- assignment ----------------------------------------------------------------


def _suggestion_lines(suggestions: Sequence[Any]) -> str:
    lines = []
    for i, s in enumerate(suggestions, 1):
        reasons = "；".join(escape(r) for r in (s.reasons or [])) or "過去の答弁と事務分掌から推定"
        evidence = "、".join(_ref_link(e) for e in (s.evidence or [])[:5])
        lines.append(
            f"{i}. *{escape(s.department)}*（スコア {s.score:.2f}）\n   理由: {reasons}"
            + (f"\n   類似の過去答弁: {evidence}" if evidence else "")
        )
    return "\n".join(lines)


def _ref_link(ref: str) -> str:
    """A past answer's reference: a link when it is a URL, the key otherwise."""
    return f"<{ref}|{escape(ref)}>" if ref.startswith(("https://", "http://")) else f"`{escape(ref)}`"


def assignment_card(question: Question, suggestions: Sequence[Any], assignable: Sequence[str]) -> SlackMessage:
    """Suggested divisions with their reasons, and one click for the best one that can be assigned.

    Past answers count under the division name they were given, which may be gone after a
    reorganisation: such a name is shown as evidence only, never offered as the owner.
    """
    text = f"「{question.key}」の担当課を決めてください。"
    blocks = [section(f"*担当決定のお願い* `{question.key}`"), *question_fields(question)]
    current = [s for s in suggestions if s.department in assignable]
    former = [s for s in suggestions if s.department not in assignable]
    if current:
        blocks += sections("*担当課の候補*\n" + _suggestion_lines(current))
        top = current[0].department
        buttons = [button(f"{top}に決定", ASSIGN_CONFIRM, item_value(question, department=top), "primary")]
    else:
        blocks.append(section("_担当課の候補が見つかりませんでした。担当課を選んでください。_"))
        buttons = []
    if former:
        lines = [
            f"• {escape(s.department)}: " + ("、".join(_ref_link(e) for e in (s.evidence or [])[:5]) or "—")
            for s in former
        ]
        blocks += sections(
            "*旧組織名の過去答弁*（現在の組織にない課名のため、担当課には選べません。所管を引き継いだ課の参考にしてください）\n"
            + "\n".join(lines)
        )
    # The form starts on the best candidate: adding a related division then takes one choice, not two.
    preset = {"department": current[0].department} if current else {}
    buttons.append(button("別の課を選ぶ・関係課を追加", ASSIGN_OPEN, item_value(question, **preset)))
    blocks.append(actions(*buttons))
    blocks.append(context("担当決定は総務課（議会担当）の職員が行えます。"))
    return SlackMessage(text, blocks)


def _owner_inputs(
    divisions: Sequence[str],
    answerers: Sequence[str],
    *,
    department: str | None = None,
    related: Sequence[str] = (),
    answerer: str | None = None,
) -> list[dict[str, Any]]:
    return [
        select_menu(DEPARTMENT_BLOCK, "担当課", divisions, initial=department),
        select_menu(RELATED_BLOCK, "関係課（任意）", divisions, optional=True, multi=True, initial_many=related),
        select_menu(ANSWERER_BLOCK, "答弁者（空欄なら担当部長）", answerers, initial=answerer, optional=True),
    ]


def assign_modal(
    question: Question, divisions: Sequence[str], answerers: Sequence[str], suggested: str | None, private_metadata: str
) -> dict[str, Any]:
    blocks = [
        section(f"`{question.key}` {escape(question.title)}"),
        *_owner_inputs(divisions, answerers, department=suggested),
    ]
    return modal_view(ASSIGN_VIEW, "担当課の決定", blocks, private_metadata, submit="決定")


def reassign_modal(
    question: Question, divisions: Sequence[str], answerers: Sequence[str], private_metadata: str
) -> dict[str, Any]:
    """The new owner and the reason. An executive answerer is kept; a 部長 follows the new division unless chosen."""
    current = question.responsible_department.name if question.responsible_department else "未定"
    related = [d.name for d in question.related_departments]
    kept = question.answerer if question.answerer in EXECUTIVES else None
    blocks = [
        section(
            f"`{question.key}` {escape(question.title)}\n現在の担当: {escape(current)}・{escape(question.answerer or '未定')}"
        ),
        *_owner_inputs(divisions, answerers, related=related, answerer=kept),
        text_input(NOTE_BLOCK, "担当変更の理由（新しい担当課と元の担当課に伝えます）", multiline=True, max_length=2000),
    ]
    return modal_view(REASSIGN_VIEW, "担当変更", blocks, private_metadata, submit="変更する")


def reassign_button(question: Question) -> dict[str, Any]:
    return button("担当変更", REASSIGN_OPEN, item_value(question))


def assigned_post(
    question: Question,
    drafters: Sequence[str],
    similar: Sequence[Any],
    *,
    previous: str | None = None,
    reason: str | None = None,
) -> SlackMessage:
    """The item in its division's channel; after a reassignment, with where it came from and why."""
    dept = question.responsible_department.name if question.responsible_department else ""
    if previous:
        lead = f"{mention(drafters)} 質問 `{question.key}` の担当が{escape(previous)}から{escape(dept)}に変更されました。答弁を作成してください。".strip()
    else:
        lead = f"{mention(drafters)} {escape(dept)}に質問 `{question.key}` が割り当てられました。答弁を作成してください。".strip()
    blocks = [section(lead)]
    if reason:
        blocks += sections(f"*担当変更の理由*\n{escape(reason)}")
    blocks += question_fields(question)
    if question.related_departments:
        blocks.append(context("関係課: " + "、".join(escape(d.name) for d in question.related_departments)))
    if similar:
        lines = [
            f"• {_ref_link(r.ref)} {escape(r.session or '')} {escape(r.title or '')}（{escape(r.department or '')}）\n   {escape(truncate(r.snippet or '', 200))}"
            for r in similar
        ]
        blocks += sections("*類似の過去答弁*\n" + "\n".join(lines))
    blocks.append(
        actions(
            button("AIで下書き", DRAFT, item_value(question), "primary"),
            button("答弁を入力", ANSWER_OPEN, item_value(question)),
            button("コメント", COMMENT_OPEN, item_value(question)),
            reassign_button(question),
        )
    )
    return SlackMessage(f"{dept}に質問 {question.key} が割り当てられました。", blocks)


def reassigned_away(question: Question, previous: str, reason: str, by: str, recipients: Sequence[str]) -> SlackMessage:
    """What the division that no longer owns an item is told."""
    dept = question.responsible_department.name if question.responsible_department else ""
    lead = (
        f"{mention(recipients)} 質問 `{question.key}`「{escape(question.title)}」の担当は、{escape(by)}さんにより"
        f"{escape(previous)}から{escape(dept)}に変更されました。{escape(previous)}での対応は不要です。"
    ).strip()
    return SlackMessage(
        f"{question.key} の担当は{dept}に変更されました。",
        [section(lead), *sections(f"*担当変更の理由*\n{escape(reason)}")],
    )
