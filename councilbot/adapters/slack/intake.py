"""Questions from chat messages, shared by the message event, the message shortcut and the
question modal: a message taken in, the registration confirmed, and the modal prefilled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.announce import announce
from councilbot.adapters.slack.dispatch import Runtime, reporting
from councilbot.errors import InvalidInput
from councilbot.services.message_intake import read_question, take_in_message
from councilbot.storage.models import User


def source_ref(channel: str, ts: str) -> str:
    return f"slack:{channel}:{ts}"


def take_in(db: Session, user: User, text: str, channel: str, ts: str) -> tuple[blocks.SlackMessage, str | None]:
    """A chat message as a question: registered when complete, a request for the rest otherwise.

    Returns the reply for the message's thread and the key of a newly made question.
    """
    taken = take_in_message(db, user, text, source_ref(channel, ts))
    result = taken.registered
    if result is None:
        return blocks.intake_incomplete(taken.parsed, channel, ts), None
    return blocks.intake_record(
        result.question, result.duplicates, created=result.created
    ), result.question.key if result.created else None


def confirm_registration(
    rt: Runtime,
    user_id: str,
    outcome: tuple[blocks.SlackMessage, str | None],
    *,
    channel: str | None,
    thread_ts: str | None = None,
) -> None:
    """The record in ``channel`` (in the thread of the question's message), or to ``user_id`` directly
    where there is none or the bot may not post (a private channel it was not invited to, a DM);
    and General Affairs told of a new item even when the record cannot be delivered, since a
    retry finds the item made and would not tell them."""
    message, new_key = outcome
    try:
        if channel:
            rt.notifier.post_or_dm(channel, user_id, message, thread_ts=thread_ts)
        else:
            rt.notifier.post_to_user(user_id, message)
    finally:
        if new_key:
            announce(rt, new_key)


def open_intake_modal(
    rt: Runtime, client: WebClient, body: dict[str, Any], channel: str, ts: str, *, reply: Callable[[str], object]
) -> None:
    """The question modal, prefilled with what could be read from the message at (channel, ts)."""
    with reporting(reply):
        found = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1).get("messages") or []
        if not found:
            raise InvalidInput("元のメッセージが見つかりません。削除された可能性があります。")
        parsed = rt.run(body["user"]["id"], lambda db, user: read_question(db, found[0].get("text", "")))
        client.views_open(
            trigger_id=body["trigger_id"], view=blocks.question_modal(parsed, blocks.metadata(channel=channel, ts=ts))
        )
