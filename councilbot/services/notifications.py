"""Who is told once an item has moved, and about what.

After every change the item's new state decides the audience: General Affairs
for assignment and 校了, the division (its channel, mentioning its drafters) for
drafting, the holder of the current stage for review, the drafters again after
a send-back or a reopen, the division's channel once the answer is final or the
question withdrawn. The people come from ``status.next_actors``.

Each ``Notification`` carries what its message needs, gathered here once: the
routing suggestions of an assignment card are computed when the card is made,
not when it is clicked. A chat adapter renders each kind and posts it.

A reassignment also tells the division that no longer owns the item; who that
was is taken (``handover``) before the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import Session

from councilbot.domain.workflow import State
from councilbot.services.assignment import assignable_divisions, suggest
from councilbot.services.commitments import EarlierCommitment, earlier_commitments
from councilbot.services.common import item_context
from councilbot.services.drafting import draft_label
from councilbot.services.routing import RouteSuggestion
from councilbot.services.search import SearchResult, find_similar
from councilbot.services.status import next_actors
from councilbot.settings import Settings
from councilbot.storage.models import Question, User

SIMILAR_LIMIT = 5


class NotificationKind(StrEnum):
    ASSIGNMENT_REQUEST = "assignment_request"  # General Affairs: decide the owner
    ASSIGNED = "assigned"  # the division now drafting
    TAKEN_AWAY = "taken_away"  # the division that no longer owns the item
    REVIEW_REQUEST = "review_request"  # the holder of the current stage
    SENT_BACK = "sent_back"  # the drafters, with the comment
    REOPENED = "reopened"  # the drafters, with the reason
    READY_TO_FINALIZE = "ready_to_finalize"  # General Affairs: 校了
    FINAL = "final"  # the division's channel
    WITHDRAWN = "withdrawn"  # the division's channel


@dataclass(frozen=True)
class Recipient:
    chat_id: str
    name: str


@dataclass(frozen=True)
class Handover:
    """The division an item is being taken from, and its people, as they were before a reassignment."""

    department: str
    channel: str | None
    people: tuple[Recipient, ...]


@dataclass(frozen=True)
class Notification:
    """One message to send: to ``channel`` when set (mentioning ``people``), else to each of ``people``.

    ``department`` is the division told, when it is one. The other fields are what the kind's
    message shows; those a kind does not use stay empty.
    """

    kind: NotificationKind
    people: tuple[Recipient, ...]
    channel: str | None = None
    department: str | None = None
    suggestions: list[RouteSuggestion] = field(default_factory=list)
    assignable: list[str] = field(default_factory=list)
    similar: list[SearchResult] = field(default_factory=list)
    commitments: list[EarlierCommitment] = field(default_factory=list)
    previous_department: str | None = None  # ASSIGNED after a move from another division
    note: str | None = None  # the reason or comment of the last stamp
    by: str | None = None  # who took the last step
    stage: str | None = None  # REVIEW_REQUEST: the stage asked to approve
    ai_label: str | None = None  # REVIEW_REQUEST: 「AI下書き（要確認）」 while unedited


def _recipients(users: list[User]) -> tuple[Recipient, ...]:
    return tuple(Recipient(u.chat_id, u.name) for u in users)


def handover(db: Session, question: Question) -> Handover | None:
    dept = question.responsible_department
    if dept is None:
        return None
    return Handover(dept.name, dept.channel, _recipients(next_actors(db, question)))


def notifications_for(
    db: Session, settings: Settings, question: Question, previous: Handover | None = None
) -> list[Notification]:
    """Whom to tell about ``question`` in its current state; ``previous``: its owner before a reassignment."""
    state = State(question.status)
    people = _recipients(next_actors(db, question))
    last = question.stamps[-1] if question.stamps else None
    dept = question.responsible_department
    if state == State.RECEIVED:
        return [
            Notification(
                NotificationKind.ASSIGNMENT_REQUEST,
                people,
                suggestions=suggest(db, settings, question.key),
                assignable=[d.name for d in assignable_divisions(db)],
                commitments=earlier_commitments(db, question),
            )
        ]
    if state == State.ASSIGNED:
        reason = last.comment if last is not None and last.action == "reassign" else None
        moved = previous if previous and dept and previous.department != dept.name else None
        notifications = [
            Notification(
                NotificationKind.ASSIGNED,
                people,
                channel=dept.channel if dept else None,
                department=dept.name if dept else None,
                similar=find_similar(db, settings, f"{question.title}\n{question.body}", limit=SIMILAR_LIMIT),
                commitments=earlier_commitments(db, question),
                previous_department=moved.department if moved else None,
                note=reason,
            )
        ]
        if moved and last is not None:
            notifications.append(
                Notification(
                    NotificationKind.TAKEN_AWAY,
                    moved.people,
                    channel=moved.channel,
                    department=moved.department,
                    note=reason or "",
                    by=last.user.name,
                )
            )
        return notifications
    if state == State.IN_REVIEW:
        revision = question.latest_revision
        return [
            Notification(
                NotificationKind.REVIEW_REQUEST,
                people,
                stage=item_context(db, question).current_stage or "",
                ai_label=draft_label(revision) if revision else None,
            )
        ]
    if state == State.DRAFTING and last is not None and last.action == "send_back":
        return [Notification(NotificationKind.SENT_BACK, people, note=last.comment or "", by=last.user.name)]
    if state == State.DRAFTING and last is not None and last.action == "reopen":
        return [Notification(NotificationKind.REOPENED, people, note=last.comment or "")]
    if state == State.APPROVED:
        return [Notification(NotificationKind.READY_TO_FINALIZE, people)]
    if state == State.FINAL and dept and dept.channel:
        by = last.user.name if last else ""
        return [Notification(NotificationKind.FINAL, (), channel=dept.channel, department=dept.name, by=by)]
    if state == State.WITHDRAWN and dept and dept.channel and last is not None:
        return [
            Notification(
                NotificationKind.WITHDRAWN,
                (),
                channel=dept.channel,
                department=dept.name,
                note=last.comment or "",
                by=last.user.name,
            )
        ]
    return []
