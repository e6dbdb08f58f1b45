"""One leader among several bot processes: a lease row with an expiry (SchedulerLease).

A process holds the lease while it keeps renewing it; when it stops (or hangs,
or loses the database), the lease runs out and the next process to try takes
it over. Taking and renewing is one conditional UPDATE, so two processes can
never both believe they won: on PostgreSQL the second UPDATE waits for the
first to commit and then re-checks its condition against the new row; SQLite
serialises writers. The first lease row is created by an INSERT that skips a row
another process created first, so there too only one wins. The same code runs
on both.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from sqlalchemy import case, literal, update
from sqlalchemy.orm import Session

from councilbot.storage.db import affected_rows, insert_unless_present, unit_of_work
from councilbot.storage.models import SchedulerLease

SCHEDULER_LEASE = "scheduler"


def new_holder_id() -> str:
    """Names this process in the lease row and in sent-notification records."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(db: Session, name: str, holder: str, *, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Take or renew the lease; True when ``holder`` holds it until ``now + ttl``.

    A transaction of its own, committed before it returns: the outcome must be visible to other
    processes at once.
    """
    expires = now + ttl
    taken = affected_rows(
        db,
        update(SchedulerLease)
        .where(SchedulerLease.name == name)
        .where((SchedulerLease.holder == holder) | (SchedulerLease.expires_at <= now))
        .values(
            holder=holder,
            expires_at=expires,
            # A renewal keeps the time the lease was taken; a take-over records its own.
            acquired_at=case(
                (SchedulerLease.holder == holder, SchedulerLease.acquired_at),
                else_=literal(now, SchedulerLease.acquired_at.type),
            ),
        )
        .execution_options(synchronize_session=False),
    )
    if not taken:  # no lease yet, or another holder's still running: only the first to create the row takes it
        taken = affected_rows(
            db,
            insert_unless_present(db, SchedulerLease, "name").values(
                name=name, holder=holder, expires_at=expires, acquired_at=now
            ),
        )
    unit_of_work(db).checkpoint()
    return taken == 1


def release(db: Session, name: str, holder: str, *, now: dt.datetime) -> None:
    """Give the lease up at once (a clean shutdown), so another process need not wait for expiry."""
    db.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    unit_of_work(db).checkpoint()


def current(db: Session, name: str, *, now: dt.datetime) -> str | None:
    """The holder of an unexpired lease, or None."""
    lease = db.get(SchedulerLease, name)
    return lease.holder if lease is not None and lease.expires_at > now else None
