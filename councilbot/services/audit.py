"""Append-only audit log (監査ログ): every state change and every model call.

Entries name who, what and when, with small structured details — never message
bodies, question text or answers.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.storage.models import AuditEntry

SYSTEM_ACTOR = "system"
_acting_user: contextvars.ContextVar[str] = contextvars.ContextVar("acting_user", default=SYSTEM_ACTOR)


@contextmanager
def acting_as(chat_id: str) -> Iterator[None]:
    """Calls made below this (an embedding of a draft's question) are audited as ``chat_id``'s."""
    token = _acting_user.set(chat_id)
    try:
        yield
    finally:
        _acting_user.reset(token)


def acting_user() -> str:
    """Who caused the current call: the user of an enclosing ``acting_as``, else ``system``."""
    return _acting_user.get()


def record_audit(db: Session, actor: str, action: str, target: str | None = None, **details: Any) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, details=details)
    db.add(entry)
    return entry


def list_audit(
    db: Session,
    *,
    limit: int = 100,
    actor: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    return list(db.scalars(stmt))


def audit_csv(entries: list[AuditEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at", "actor", "action", "target", "details"])
    for e in entries:
        writer.writerow([e.id, e.at.isoformat(), e.actor, e.action, e.target or "", _details_text(e.details)])
    return buffer.getvalue()


def _details_text(details: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted((details or {}).items()))
