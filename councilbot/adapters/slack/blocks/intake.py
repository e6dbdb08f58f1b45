"""質問取り: the record of a registered question, the request for what a message lacked, the question
modal, and the summary of an imported notice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from councilbot.adapters.slack.blocks.common import (
    INTAKE_COMPLETE,
    QUESTION_BODY,
    QUESTION_VIEW,
    SlackMessage,
    actions,
    button,
    context,
    escape,
    long_inputs,
    modal_view,
    question_fields,
    section,
    sections,
    select_menu,
    text_input,
)
from councilbot.domain.intake_parse import QUESTION_TYPES, ParsedQuestion
from councilbot.storage.models import Question


def intake_record(question: Question, duplicates: Sequence[tuple[Question, float]], *, created: bool) -> SlackMessage:
    lead = (
        f"質問を登録しました。キーは `{question.key}` です。"
        if created
        else f"この質問は `{question.key}` として登録済みです。"
    )
    blocks = [section(lead), *question_fields(question)]
    if duplicates:
        lines = [
            f"• `{q.key}` {escape(q.member.name)}議員「{escape(q.title)}」（類似度 {score:.2f}）"
            for q, score in duplicates
        ]
        blocks += sections("*同じ趣旨と思われる質問があります。答弁の整合を確認してください。*\n" + "\n".join(lines))
    blocks.append(context("担当課は総務課が決定します。進み具合は `/council status` で確認できます。"))
    return SlackMessage(lead, blocks)


def intake_incomplete(parsed: ParsedQuestion, channel: str, ts: str) -> SlackMessage:
    missing = "・".join(parsed.missing)
    text = f"質問として読み取れなかった項目があります（{missing}）。下のボタンから入力して登録してください。"
    return SlackMessage(
        text,
        [
            section(escape(text)),
            actions(
                button("不足項目を入力して登録", INTAKE_COMPLETE, json.dumps({"channel": channel, "ts": ts}), "primary")
            ),
        ],
    )


def question_modal(parsed: ParsedQuestion | None, private_metadata: str) -> dict[str, Any]:
    p = parsed or ParsedQuestion()
    blocks: list[dict[str, Any]] = []
    if p.missing:
        blocks.append(section(f"読み取れなかった項目（{escape('・'.join(p.missing))}）を入力してください。"))
    blocks += [
        text_input(
            "session",
            "会期",
            initial=p.session_name,
            optional=True,
            placeholder="例: 令和8年12月定例会（空欄なら開会中の会期）",
            max_length=100,
        ),
        select_menu("question_type", "質問の種類", QUESTION_TYPES, initial=p.question_type or "一般質問"),
        text_input("seat", "議席番号", initial=str(p.seat) if p.seat else None, placeholder="例: 16", max_length=10),
        text_input("item_no", "項目番号", initial=p.item_no, placeholder="例: 1-(2)-①", max_length=40),
        text_input("title", "件名", initial=p.title, placeholder="例: 避難所運営について", max_length=200),
    ]
    body = long_inputs(QUESTION_BODY, "質問要旨", p.body or "", optional=False)
    if len(body) > 2:  # the text fills more than one input: say so, since Slack caps each at 3,000
        blocks.append(
            context(
                f"質問要旨が長いため（{len(p.body or '')}文字）、{len(body) - 1}つの欄に分けて表示しています。登録するときは、すべての欄を順につなげて一つの質問要旨にします。"
            )
        )
    blocks += body
    return modal_view(QUESTION_VIEW, "議会質問の登録", blocks, private_metadata)


def notice_imported(filename: str, keys: Sequence[str]) -> SlackMessage:
    text = f"通告書「{filename}」から質問を{len(keys)}件登録しました。"
    return SlackMessage(text, sections(escape(text) + "\n" + "\n".join(f"• `{k}`" for k in keys)))
