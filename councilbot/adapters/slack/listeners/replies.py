"""How a listener answers the person who acted, when the answer is only for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Respond

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.notifier import ChatNotifier


def ephemeral(respond: Respond) -> Callable[[str], Any]:
    """Through the request's response_url: seen only by the user, in the channel where they acted."""
    return lambda text: respond(
        response_type="ephemeral", replace_original=False, **blocks.error_message(text).payload()
    )


def ephemeral_in(
    notifier: ChatNotifier, channel: str, user_id: str, thread_ts: str | None = None
) -> Callable[[str], Any]:
    """For events, which have no response_url."""
    return lambda text: notifier.post_ephemeral(channel, user_id, blocks.error_message(text), thread_ts=thread_ts)


def to_user(notifier: ChatNotifier, user_id: str) -> Callable[[str], Any]:
    """For modal submissions handled after the modal closed: a direct message."""
    return lambda text: notifier.post_to_user(user_id, blocks.error_message(text))
