"""Driving the real Slack app over HTTP, as Slack does.

``SlackApp`` serves the app built by ``councilbot.adapters.slack.app`` with
waitress on a free local port, its Web API pointed at a ``FakeSlack``. Requests
are signed with the signing secret exactly as Slack signs them
(``v0:{timestamp}:{body}``, HMAC-SHA256). Clicking a button sends the value of
the button the bot actually rendered; submitting a modal sends the modal the
bot actually opened, with the user's edits.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import waitress
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from councilbot.adapters.slack.app import EVENTS_PATH, create_app, create_http_app
from councilbot.services import assignment, intake, review
from councilbot.services.archive import import_file
from councilbot.services.common import get_user
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from tests.conftest import SAMPLE
from tests.fake_slack import BOT_TOKEN, TEAM_ID, FakeSlack

SIGNING_SECRET = "test-signing-secret"
INTAKE_CHANNEL = "C0INTAKE"
BODY = "避難所における女性や高齢者、障がいのある方への配慮について、現状と課題、今後の取組を伺う。"


def slack_settings(settings: Settings, fake: FakeSlack, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake.api_url,
            "slack_intake_channel": INTAKE_CHANNEL,
            **extra,
        }
    )


def count(cfg: Settings, model: Any) -> int:
    with session_scope(cfg) as db:
        return db.scalar(select(func.count()).select_from(model))


def new_question(
    cfg: Settings,
    *,
    item_no: str = "1-(1)-①",
    assign_to: str | None = None,
    answer: str | None = None,
    revise: str | None = None,
    submit: bool = False,
) -> str:
    """A question for 16番, set up through the services: assigned (answerer 市長), answered, revised, submitted."""
    with session_scope(cfg) as db:
        data = intake.QuestionInput("令和8年12月定例会", 16, "一般質問", item_no, "避難所運営について", BODY)
        key = intake.register_question(db, get_user(db, "UGA1"), data).question.key
        if assign_to:
            assignment.assign(db, get_user(db, "UGA1"), key, assign_to, answerer="市長")
        for text in (answer, revise):
            if text:
                review.save_revision(db, get_user(db, "UKK1"), key, answer=text)
        if submit:
            review.submit(db, get_user(db, "UKK1"), key)
    return key


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def slack_cfg(org: Settings, fake: FakeSlack) -> Settings:
    """The test organisation's settings, pointed at the fake Slack."""
    return slack_settings(org, fake)


@pytest.fixture
def archive(slack_cfg: Settings) -> None:
    """Past answers from the bundled sample archive, for similar answers and search."""
    with session_scope(slack_cfg) as db:
        import_file(db, slack_cfg, SAMPLE / "archive_1.jsonl")


@pytest.fixture
def bot(slack_cfg: Settings, fake: FakeSlack) -> Iterator[SlackApp]:
    with SlackApp(slack_cfg, fake) as app:
        yield app


class TrackingExecutor(ThreadPoolExecutor):
    """The listener executor, counting work in flight so tests can wait for it to finish."""

    def __init__(self, max_workers: int = 64) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="slack-test")
        self._pending = 0
        self._cv = threading.Condition()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        with self._cv:
            self._pending += 1

        def run():  # type: ignore[no-untyped-def]
            try:
                return fn(*args, **kwargs)
            finally:
                with self._cv:
                    self._pending -= 1
                    self._cv.notify_all()

        return super().submit(run)

    def pending(self) -> int:
        with self._cv:
            return self._pending

    def wait_idle(self, timeout: float = 30.0) -> None:
        with self._cv:
            if not self._cv.wait_for(lambda: self._pending == 0, timeout=timeout):
                raise AssertionError("listener work did not finish")


