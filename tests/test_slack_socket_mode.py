"""Socket Mode, for real: the app (as ``councilbot serve`` builds it when
SLACK_APP_TOKEN is set) with bolt's own ``SocketModeHandler`` and slack_sdk's
builtin WebSocket client, against the fake Slack.

The handler asks ``apps.connections.open`` for a URL with the app-level token,
connects to the fake's WebSocket server, and then receives envelopes as Slack
sends them. Every envelope must be acknowledged with its ``envelope_id``. That
the acknowledgement does not wait for the work is shown by holding the work's
Slack call until the acknowledgement has arrived.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.app import create_app
from councilbot.services.common import get_question
from councilbot.storage.db import session_scope
from councilbot.storage.models import Question
from tests.fake_slack import APP_TOKEN, FakeSlack
from tests.slack_helpers import (
    INTAKE_CHANNEL,
    TrackingExecutor,
    click_payload,
    command_body,
    count,
    event_body,
    new_question,
    slack_settings,
)

QUESTION = (
    "令和8年12月定例会 一般質問 16番 1-(1)-①\n避難所運営について\n避難所における女性や高齢者への配慮について伺う。"
)


class SocketBot:
    def __init__(self, cfg: Any, fake: FakeSlack) -> None:
        self.cfg, self.fake, self.ws = cfg, fake, fake.socket_mode
        self.executor = TrackingExecutor()
        self.handler = SocketModeHandler(create_app(cfg, executor=self.executor), cfg.slack_app_token)

    def envelope(self, kind: str, envelope_id: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """Send one envelope as Slack does and return the app's acknowledgement."""
        self.ws.send({"envelope_id": envelope_id, "type": kind, "payload": payload, **extra})
        return self.ws.wait_ack(envelope_id)


@pytest.fixture
def socket_bot(org: Any, fake: FakeSlack) -> Iterator[SocketBot]:
    cfg = slack_settings(
        org, fake, slack_app_token=APP_TOKEN, slack_signing_secret=None
    )  # no signing secret in Socket Mode
    bot = SocketBot(cfg, fake)
    bot.handler.connect()
    try:
        bot.ws.wait_connected()
        yield bot
        bot.executor.wait_idle()
    finally:
        bot.handler.close()
        bot.executor.shutdown(wait=True)


def test_socket_mode_acknowledges_every_envelope_and_does_the_work(socket_bot, fake):
    bot = socket_bot
    opened = fake.of("apps.connections.open")
    assert len(opened) == 1 and opened[0].headers["authorization"] == f"Bearer {APP_TOKEN}"
    bot.ws.send(
        {
            "type": "hello",
            "num_connections": 1,
            "connection_info": {"app_id": "A0TEST"},
            "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
        }
    )

    # Events API: a question posted in the intake channel becomes a question item.
    ts = "1699999999.000100"
    fake.add_message(INTAKE_CHANNEL, ts, QUESTION, "UGA1")
    event = {
        "type": "message",
        "channel": INTAKE_CHANNEL,
        "user": "UGA1",
        "text": QUESTION,
        "ts": ts,
        "channel_type": "channel",
    }
    ack = bot.envelope(
        "events_api",
        "env-event",
        event_body(event, "EvSock1"),
        accepts_response_payload=False,
        retry_attempt=0,
        retry_reason="",
    )
    assert ack == {"envelope_id": "env-event"}
    bot.executor.wait_idle()
    assert count(bot.cfg, Question) == 1
    assert "R8-12-16-1-1-1" in fake.of("chat.postMessage", channel=INTAKE_CHANNEL, thread_ts=ts)[0].text

    # A slash command answered after the acknowledgement: the answer is held until the ack is in.
    release = fake.hold("response_url")
    ack = bot.envelope(
        "slash_commands",
        "env-command",
        command_body(fake, "UKK1", "進捗", channel="C0WORK", trigger_id="1.t"),
        accepts_response_payload=True,
    )
    assert ack == {"envelope_id": "env-command"}
    release.set()
    bot.executor.wait_idle()
    assert "令和8年12月定例会の進み具合" in fake.of("response_url")[-1].text

    # One answered in the acknowledgement itself carries it as the ack's payload.
    ack = bot.envelope(
        "slash_commands",
        "env-help",
        command_body(fake, "UKK1", "help", channel="C0WORK", trigger_id="2.t"),
        accepts_response_payload=True,
    )
    assert ack["envelope_id"] == "env-help" and ack["payload"]["response_type"] == "ephemeral"
    assert "/council search" in json.dumps(ack["payload"], ensure_ascii=False)

    # Interactivity: the 課長 approves from the review DM. The ack comes while the message update is held;
    # the approval is in the database, and the 部長 is asked next.
    key = new_question(bot.cfg, item_no="1-(1)-②", assign_to="危機管理課", answer="お答えいたします。", submit=True)
    with session_scope(bot.cfg) as db:
        value = blocks.item_value(get_question(db, key))
    fake.add_message("DUKK2", "1.0", "確認依頼", "UBOT")
    release = fake.hold("chat.update")
    click = click_payload(fake, "UKK2", "DUKK2", "1.0", blocks.APPROVE, value=value, trigger_id="3.t")
    assert bot.envelope("interactive", "env-click", click, accepts_response_payload=False) == {
        "envelope_id": "env-click"
    }
    release.set()
    bot.executor.wait_idle()
    with session_scope(bot.cfg) as db:
        q = get_question(db, key)
        assert [(s.action, s.stage, s.user.chat_id) for s in q.stamps][-1] == (
            "approve",
            "課長",
            "UKK2",
        ) and q.stage_index == 1
    assert "承認しました" in fake.messages[("DUKK2", "1.0")]["text"]
    assert "部長として確認をお願いします" in fake.of("chat.postMessage", channel="DUSB1")[-1].text

    # Every envelope was acknowledged exactly once, and nothing else was sent on the socket.
    assert sorted(m["envelope_id"] for m in bot.ws.received) == ["env-click", "env-command", "env-event", "env-help"]
    assert bot.ws.connections == 1
