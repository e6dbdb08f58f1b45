"""Who hears about an item once it has moved, and what they see.

After every change the item's new state decides the audience: General Affairs
for assignment and 校了, the division's channel (mentioning its drafters) for
drafting, the holder of the current stage for review, the drafters again after
a send-back or a reopen, the division's channel once the answer is final or the
question withdrawn. The people come from ``status.next_actors``; this module
only chooses the message and the place.

A reassignment also tells the division that no longer owns the item; who that
was is taken (``handover``) before the change. The action has been saved by
the time anyone is told, so a message Slack refuses does not undo it: the
others are still told, and ``NotificationFailed`` names whom to contact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.commitments import with_earlier_commitments
from councilbot.adapters.slack.dispatch import NotificationFailed, Runtime
from councilbot.domain.workflow import State
from councilbot.services.assignment import assignable_divisions, suggest
from councilbot.services.commitments import earlier_commitments
from councilbot.services.common import get_question, item_context
from councilbot.services.copies import record_copies, take_earlier_copies
from councilbot.services.drafting import draft_label
from councilbot.services.search import find_similar
from councilbot.services.status import next_actors, question_label
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import Question, User

log = logging.getLogger(__name__)

SIMILAR_LIMIT = 5


@dataclass
class Delivery:
    message: blocks.SlackMessage
    audience: str  # who is told, for the person who acted if it fails: 「危機管理課の高木 守さん」
    channel: str | None = None  # a channel post …
    users: list[str] = field(default_factory=list)  # … or direct messages


@dataclass(frozen=True)
class Handover:
    """The division an item is being taken from, and its people, as they were before a reassignment."""

    department: str
    channel: str | None
    people: list[str]
    audience: str


def _names(users: list[User]) -> str:
    return "、".join(f"{u.name}さん" for u in users)


def _division_audience(department: str, people: list[User]) -> str:
    return f"{department}の{_names(people)}" if people else department


def _to(message: blocks.SlackMessage, audience: str, channel: str | None, people: list[str]) -> Delivery:
    """The division's channel when it has one, its people's direct messages otherwise."""
    return Delivery(message, audience, channel=channel) if channel else Delivery(message, audience, users=people)


def handover(db: Session, question: Question) -> Handover | None:
    dept = question.responsible_department
    if dept is None:
        return None
    people = next_actors(db, question)
    return Handover(dept.name, dept.channel, [u.chat_id for u in people], _division_audience(dept.name, people))


def announce(
    rt: Runtime, key: str, *, previous: Handover | None = None, acted_in: tuple[str, str] | None = None
) -> None:
    """Tell the next people, after every earlier copy of the item's cards says what happened.

    ``acted_in``: the message the person acted on, which its handler has already replaced.
    """
    with session_scope(rt.settings) as db:
        question = get_question(db, key)
        deliveries = deliveries_for(db, rt.settings, question, previous)
        earlier = take_earlier_copies(db, key, acted_in=acted_in)
        settled = blocks.settled_card(question, question_label(db, question), rt.settings.tz_name)
    for channel, ts in earlier:
        try:
            rt.notifier.update(channel, ts, settled)
        except SlackApiError as exc:  # a deleted message: a click on it still meets the service's checks
            log.warning("could not update a copy of %s (%s): %s", key, channel, exc.response.get("error"))
    failed, posted = [], []
    for d in deliveries:
        try:
            if d.channel:
                posted.append((d.channel, rt.notifier.post_to_channel(d.channel, d.message)))
            else:
                posted += rt.notifier.post_to_users(d.users, d.message)
        except SlackApiError as exc:
            log.warning("could not tell %s about %s: %s", d.audience, key, exc.response.get("error"))
            failed.append(d.audience)
    with session_scope(rt.settings) as db:
        record_copies(db, key, posted)
    if failed:
        raise NotificationFailed(blocks.follow_up_failed(failed))


def deliveries_for(
    db: Session, settings: Settings, question: Question, previous: Handover | None = None
) -> list[Delivery]:
    state = State(question.status)
    actors = next_actors(db, question)
    people = [u.chat_id for u in actors]
    names = _names(actors)
    label = question_label(db, question)
    tz = settings.tz_name
    last = question.stamps[-1] if question.stamps else None
    if state == State.RECEIVED:
        assignable = [d.name for d in assignable_divisions(db)]
        card = blocks.assignment_card(question, suggest(db, settings, question.key), assignable)
        return [Delivery(with_earlier_commitments(card, earlier_commitments(db, question)), names, users=people)]
    if state == State.ASSIGNED:
        similar = find_similar(db, settings, f"{question.title}\n{question.body}", limit=SIMILAR_LIMIT)
        reason = last.comment if last is not None and last.action == "reassign" else None
        moved = (
            previous
            if previous
            and question.responsible_department
            and previous.department != question.responsible_department.name
            else None
        )
        post = blocks.assigned_post(
            question, people, similar, previous=moved.department if moved else None, reason=reason
        )
        post = with_earlier_commitments(post, earlier_commitments(db, question))
        dept = question.responsible_department
        deliveries = [
            _to(post, _division_audience(dept.name, actors) if dept else names, dept.channel if dept else None, people)
        ]
        if moved and last is not None:
            away = blocks.reassigned_away(question, moved.department, reason or "", last.user.name, moved.people)
            deliveries.append(_to(away, moved.audience, moved.channel, moved.people))
        return deliveries
    if state == State.IN_REVIEW:
        stage = item_context(db, question).current_stage or ""
        revision = question.latest_revision
        ai = draft_label(revision) if revision else None
        return [Delivery(blocks.review_request(question, label, tz, stage, people, ai), names, users=people)]
    if state == State.DRAFTING and last is not None and last.action == "send_back":
        return [
            Delivery(
                blocks.sent_back(question, label, tz, last.comment or "", last.user.name, people), names, users=people
            )
        ]
    if state == State.DRAFTING and last is not None and last.action == "reopen":
        return [Delivery(blocks.reopened(question, label, tz, last.comment or "", people), names, users=people)]
    if state == State.APPROVED:
        return [Delivery(blocks.ready_to_finalize(question, label, tz, people), names, users=people)]
    dept = question.responsible_department
    if state == State.FINAL and dept and dept.channel:
        return [
            Delivery(blocks.final_notice(question, last.user.name if last else ""), dept.name, channel=dept.channel)
        ]
    if state == State.WITHDRAWN and dept and dept.channel and last is not None:
        return [
            Delivery(
                blocks.withdrawn_notice(question, last.user.name, last.comment or ""), dept.name, channel=dept.channel
            )
        ]
    return []
