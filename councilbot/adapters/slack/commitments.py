"""Earlier commitments in chat: shown with a question, and their progress updated from a modal.

``with_earlier_commitments`` adds 「前回答弁の約束」 to the assignment card and the
division's post (before their buttons), each with a 進捗を更新 button that opens
``status_modal``. The listener is listeners/commitments.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from councilbot.adapters.slack.blocks import SlackMessage, actions, button, context, escape, plain, section
from councilbot.domain.commitments import STATUSES
from councilbot.services.commitments import EarlierCommitment

STATUS_OPEN = "commitment_status_open"
STATUS_VIEW = "commitment_status_modal"
STATUS_BLOCK = "commitment_status"
NOTE_BLOCK = "commitment_note"
MAX_BUTTONS = 5  # an actions block holds few buttons well; the rest are updated from the ledger


def with_earlier_commitments(message: SlackMessage, earlier: Sequence[EarlierCommitment]) -> SlackMessage:
    """``message`` with the earlier commitments inserted before its last actions block."""
    if not earlier:
        return message
    lines = [f"• {escape(e.line)}　〔進捗: {escape(e.status)}〕" for e in earlier]
    added: list[dict[str, Any]] = [
        section(
            "*前回答弁の約束*（この議員に同じ趣旨でお答えした内容です。答弁では、その後の進捗を報告してください）\n"
            + "\n".join(lines)
        ),
        actions(
            *(
                button(f"進捗を更新（{i}）", STATUS_OPEN, json.dumps({"id": e.id}))
                for i, e in enumerate(earlier[:MAX_BUTTONS], 1)
            )
        ),
    ]
    last_actions = max(
        (i for i, b in enumerate(message.blocks) if b.get("type") == "actions"), default=len(message.blocks)
    )
    return SlackMessage(message.text, [*message.blocks[:last_actions], *added, *message.blocks[last_actions:]])


def status_modal(commitment_id: int, statement: str, status: str, private_metadata: str) -> dict[str, Any]:
    options = [{"text": plain(s), "value": s} for s in STATUSES]
    select: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    select["initial_option"] = next(o for o in options if o["value"] == status) if status in STATUSES else options[0]
    return {
        "type": "modal",
        "callback_id": STATUS_VIEW,
        "title": plain("約束の進捗", 24),
        "submit": plain("更新", 24),
        "close": plain("キャンセル", 24),
        "private_metadata": private_metadata,
        "blocks": [
            section(f"[{commitment_id}] {escape(statement)}"),
            {"type": "input", "block_id": STATUS_BLOCK, "label": plain("進捗状況"), "element": select},
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "label": plain("進捗の説明（いつ、何をしたか、または見送る理由）"),
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 1000},
            },
            context("更新は監査ログに記録されます。担当課と総務課が更新できます。"),
        ],
    }
