"""Sending to Slack: channel posts, direct messages, updates, ephemeral notes and files.

Used by the listeners and by anything else that tells people about their work
(the reminders). Rate limits are handled by the client's retry handler; a
message is always sent with fallback text and blocks within Slack's limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from councilbot.adapters.slack.blocks import SlackMessage, escape_entities
from councilbot.services.reminders import ReminderText

# Slack's refusals when the bot is not in a conversation: a private channel it was not invited to, someone else's DM.
UNREACHABLE = frozenset({"not_in_channel", "channel_not_found"})


def unreachable(exc: SlackApiError) -> bool:
    return exc.response.get("error") in UNREACHABLE


def _payload(message: SlackMessage | ReminderText) -> dict[str, Any]:
    """A Block Kit message as built; a plain notice (the reminders) as words only, escaped, never formatted."""
    if isinstance(message, SlackMessage):
        return message.payload()
    return {"text": escape_entities(message.text), "mrkdwn": False}


class ChatNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_to_channel(
        self, channel: str, message: SlackMessage | ReminderText, *, thread_ts: str | None = None
    ) -> str:
        """Post and return the message's ``ts``."""
        response = self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, **_payload(message)
        )
        return str(response["ts"])

    def post_or_dm(self, channel: str, user_id: str, message: SlackMessage, *, thread_ts: str | None = None) -> None:
        """Post in ``channel``; where the bot may not post, send it to ``user_id`` directly instead."""
        try:
            self.post_to_channel(channel, message, thread_ts=thread_ts)
        except SlackApiError as exc:
            if not unreachable(exc):
                raise
            self.post_to_user(user_id, message)

    def post_to_user(self, user_id: str, message: SlackMessage | ReminderText) -> tuple[str, str]:
        """A direct message from the bot; returns (channel, ts)."""
        channel = self.dm_channel(user_id)
        return channel, self.post_to_channel(channel, message)

    def post_to_users(self, user_ids: Iterable[str], message: SlackMessage) -> list[tuple[str, str]]:
        """The same message to each person directly; returns where each copy is (channel, ts)."""
        return [self.post_to_user(user_id, message) for user_id in dict.fromkeys(user_ids)]

    def dm_channel(self, user_id: str) -> str:
        response = self.client.conversations_open(users=user_id)
        return str(response["channel"]["id"])

    def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        self.client.chat_update(channel=channel, ts=ts, **message.payload())

    def post_ephemeral(
        self, channel: str, user_id: str, message: SlackMessage, *, thread_ts: str | None = None
    ) -> None:
        self.client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread_ts, **message.payload())

    def upload_file(self, channel: str, path: Path, *, title: str, comment: str, thread_ts: str | None = None) -> str:
        """Upload through files.getUploadURLExternal + files.completeUploadExternal; returns the file id."""
        response = self.client.files_upload_v2(
            channel=channel,
            file=str(path),
            filename=path.name,
            title=title,
            initial_comment=comment,
            thread_ts=thread_ts,
        )
        return str(response["file"]["id"])
