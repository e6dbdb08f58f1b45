"""Session management (会期の管理) by General Affairs: the answer deadline, the review meeting, closing.

Reminders follow these values: the scheduler re-plans from them (see
services/reminders.py), so a moved deadline moves its reminders and a closed
session has none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from councilbot.domain.permissions import require_general_affairs
from councilbot.domain.workflow import OPEN_STATES
from councilbot.errors import InvalidInput
from councilbot.services.audit import record_audit
from councilbot.services.common import actor_of, get_council_session
from councilbot.storage.db import affected_rows
from councilbot.storage.models import CouncilSession, Question, User


@dataclass
class SessionUpdate:
    session: CouncilSession
    changed: dict[str, tuple[str | None, str | None]]  # field → (before, after), ISO text
    moved_questions: int  # open items whose due time followed the deadline


def _iso(value: dt.datetime | bool | None) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return None if value is None else str(value)


def update_session(
    db: Session,
    actor_user: User,
    name: str,
    *,
    answer_deadline: dt.datetime | None = None,
    review_meeting: dt.datetime | None = None,
    closed: bool | None = None,
) -> SessionUpdate:
    """Change a session's deadline, review meeting or open/closed state (総務課のみ)."""
    require_general_affairs(actor_of(actor_user), "会期の締切・検討会の日時の変更")
    for value in (answer_deadline, review_meeting):
        if value is not None and value.tzinfo is None:
            raise InvalidInput("日時にはタイムゾーンを付けてください（例: 2026-11-27T17:00+09:00）。")
    if answer_deadline is None and review_meeting is None and closed is None:
        raise InvalidInput("変更する項目（答弁締切・答弁検討会・会期の終了）を指定してください。")
    session = get_council_session(db, name)
    changed: dict[str, tuple[str | None, str | None]] = {}
    moved = 0
    if answer_deadline is not None and answer_deadline != session.answer_deadline:
        old = session.answer_deadline
        # Open items that kept the session's deadline follow it; an item given its own due time keeps it.
        # A plain UPDATE: the due time is not part of the answer, so approvers at work on these
        # items must not be told their copy is stale (the version counter stays).
        moved = affected_rows(
            db,
            update(Question)
            .where(
                Question.session_id == session.id,
                Question.status.in_([s.value for s in OPEN_STATES]),
                Question.due_at == old if old is not None else Question.due_at.is_(None),
            )
            .values(due_at=answer_deadline)
            .execution_options(synchronize_session=False),
        )
        session.answer_deadline = answer_deadline
        changed["answer_deadline"] = (_iso(old), _iso(answer_deadline))
    if review_meeting is not None and review_meeting != session.review_meeting:
        changed["review_meeting"] = (_iso(session.review_meeting), _iso(review_meeting))
        session.review_meeting = review_meeting
    if closed is not None and closed != session.closed:
        changed["closed"] = (_iso(session.closed), _iso(closed))
        session.closed = closed
    db.flush()
    if changed:
        record_audit(
            db,
            actor_user.chat_id,
            "session.update",
            session.name,
            **{field: after for field, (_, after) in changed.items()},
            moved_questions=moved,
        )
    return SessionUpdate(session, changed, moved)
