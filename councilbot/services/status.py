"""Progress (進捗): where every answer stands, per division and stage, and each user's queue.

Staff elsewhere complain most of not knowing where an answer is stuck; this is
the one place that answers that, for the chat and the command line alike.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain.permissions import acts_as
from councilbot.domain.workflow import CLOSED_STATES, STATES, State, Who, asked_of, status_label
from councilbot.services.common import actor_of, chain_of, get_session, item_context
from councilbot.storage.models import CouncilSession, Question, User, utcnow

UNASSIGNED = "（担当未定）"


@dataclass
class DivisionStatus:
    department: str
    counts: Counter[str] = field(default_factory=Counter)  # status label → count
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class OverdueItem:
    key: str
    title: str
    department: str
    label: str
    due_at: dt.datetime


@dataclass
class SessionStatus:
    session: CouncilSession
    divisions: list[DivisionStatus]
    overdue: list[OverdueItem]
    totals: Counter[str]


def question_label(db: Session, question: Question) -> str:
    state = State(question.status)
    stage = chain_of(db, question).stage(question.stage_index) if state == State.IN_REVIEW else None
    return status_label(state, stage)


def session_status(db: Session, session_name: str | None = None, *, now: dt.datetime | None = None) -> SessionStatus:
    session = get_session(db, session_name)
    now = now or utcnow()
    by_division: dict[str, DivisionStatus] = defaultdict(lambda: DivisionStatus(""))
    overdue: list[OverdueItem] = []
    totals: Counter[str] = Counter()
    questions = db.scalars(select(Question).where(Question.session_id == session.id).order_by(Question.key))
    for q in questions:
        dept = q.responsible_department.name if q.responsible_department else UNASSIGNED
        row = by_division[dept]
        row.department = dept
        label = question_label(db, q)
        row.counts[label] += 1
        totals[label] += 1
        if q.status not in CLOSED_STATES and q.due_at is not None and q.due_at < now:
            row.overdue += 1
            overdue.append(OverdueItem(q.key, q.title, dept, label, q.due_at))
    # Divisions with overdue items first, then the most unfinished work.
    divisions = sorted(
        by_division.values(),
        key=lambda d: (-d.overdue, -(d.total - d.counts.get("校了", 0)), d.department),
    )
    return SessionStatus(session, divisions, sorted(overdue, key=lambda o: o.due_at), totals)


@dataclass
class QueueItem:
    key: str
    title: str
    label: str
    why: str  # what this user is expected to do, in Japanese
    due_at: dt.datetime | None


def user_queue(db: Session, user: User) -> list[QueueItem]:
    """What waits for this user: stamps to give, answers to write, items to assign or finalise."""
    actor = actor_of(user)
    items: list[QueueItem] = []
    open_questions = db.scalars(
        select(Question)
        .where(Question.status.not_in([s.value for s in CLOSED_STATES]))
        .order_by(Question.due_at, Question.key)
    )
    for q in open_questions:
        who = STATES[q.status].waiting_on
        ctx = item_context(db, q)
        if who is not None and acts_as(who, actor, ctx):
            items.append(
                QueueItem(q.key, q.title, question_label(db, q), asked_of(q.status, ctx.current_stage), q.due_at)
            )
    return items


def next_actors(db: Session, question: Question) -> list[User]:
    """The people who should act on this item now: the stage holder, the drafters, or General Affairs."""
    who = STATES[question.status].waiting_on
    if who is None:
        return []
    ctx = item_context(db, question)
    users = [u for u in db.scalars(select(User).where(User.active.is_(True)).order_by(User.id)) if u.chat_id != "cli"]
    acting = [u for u in users if acts_as(who, actor_of(u), ctx)]
    if who is Who.STAGE_HOLDER:
        # The executive first, their secretary after.
        return sorted(acting, key=lambda u: u.position != ctx.current_stage)
    return acting
