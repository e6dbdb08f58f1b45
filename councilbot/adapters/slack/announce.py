"""Telling the next people once an item has moved: whom ``services.notifications`` decides,
this module renders each notification and posts it.

The action has been saved by the time anyone is told, so a message Slack refuses
does not undo it: the others are still told, and ``NotificationFailed`` names
whom to contact.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.commitments import with_earlier_commitments
from councilbot.adapters.slack.dispatch import NotificationFailed, Runtime
from councilbot.services.common import get_question
from councilbot.services.copies import record_copies, take_earlier_copies
from councilbot.services.notifications import Handover, Notification, NotificationKind, Recipient, notifications_for
from councilbot.services.status import question_label
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import Question

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    message: blocks.SlackMessage
    audience: str  # who is told, for the person who acted if it fails: 「危機管理課の高木 守さん」
    channel: str | None = None  # a channel post …
    users: list[str] = field(default_factory=list)  # … or direct messages


def _names(people: Sequence[Recipient]) -> str:
    return "、".join(f"{p.name}さん" for p in people)


def _audience(notification: Notification) -> str:
    names = _names(notification.people)
    if notification.department is None:
        return names
    return f"{notification.department}の{names}" if names else notification.department


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
    label = question_label(db, question)
    deliveries = []
    for n in notifications_for(db, settings, question, previous):
        message = render(n, question, label, settings.tz_name)
        people = [p.chat_id for p in n.people]
        audience = _audience(n)
        deliveries.append(
            Delivery(message, audience, channel=n.channel) if n.channel else Delivery(message, audience, users=people)
        )
    return deliveries


def render(n: Notification, question: Question, label: str, tz: str) -> blocks.SlackMessage:
    """The message for one notification about ``question``."""
    people = [p.chat_id for p in n.people]
    match n.kind:
        case NotificationKind.ASSIGNMENT_REQUEST:
            card = blocks.assignment_card(question, n.suggestions, n.assignable)
            return with_earlier_commitments(card, n.commitments)
        case NotificationKind.ASSIGNED:
            post = blocks.assigned_post(question, people, n.similar, previous=n.previous_department, reason=n.note)
            return with_earlier_commitments(post, n.commitments)
        case NotificationKind.TAKEN_AWAY:
            return blocks.reassigned_away(question, n.department or "", n.note or "", n.by or "", people)
        case NotificationKind.REVIEW_REQUEST:
            return blocks.review_request(question, label, tz, n.stage or "", people, n.ai_label)
        case NotificationKind.SENT_BACK:
            return blocks.sent_back(question, label, tz, n.note or "", n.by or "", people)
        case NotificationKind.REOPENED:
            return blocks.reopened(question, label, tz, n.note or "", people)
        case NotificationKind.READY_TO_FINALIZE:
            return blocks.ready_to_finalize(question, label, tz, people)
        case NotificationKind.FINAL:
            return blocks.final_notice(question, n.by or "")
        case NotificationKind.WITHDRAWN:
            return blocks.withdrawn_notice(question, n.by or "", n.note or "")
