"""Logging under ``councilbot serve`` (and ``web``): one line per event with time, level and
logger; LOG_LEVEL decides what is written; never a token, a secret or message text."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from councilbot.adapters.logging_setup import LEVEL_FLOORS, configure_logging, logging_config, redact
from councilbot.adapters.slack.app import EVENTS_PATH
from councilbot.settings import Settings
from tests.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.slack_helpers import BODY, SIGNING_SECRET, SlackApp, event_body, fake, slack_cfg  # noqa: F401 (fixtures)

# 2026-12-02T17:28:49.855+09:00 WARNING councilbot.slack: message
LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S")


def records(text: str) -> list[str]:
    """The lines written, each checked to be one whole record."""
    lines = text.splitlines()
    assert all(LINE.match(line) for line in lines), lines
    return lines


@pytest.fixture
def log_output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[Settings], Callable[[], str]]]:
    """Configure logging as ``serve`` does; the returned function reads what went to stderr.
    The process's logging is put back afterwards, for the tests that follow."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    floors = {name: logging.getLogger(name).level for name in LEVEL_FLOORS}

    def configure(settings: Settings) -> Callable[[], str]:
        capsys.readouterr()
        configure_logging(settings)
        return lambda: capsys.readouterr().err

    yield configure
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, floor in floors.items():
        logging.getLogger(name).setLevel(floor)
    logging.captureWarnings(False)


@pytest.mark.parametrize(
    ("secret", "kept"),
    [
        (BOT_TOKEN, ""),
        ("xoxp-1111-2222-abcdef", ""),
        ("xoxe.xoxp-1-Mi0yLTE", "xoxe."),  # a refresh token: its credential part goes
        (APP_TOKEN, ""),
        ("sk-proj-abcdefghijklmnop1234", ""),
    ],
)
def test_token_shapes_are_redacted(secret: str, kept: str) -> None:
    assert redact(f"token={secret}; next") == f"token={kept}[REDACTED]; next"


def test_bearer_credentials_and_configured_secrets_are_redacted_and_other_text_is_kept() -> None:
    assert redact("{'Authorization': 'Bearer abc.DEF_123'}") == "{'Authorization': 'Bearer [REDACTED]'}"
    assert redact("signature v0=1 with my-signing-secret", ["my-signing-secret"]) == "signature v0=1 with [REDACTED]"
    ordinary = "task-runner の desk-sk-1 と xoxo-hugs、避難所運営について（R8-12-16-1-1-1）"
    assert redact(ordinary, ["secret-not-here"]) == ordinary


def test_log_level_setting_and_the_floors_of_libraries_that_log_bodies() -> None:
    assert Settings().log_level == "INFO"
    config = logging_config(Settings(LOG_LEVEL="DEBUG"))
    assert config["root"]["level"] == "DEBUG"
    assert config["loggers"]["councilbot.slack"]["level"] == logging.WARNING  # slack-bolt: request bodies at INFO
    assert config["loggers"]["slack_sdk"]["level"] == logging.INFO
    assert logging_config(Settings(LOG_LEVEL="ERROR"))["loggers"]["slack_sdk"]["level"] == logging.ERROR


def test_a_listener_error_is_one_line_from_bolts_logger_without_secrets(
    slack_cfg: Settings, fake: FakeSlack, log_output: Any
) -> None:
    read = log_output(slack_cfg)
    with SlackApp(slack_cfg, fake) as bot:

        @bot.app.event("councilbot_probe")
        def fail() -> None:
            raise RuntimeError(f"refused {BOT_TOKEN} {SIGNING_SECRET} Authorization: Bearer abc123\nsecond line")

        assert bot.event({"type": "councilbot_probe"}).status == 200
        bot.settle()
    lines = records(read())
    errors = [line for line in lines if " ERROR councilbot.slack: Failed to run listener function" in line]
    assert len(errors) == 1, lines
    # The traceback stays on the record's line.
    assert "\\nTraceback (most recent call last):\\n" in errors[0] and "RuntimeError: refused" in errors[0]
    assert "Bearer [REDACTED]" in errors[0] and "abc123" not in errors[0]
    assert BOT_TOKEN not in errors[0] and SIGNING_SECRET not in errors[0]


def test_message_text_is_not_logged_even_at_debug(slack_cfg: Settings, fake: FakeSlack, log_output: Any) -> None:
    read = log_output(slack_cfg.model_copy(update={"log_level": "DEBUG"}))
    logging.getLogger("councilbot.test").debug("configured")
    with SlackApp(slack_cfg, fake) as bot:
        # A request whose signature fails: slack-bolt writes its whole body into an INFO record.
        assert bot.message("UGA1", BODY, secret="not-the-signing-secret")[1].status == 401
        bot.message("UGA1", BODY)  # taken in as a question: Slack calls carry the text
        bot.settle()
    assert fake.of("chat.postMessage")  # the bot did answer
    written = read()
    assert "DEBUG councilbot.test: configured" in written  # DEBUG is on
    assert BODY[:10] not in written
    assert BOT_TOKEN not in written and SIGNING_SECRET not in written
    records(written)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(predicate: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve did not get there:\n{log.read_text(encoding='utf-8')}")
        time.sleep(0.05)


def test_serve_configures_logging_one_line_per_event(org: Settings, fake: FakeSlack, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOG_"))},
        "DATABASE_URL": org.database_url,
        "INDEX_DIR": str(org.index_dir),
        "EXPORT_DIR": str(org.export_dir),
        "EMBEDDINGS_PROVIDER": "none",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "councilbot", "serve", "--http", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            command, env=environment, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
    try:
        _wait_for(lambda: "Serving on" in log.read_text(encoding="utf-8"), process, log)
        _wait_for(lambda: "scheduler lease taken" in log.read_text(encoding="utf-8"), process, log)
        # An event no listener handles: slack-bolt warns, over several lines of suggested code.
        body = json.dumps(event_body({"type": "councilbot_probe"}, "Ev0PROBE"))
        stamp = str(int(time.time()))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{EVENTS_PATH}",
            data=body.encode(),
            headers={
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body),
            },
        )
        with pytest.raises(urllib.error.HTTPError):  # 404: unhandled
            urllib.request.urlopen(request, timeout=30)
        _wait_for(lambda: "Unhandled request" in log.read_text(encoding="utf-8"), process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    lines = records(log.read_text(encoding="utf-8"))
    assert any(f" INFO waitress: Serving on http://127.0.0.1:{port}" in line for line in lines), lines
    assert any(" INFO councilbot.adapters.scheduler: scheduler lease taken by " in line for line in lines), lines
    unhandled = [line for line in lines if " WARNING councilbot.slack: Unhandled request" in line]
    assert len(unhandled) == 1 and "\\n" in unhandled[0]
    assert BOT_TOKEN not in log.read_text(encoding="utf-8")
