"""The message shortcut 「議会質問として登録」: any message becomes a question item.

A message that reads completely is registered at once and answered in its
thread (in a direct message where the bot may not post: a private channel it
was not invited to, or a DM); one that does not opens the question modal,
prefilled with what could be read. Refusals come back through the shortcut's
response_url, which reaches the user wherever the message was. The message is
the question's source, so registering the same message twice gives the same item.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.dispatch import Runtime, reporting, with_runtime
from councilbot.adapters.slack.intake import confirm_registration, take_in
from councilbot.adapters.slack.listeners.replies import ephemeral
from councilbot.services.message_intake import read_question

CALLBACK_ID = "register_question"


def register(app: App, rt: Runtime) -> None:
    app.shortcut(CALLBACK_ID)(with_runtime(rt, register_message))


def register_message(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    ack()
    channel = body["channel"]["id"]
    message = body.get("message") or {}
    ts, text, user_id = message.get("ts", ""), message.get("text", ""), body["user"]["id"]
    with reporting(ephemeral(respond)):
        parsed = rt.run(user_id, lambda db, user: read_question(db, text))
        if parsed.missing:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=blocks.question_modal(parsed, blocks.metadata(channel=channel, ts=ts)),
            )
            return
        outcome = rt.run(user_id, lambda db, user: take_in(db, user, text, channel, ts))
        confirm_registration(rt, user_id, outcome, channel=channel, thread_ts=ts)
