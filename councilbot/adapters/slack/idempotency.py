"""First-delivery checks: Slack resends what it thinks was lost, and people double-click.

A delivery is claimed by inserting its id into ``processed_deliveries`` as the
first statement of the transaction that does the work. The unique constraint
settles a race between two copies arriving at once: the second insert waits
for the first transaction and then does nothing, so the work happens once.
When the work fails and its transaction rolls back, the claim goes with it and
a retry may try again. (``INSERT … ON CONFLICT DO NOTHING`` rather than a
savepoint: with SQLite a savepoint opened first would commit on release and
leave the work outside the claim's transaction.) A draft is the exception: its
claim is committed before the model is called, outside any transaction, so a
draft that fails gives the claim back (``release``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from councilbot.storage.models import ProcessedDelivery


def claim(db: Session, delivery_id: str) -> bool:
    """True for the first delivery of ``delivery_id``, False for every copy after it."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(ProcessedDelivery).values(delivery_id=delivery_id).on_conflict_do_nothing(index_elements=["delivery_id"])
    )
    result = db.execute(statement)
    assert isinstance(result, CursorResult)  # an INSERT
    return result.rowcount == 1


def release(db: Session, delivery_id: str) -> None:
    """Give a claim back, for work done outside the claim's transaction that failed: it may be asked for again."""
    db.execute(delete(ProcessedDelivery).where(ProcessedDelivery.delivery_id == delivery_id))


def event_delivery(body: dict[str, Any]) -> str:
    """Events API: the same ``event_id`` on every retry."""
    return f"event:{body.get('event_id')}"


def action_delivery(body: dict[str, Any]) -> str:
    """block_actions: one click is one ``action_ts`` of one user on one action."""
    action = (body.get("actions") or [{}])[0]
    return f"action:{body['user']['id']}:{action.get('action_id')}:{action.get('action_ts')}"


def draft_delivery(key: str, version: int | None) -> str:
    """The draft button: one draft of one version of an item, however often and by whomever it is clicked."""
    return f"draft:{key}:{version}"


def view_delivery(body: dict[str, Any]) -> str:
    """view_submission: the same view in the same state submitted again."""
    view = body.get("view") or {}
    return f"view:{view.get('id')}:{view.get('hash')}"


def command_delivery(body: dict[str, Any]) -> str:
    """Slash commands carry no id, but each invocation has its own ``trigger_id``."""
    return f"command:{body.get('trigger_id')}"
