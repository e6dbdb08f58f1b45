"""Drafting: the message a draft is written into, the draft with its findings, and the answer
modal (or the item to read, for those who may not edit)."""

from __future__ import annotations

from typing import Any

from councilbot.adapters.slack.blocks.assignment import _ref_link
from councilbot.adapters.slack.blocks.common import (
    ANSWER_BLOCK,
    ANSWER_OPEN,
    ANSWER_VIEW,
    BACK_DATA_BLOCK,
    MESSAGE_BLOCK_LIMIT,
    PROGRESS_TAIL,
    SUBMIT,
    SUBMIT_BLOCK,
    VIEW_BLOCK_LIMIT,
    SlackMessage,
    actions,
    answer_blocks,
    button,
    context,
    escape,
    item_value,
    long_inputs,
    modal_view,
    plain,
    question_fields,
    section,
    sections,
    stamps_block,
    truncate,
)
from councilbot.domain.rulecheck import severity_label
from councilbot.storage.models import Question

# --- drafting --------------------------------------------------------------------


def draft_started(key: str, channel: str) -> str:
    """Where the draft is being written: mrkdwn with a link to the channel."""
    return f"`{escape(key)}` の答弁案を <#{channel}> で作成しています。"


def draft_progress(key: str, text_so_far: str) -> SlackMessage:
    shown = text_so_far if len(text_so_far) <= PROGRESS_TAIL else "…" + text_so_far[-PROGRESS_TAIL:]
    body = f"\n{escape(shown)}" if shown else ""
    return SlackMessage(
        f"「{key}」の答弁案を作成しています。",
        [section(f":hourglass_flowing_sand: `{escape(key)}` の答弁案を作成しています…{body}")],
    )


def draft_result(question: Question, outcome: Any) -> SlackMessage:
    blocks = [
        section(
            f"`{outcome.key}` の答弁案（第{outcome.revision}版・{escape(outcome.label)}）を作成しました。必ず内容を確認し、修正してから確認依頼してください。"
        )
    ]
    blocks += sections(escape(outcome.text))
    blocks.append(
        context(
            f"{outcome.chars}文字・読み上げ約{max(1, round(outcome.speaking_seconds / 60))}分・モデル {escape(outcome.model)}"
        )
    )
    if outcome.findings:
        lines = [
            f"• 【{escape(severity_label(f.severity))}】{escape(f.message)}"
            + (f"（「{escape(truncate(f.excerpt, 40))}」）" if f.excerpt else "")
            for f in outcome.findings
        ]
        blocks += sections("*ルール確認の結果*\n" + "\n".join(lines))
    if outcome.citations:
        lines = [
            f"• {_ref_link(c.key)} {escape(c.session)} {escape(c.title)}" + ("（引用）" if c.cited else "")
            for c in outcome.citations
        ]
        blocks += sections("*参照した過去答弁*\n" + "\n".join(lines))
    if outcome.notices:
        blocks.append(context(escape(" ".join(outcome.notices))))
    blocks.append(
        actions(
            button("答弁を編集", ANSWER_OPEN, item_value(question), "primary"),
            button("このまま確認依頼", SUBMIT, item_value(question)),
        )
    )
    return SlackMessage(f"{outcome.key} の答弁案を作成しました。", blocks[:MESSAGE_BLOCK_LIMIT])


def answer_modal(question: Question, private_metadata: str) -> dict[str, Any]:
    """Answer and back data, prefilled with the latest revision; long text spans several inputs."""
    latest = question.latest_revision
    blocks = [section(f"`{question.key}` {escape(question.title)}")]
    blocks += long_inputs(ANSWER_BLOCK, "答弁", latest.answer if latest else "", optional=False)
    blocks += long_inputs(
        BACK_DATA_BLOCK, "バックデータ（読み上げない補足資料）", latest.back_data if latest else "", optional=True
    )
    blocks.append(
        {
            "type": "input",
            "block_id": SUBMIT_BLOCK,
            "optional": True,
            "label": plain("確認依頼"),
            "element": {
                "type": "checkboxes",
                "action_id": "value",
                "options": [{"text": plain("保存して課長に確認依頼する"), "value": "submit"}],
            },
        }
    )
    return modal_view(ANSWER_VIEW, "答弁の入力", blocks, private_metadata, submit="保存")


def answer_view(question: Question, label: str, tz_name: str, why: str, ai_label: str | None) -> dict[str, Any]:
    """The whole item to read — question, answer, back data, stamps — for someone who may not edit it now."""
    blocks = [
        context(f":lock: 閲覧のみできます。{escape(why)}"),
        *question_fields(question, label),
        *answer_blocks(question.latest_revision, ai_label=ai_label),
        *stamps_block(question, tz_name),
    ]
    return {
        "type": "modal",
        "title": plain("答弁の確認", 24),
        "close": plain("閉じる", 24),
        "blocks": blocks[:VIEW_BLOCK_LIMIT],
    }
