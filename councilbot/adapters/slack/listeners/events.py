"""Events: messages and notice files in the intake channel, and the App Home tab.

Events are acknowledged by bolt before these run. Each is claimed by its
event_id, so Slack's retries (X-Slack-Retry-Num) do nothing a second time;
a question made from a message also carries the message as its source, so
the same message can never become two questions.
"""

from __future__ import annotations

import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.announce import announce
from councilbot.adapters.slack.dispatch import Runtime, reporting, with_runtime
from councilbot.adapters.slack.idempotency import event_delivery
from councilbot.adapters.slack.listeners.replies import ephemeral_in
from councilbot.domain.intake_parse import ParsedQuestion, parse_question_message
from councilbot.errors import InvalidInput, PermissionDenied
from councilbot.services.intake import MAX_NOTICE_BYTES, QuestionInput, import_notice, known_members, register_question
from councilbot.services.status import user_queue
from councilbot.settings import Settings
from councilbot.storage.models import User

DOWNLOAD_TIMEOUT = 30


def source_ref(channel: str, ts: str) -> str:
    return f"slack:{channel}:{ts}"


def parse_text(db: Session, text: str) -> ParsedQuestion:
    return parse_question_message(text, known_members(db))


def take_in(
    db: Session, settings: Settings, user: User, text: str, channel: str, ts: str
) -> tuple[blocks.Message, str | None]:
    """A chat message as a question: registered when complete, a request for the rest otherwise.

    Returns the reply for the message's thread and the key of a newly made question.
    """
    parsed = parse_text(db, text)
    if parsed.missing:
        return blocks.intake_incomplete(parsed, channel, ts), None
    result = register_question(db, settings, user, question_input(parsed, source_ref(channel, ts)))
    return blocks.intake_record(
        result.question, result.duplicates, created=result.created
    ), result.question.key if result.created else None


def question_input(p: ParsedQuestion, source: str | None) -> QuestionInput:
    return QuestionInput(
        session_name=p.session_name,
        seat=p.seat,
        member_name=p.member_name,
        question_type=p.question_type or "",
        item_no=p.item_no or "",
        title=p.title or "",
        body=p.body or "",
        source_ref=source,
    )


def confirm_registration(
    rt: Runtime,
    user_id: str,
    outcome: tuple[blocks.Message, str | None],
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
        parsed = rt.run(body["user"]["id"], lambda db, user: parse_text(db, found[0].get("text", "")))
        client.views_open(
            trigger_id=body["trigger_id"], view=blocks.question_modal(parsed, blocks.metadata(channel=channel, ts=ts))
        )


def _download(url: str, token: str, size: int, directory: Path, name: str) -> Path:
    if size > MAX_NOTICE_BYTES:
        raise InvalidInput("ファイルが大きすぎます（20MBまで）。")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
        data = response.read(MAX_NOTICE_BYTES + 1)
    if len(data) > MAX_NOTICE_BYTES:
        raise InvalidInput("ファイルが大きすぎます（20MBまで）。")
    path = directory / (Path(name).name or "notice.txt")
    path.write_bytes(data)
    return path


def register(app: App, rt: Runtime) -> None:
    app.event("message")(with_runtime(rt, on_message))
    app.event("file_shared")(with_runtime(rt, on_file))
    app.event("app_home_opened")(with_runtime(rt, on_home))


def on_message(rt: Runtime, body: dict[str, Any], event: dict[str, Any]) -> None:
    # New top-level messages by people in the intake channel only: no edits,
    # file shares (see file_shared), bot posts or thread replies.
    if event.get("channel") != rt.settings.slack_intake_channel or event.get("subtype") or event.get("bot_id"):
        return
    if event.get("thread_ts") not in (None, event.get("ts")) or not event.get("user"):
        return
    channel, ts, user_id = event["channel"], event["ts"], event["user"]
    with reporting(ephemeral_in(rt.notifier, channel, user_id, thread_ts=ts)):
        outcome = rt.run(
            user_id,
            lambda db, user: take_in(db, rt.settings, user, event.get("text", ""), channel, ts),
            delivery=event_delivery(body),
        )
        confirm_registration(rt, user_id, outcome, channel=channel, thread_ts=ts)


def on_file(rt: Runtime, body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
    channel, user_id = event.get("channel_id"), event.get("user_id")
    if not channel or channel != rt.settings.slack_intake_channel or not user_id:
        return
    with reporting(ephemeral_in(rt.notifier, channel, user_id)):
        info = client.files_info(file=event["file_id"])["file"]
        shares = ((info.get("shares") or {}).get("public") or {}).get(channel) or []
        thread_ts = shares[0].get("ts") if shares else None
        with tempfile.TemporaryDirectory(prefix="councilbot-notice-") as tmp:
            path = _download(
                info["url_private_download"],
                rt.settings.slack_bot_token or "",
                int(info.get("size") or 0),
                Path(tmp),
                info.get("name", ""),
            )

            def work(db: Session, user: User) -> tuple[blocks.Message, list[str]]:
                keys = [r.question.key for r in import_notice(db, rt.settings, user, path)]
                return blocks.notice_imported(path.name, keys), keys

            message, keys = rt.run(user_id, work, delivery=event_delivery(body))
        rt.notifier.post_to_channel(channel, message, thread_ts=thread_ts)
        for key in keys:
            announce(rt, key)


def on_home(rt: Runtime, event: dict[str, Any], client: WebClient) -> None:
    if event.get("tab") != "home":
        return
    user_id = event["user"]
    tz = rt.settings.tz_name
    with reporting(lambda text: client.views_publish(user_id=user_id, view=blocks.home_view(None, [], tz, error=text))):
        try:
            name, queue = rt.run(user_id, lambda db, user: (user.name, user_queue(db, user)))
        except PermissionDenied:
            name, queue = None, []
        client.views_publish(user_id=user_id, view=blocks.home_view(name, queue, tz))
