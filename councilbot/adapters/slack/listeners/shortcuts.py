"""The message shortcut 「議会質問として登録」: any message becomes a question item.

A message that reads completely is registered at once and answered in its
thread; one that does not opens the question modal, prefilled with what
could be read. The message is the question's source, so registering the same
message twice gives the same item.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.dispatch import Runtime, reporting
from councilbot.adapters.slack.listeners.events import parse_text, reply_in_thread, take_in
from councilbot.adapters.slack.listeners.replies import ephemeral_in

CALLBACK_ID = "register_question"


def register(app: App, rt: Runtime) -> None:
    @app.shortcut(CALLBACK_ID)
    def register_message(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        channel = body["channel"]["id"]
        message = body.get("message") or {}
        ts, text, user_id = message.get("ts", ""), message.get("text", ""), body["user"]["id"]
        with reporting(ephemeral_in(rt.notifier, channel, user_id)):
            parsed = rt.run(user_id, lambda db, user: parse_text(db, text))
            if parsed.missing:
                client.views_open(trigger_id=body["trigger_id"], view=blocks.question_modal(parsed, blocks.metadata(channel=channel, ts=ts)))
                return
            reply_in_thread(rt, channel, ts, rt.run(user_id, lambda db, user: take_in(db, rt.settings, user, text, channel, ts)))
