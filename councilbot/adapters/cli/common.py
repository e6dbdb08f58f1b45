"""What every command module shares: settings, a checked database session, output.

Start-up rule: command modules import only click and this module at the top; services,
SQLAlchemy, pydantic and anything heavier are imported inside the command function,
so that ``councilbot --help`` and each command load only what they use
(tests/test_cli_startup.py checks it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from councilbot.settings import Settings
    from councilbot.storage.models import User


def settings() -> Settings:
    from councilbot.settings import get_settings

    return get_settings()


@contextmanager
def db_session(cfg: Settings | None = None) -> Iterator[Session]:
    """A transaction on a database whose schema is current (or brand new)."""
    from councilbot.storage.db import ensure_schema, session_scope

    cfg = cfg or settings()
    ensure_schema(cfg)
    with session_scope(cfg) as db:
        yield db


def operator(db: Session) -> User:
    """Who acts at the command line: the staff member named by COUNCILBOT_OPERATOR, with their
    own roles; unset, the server's operator with General Affairs and admin (services.common.cli_user)."""
    from councilbot.services.common import cli_user, get_user

    chat_id = settings().cli_operator
    return get_user(db, chat_id) if chat_id else cli_user(db)


def emit_json(document: Any) -> None:
    """``--json`` output: exactly one JSON document on stdout."""
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))
