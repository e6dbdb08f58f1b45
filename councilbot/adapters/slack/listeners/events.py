"""Events: messages and notice files in the intake channel, and the App Home tab.

Events are acknowledged by bolt before these run. Each is claimed by its
event_id, so Slack's retries (X-Slack-Retry-Num) do nothing a second time;
a question made from a message also carries the message as its source, so
the same message can never become two questions.
"""

from __future__ import annotations

import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.announce import announce
from councilbot.adapters.slack.dispatch import Runtime, reporting, with_runtime
from councilbot.adapters.slack.idempotency import event_delivery
from councilbot.adapters.slack.intake import confirm_registration, take_in
from councilbot.adapters.slack.listeners.replies import ephemeral_in
from councilbot.errors import InvalidInput, PermissionDenied
from councilbot.services.intake import MAX_NOTICE_BYTES, import_notice
from councilbot.services.status import user_queue
from councilbot.storage.models import User

DOWNLOAD_TIMEOUT = 30


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
            lambda db, user: take_in(db, user, event.get("text", ""), channel, ts),
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

            def work(db: Session, user: User) -> tuple[blocks.SlackMessage, list[str]]:
                keys = [r.question.key for r in import_notice(db, user, path)]
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
