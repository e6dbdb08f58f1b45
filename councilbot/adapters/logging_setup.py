"""Logging for the long-running processes (``councilbot serve``, ``councilbot web``).

One line per event on stderr: time (ISO 8601 with the UTC offset), level, logger name, message;
a traceback stays on its record's line with its line breaks written as ``\\n``. The least severe
level written is ``LOG_LEVEL``.

Nothing secret reaches the log: a filter on the handler replaces the configured credentials
(Slack tokens, the signing secret, the OpenAI key, the database password) and anything shaped
like a Slack token, an OpenAI key or a bearer credential, in the message and in the traceback
alike. Message text (questions, answers) is never passed to a log call, database errors leave out
their values (``hide_parameters`` in storage/db.py), and the libraries that write request bodies
into their records are held above those levels (``LEVEL_FLOORS``).
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from councilbot.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[REDACTED]"
# The least severe level written for these loggers, whatever LOG_LEVEL says: slack_sdk, openai and
# httpx put request and response bodies (message text) into DEBUG records; slack-bolt, which logs
# through "councilbot.slack" (adapters/slack/app.py), puts a request's whole body into an INFO record
# when its signature fails; SQLAlchemy's INFO records are SQL statements.
LEVEL_FLOORS = {
    "councilbot.slack": logging.WARNING,
    "slack_bolt": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "slack_sdk": logging.INFO,
    "openai": logging.INFO,
    "httpx": logging.INFO,
    "httpcore": logging.INFO,
    "urllib3": logging.INFO,
}

_TOKEN_SHAPES = re.compile(
    r"\bxox[abcdeprs]-[A-Za-z0-9-]+"  # Slack bot, user, refresh, workspace and client tokens
    r"|\bxapp-[A-Za-z0-9-]+"  # Slack app-level tokens (Socket Mode)
    r"|\bsk-[A-Za-z0-9_-]{16,}"  # OpenAI API keys
)
# An Authorization header's credential, whatever its shape; the scheme is kept.
_BEARER = re.compile(r"(\bBearer\s+)[^\s'\",;]+", re.IGNORECASE)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and anything shaped like a token replaced by [REDACTED]."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _BEARER.sub(rf"\g<1>{REDACTED}", _TOKEN_SHAPES.sub(REDACTED, text))


class RedactSecrets(logging.Filter):
    """Rewrites a record's message and traceback without secrets, before any formatter sees them."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is replaced whole.
        self.secrets = tuple(sorted((s for s in secrets if s), key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: the message alone is kept
            message = str(record.msg)
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class OneLineFormatter(logging.Formatter):
    """Each record as exactly one line: the traceback's line breaks are written as ``\\n``."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return "\\n".join(super().format(record).rstrip().splitlines())


def secrets_of(settings: Settings) -> list[str]:
    """The credentials among the settings, as they might appear in a log line."""
    password = urlsplit(settings.database_url).password
    values = (
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.openai_api_key,
        password,
        unquote(password or ""),  # as written in the URL, and as a driver's message would show it
    )
    return [value for value in values if value]


def logging_config(settings: Settings) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` document for a long-running process."""
    level = logging.getLevelName(settings.log_level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_secrets": {"()": RedactSecrets, "secrets": secrets_of(settings)}},
        "formatters": {"one_line": {"()": OneLineFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["redact_secrets"],
                "formatter": "one_line",
            }
        },
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        "loggers": {name: {"level": max(level, floor)} for name, floor in LEVEL_FLOORS.items()},
    }


def configure_logging(settings: Settings) -> None:
    """Route every logger (the libraries' included) and Python's warnings to stderr, one line each."""
    logging.config.dictConfig(logging_config(settings))
    logging.captureWarnings(True)
