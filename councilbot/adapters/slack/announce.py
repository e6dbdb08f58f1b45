"""Who hears about an item once it has moved, and what they see.

After every change the item's new state decides the audience: General Affairs
for assignment and 校了, the division's channel (mentioning its drafters) for
drafting, the holder of the current stage for review, the drafters again after
a send-back or a reopen. The people come from ``status.next_actors``; this
module only chooses the message and the place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.dispatch import Runtime
from councilbot.domain.workflow import State
from councilbot.services.assignment import suggest
from councilbot.services.common import get_question, item_context
from councilbot.services.drafting import draft_label
from councilbot.services.search import find_similar
from councilbot.services.status import next_actors, question_label
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import Question

SIMILAR_LIMIT = 5


@dataclass
class Delivery:
    message: blocks.Message
    channel: str | None = None  # a channel post …
    users: list[str] = field(default_factory=list)  # … or direct messages


def announce(rt: Runtime, key: str) -> None:
    with session_scope(rt.settings) as db:
        deliveries = deliveries_for(db, rt.settings, get_question(db, key))
    for d in deliveries:
        if d.channel:
            rt.notifier.post_to_channel(d.channel, d.message)
        else:
            rt.notifier.post_to_users(d.users, d.message)


def _division_or_people(question: Question, people: list[str], message: blocks.Message) -> Delivery:
    dept = question.responsible_department
    return Delivery(message, channel=dept.channel) if dept and dept.channel else Delivery(message, users=people)


def deliveries_for(db: Session, settings: Settings, question: Question) -> list[Delivery]:
    state = State(question.status)
    people = [u.chat_id for u in next_actors(db, question)]
    label = question_label(db, question)
    tz = settings.tz_name
    last = question.stamps[-1] if question.stamps else None
    if state == State.RECEIVED:
        return [Delivery(blocks.assignment_card(question, suggest(db, settings, question.key)), users=people)]
    if state == State.ASSIGNED:
        similar = find_similar(db, settings, f"{question.title}\n{question.body}", limit=SIMILAR_LIMIT)
        return [_division_or_people(question, people, blocks.assigned_post(question, people, similar))]
    if state == State.IN_REVIEW:
        stage = item_context(db, question).current_stage or ""
        revision = question.latest_revision
        ai = draft_label(revision) if revision else None
        return [Delivery(blocks.review_request(question, label, tz, stage, people, ai), users=people)]
    if state == State.DRAFTING and last is not None and last.action == "send_back":
        return [Delivery(blocks.sent_back(question, label, tz, last.comment or "", last.user.name, people), users=people)]
    if state == State.DRAFTING and last is not None and last.action == "reopen":
        return [Delivery(blocks.reopened(question, label, tz, last.comment or "", people), users=people)]
    if state == State.APPROVED:
        return [Delivery(blocks.ready_to_finalize(question, label, tz, people), users=people)]
    if state == State.FINAL and question.responsible_department and question.responsible_department.channel:
        text = f"`{question.key}` の答弁が校了しました（{last.user.name if last else ''}）。"
        return [Delivery(blocks.info_message(text), channel=question.responsible_department.channel)]
    return []