@dataclass
class Response:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackApp:
    def __init__(self, settings: Settings, fake: FakeSlack, *, threads: int = 16) -> None:
        self.fake = fake
        self.executor = TrackingExecutor()
        self.app = create_app(settings, executor=self.executor)
        self.server = waitress.create_server(
            create_http_app(self.app), host="127.0.0.1", port=0, threads=threads, asyncore_loop_timeout=0.1
        )
        self.base = f"http://127.0.0.1:{self.server.effective_port}"
        self.url = self.base + EVENTS_PATH
        self._closing = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._ids = itertools.count(1)

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:
            if not self._closing:  # closing the socket under the select loop is how waitress stops
                raise

    def __enter__(self) -> SlackApp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor.wait_idle()
        self._closing = True
        self.server.task_dispatcher.shutdown()
        self.server.close()
        self._thread.join(timeout=5)
        self.executor.shutdown(wait=True)

    def settle(self) -> None:
        """Wait until everything started by the requests so far has finished."""
        self.executor.wait_idle()

    # --- raw requests --------------------------------------------------------

    def post(
        self, body: str, content_type: str, *, secret: str = SIGNING_SECRET, headers: dict[str, str] | None = None
    ) -> Response:
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return Response(r.status, r.read().decode(), time.perf_counter() - started)
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode(), time.perf_counter() - started)

    def _payload(self, payload: dict[str, Any], **kw: Any) -> Response:
        return self.post(
            urlencode({"payload": json.dumps(payload, ensure_ascii=False)}), "application/x-www-form-urlencoded", **kw
        )

    def _trigger(self) -> str:
        return f"{next(self._ids)}.trigger"

    # --- what people do --------------------------------------------------------

    def command(
        self, user: str, text: str, *, channel: str = "C0WORK", trigger_id: str | None = None, **kw: Any
    ) -> Response:
        body = urlencode(command_body(self.fake, user, text, channel=channel, trigger_id=trigger_id or self._trigger()))
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None, **kw: Any
    ) -> Response:
        body = event_body(event, event_id or f"Ev{next(self._ids):05d}")
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        return self.post(json.dumps(body, ensure_ascii=False), "application/json", headers=headers, **kw)

    def message(
        self, user: str, text: str, *, channel: str = INTAKE_CHANNEL, ts: str | None = None, **kw: Any
    ) -> tuple[str, Response]:
        """A person posts in a channel: Slack stores the message and sends the event."""
        ts = ts or f"1699999999.{next(self._ids):06d}"
        self.fake.add_message(channel, ts, text, user)
        event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "channel_type": "channel"}
        return ts, self.event(event, **kw)

    def shortcut(self, user: str, channel: str, ts: str) -> Response:
        message = self.fake.messages[(channel, ts)]
        return self._payload(
            {
                "type": "message_action",
                "callback_id": "register_question",
                "trigger_id": self._trigger(),
                "user": {"id": user},
                "team": {"id": TEAM_ID},
                "channel": {"id": channel},
                "message": message,
                "message_ts": ts,
                "response_url": self.fake.response_url(f"sc-{user}"),
            }
        )

    def click(
        self, user: str, channel: str, ts: str, action_id: str, *, value: str | None = None, **kw: Any
    ) -> Response:
        """Click the button ``action_id`` in the message the bot posted at (channel, ts).

        ``value`` forges the click: any payload a client could send, whatever the bot rendered.
        """
        return self._payload(
            click_payload(self.fake, user, channel, ts, action_id, value=value, trigger_id=self._trigger()), **kw
        )

    def submit(
        self, user: str, view: dict[str, Any], edits: dict[str, Any] | None = None, *, view_id: str = "V1", **kw: Any
    ) -> Response:
        """Submit the modal ``view`` as the bot opened it, with ``edits`` (block_id → text or option values)."""
        return self._payload(
            {
                "type": "view_submission",
                "user": {"id": user},
                "team": {"id": TEAM_ID},
                "api_app_id": "A0TEST",
                "trigger_id": self._trigger(),
                "view": {
                    **view,
                    "id": view_id,
                    "hash": f"{view_id}-h",
                    "state": {"values": view_state(view, edits or {})},
                },
            },
            **kw,
        )

    def last_view(self, method: str = "views.open") -> dict[str, Any]:
        return self.fake.of(method)[-1].json_arg("view")


# --- what Slack sends: the same bodies over HTTP and in Socket Mode envelopes ---------


def command_body(fake: FakeSlack, user: str, text: str, *, channel: str, trigger_id: str) -> dict[str, str]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "channel_id": channel,
        "user_id": user,
        "command": "/council",
        "text": text,
        "response_url": fake.response_url(f"cmd-{user}"),
        "trigger_id": trigger_id,
    }


def event_body(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0TEST",
        "type": "event_callback",
        "event": event,
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True}],
    }


def click_payload(
    fake: FakeSlack, user: str, channel: str, ts: str, action_id: str, *, value: str | None, trigger_id: str
) -> dict[str, Any]:
    """A block_actions payload for the button ``action_id`` of the message at (channel, ts), or a forged ``value``."""
    message = fake.messages.get((channel, ts)) or {}
    if value is None:
        value = find_element(message.get("blocks") or [], action_id)["value"]
    return {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": TEAM_ID},
        "api_app_id": "A0TEST",
        "trigger_id": trigger_id,
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "message": {"ts": ts, "thread_ts": message.get("thread_ts"), "blocks": message.get("blocks")},
        "response_url": fake.response_url(f"act-{user}"),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def find_element(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no button {action_id} in the message")


def view_state(view: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """The state Slack sends: every input's current value, initial unless edited."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element, bid = block["element"], block["block_id"]
        kind = element["type"]
        edited = edits.get(bid)
        if kind == "plain_text_input":
            values[bid] = {"value": {"type": kind, "value": edited if bid in edits else element.get("initial_value")}}
        elif kind == "static_select":
            chosen = {"value": edited} if bid in edits else element.get("initial_option")
            values[bid] = {"value": {"type": kind, "selected_option": chosen}}
        else:  # multi_static_select, checkboxes
            chosen = [{"value": v} for v in edited] if bid in edits else element.get("initial_options", [])
            values[bid] = {"value": {"type": kind, "selected_options": chosen}}
    return values
