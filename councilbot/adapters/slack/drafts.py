"""Drafting in chat: a draft written into a message while the model writes it, and the answer
modal (or, for those who may not edit the answer, the item to read).

Used by the draft button and by ``/council draft KEY``. The right to draft is
checked (and the delivery claimed) before anything is posted; then one message
is posted and updated as text arrives — at most once a second, within Slack's
rate limits — and finally replaced by the draft with its rule findings and
citations, or by a Japanese explanation of why there is none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.dispatch import Runtime, reporting
from councilbot.adapters.slack.idempotency import release
from councilbot.errors import InvalidTransition, PermissionDenied
from councilbot.services.common import get_question
from councilbot.services.copies import record_copies
from councilbot.services.drafting import check_may_draft, draft_label, draft_question
from councilbot.services.status import question_label
from councilbot.storage.db import session_scope
from councilbot.storage.models import User

log = logging.getLogger(__name__)

UPDATE_INTERVAL = 1.0  # seconds between progress updates of one message


class ThrottledProgress:
    """``on_delta`` for the drafting service: update the message now and then, never fail the draft."""

    def __init__(self, update: Callable[[str], None], interval: float = UPDATE_INTERVAL) -> None:
        self._update = update
        self._interval = interval
        self._last = time.monotonic()

    def __call__(self, text_so_far: str) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        try:
            self._update(text_so_far)
        except Exception:
            log.warning("progress update failed; the draft goes on", exc_info=True)


def stream_draft(
    rt: Runtime,
    user_id: str,
    key: str,
    *,
    delivery: str,
    reply: Callable[[str], object],
    expected_version: int | None = None,
    channel: str | None = None,
    thread_ts: str | None = None,
    on_started: Callable[[str], object] | None = None,
) -> None:
    """Draft ``key`` for ``user_id``; post in ``channel`` (default: the division's channel, else a DM).

    ``delivery`` is claimed once the right to draft is checked, so a second click on the same
    button starts nothing; ``expected_version`` (the version on the button) refuses a stale one.
    """
    started = _start(
        rt,
        user_id,
        key,
        delivery=delivery,
        reply=reply,
        expected_version=expected_version,
        channel=channel,
        thread_ts=thread_ts,
    )
    if started is None:
        return
    canonical, target, ts = started
    if on_started is not None:
        on_started(target)
    with (
        reporting(lambda text: rt.notifier.update(target, ts, blocks.error_message(text))),
        _released_on_failure(rt, delivery),
    ):
        progress = ThrottledProgress(
            lambda text: rt.notifier.update(target, ts, blocks.draft_progress(canonical, text))
        )

        def work(db: Session, user: User) -> blocks.SlackMessage:
            outcome = draft_question(
                db, rt.settings, canonical, actor=user, on_delta=progress, expected_version=expected_version
            )
            record_copies(db, canonical, [(target, ts)])  # its buttons go once the item moves on
            return blocks.draft_result(get_question(db, canonical), outcome)

        rt.notifier.update(target, ts, rt.run(user_id, work))


def _start(
    rt: Runtime,
    user_id: str,
    key: str,
    *,
    delivery: str,
    reply: Callable[[str], object],
    expected_version: int | None,
    channel: str | None,
    thread_ts: str | None,
) -> tuple[str, str, str] | None:
    """Check the right to draft, claim the delivery and post the message to be updated: (key, channel, ts), or None."""
    with reporting(reply):

        def check(db: Session, user: User) -> tuple[str, str | None]:
            question = get_question(db, key)
            check_may_draft(db, user, question, expected_version=expected_version)
            dept = question.responsible_department
            return question.key, dept.channel if dept else None

        canonical, division_channel = rt.run(user_id, check, delivery=delivery)
        with _released_on_failure(rt, delivery):
            target = channel or division_channel or rt.notifier.dm_channel(user_id)
            ts = rt.notifier.post_to_channel(target, blocks.draft_progress(canonical, ""), thread_ts=thread_ts)
        return canonical, target, ts
    return None


@contextmanager
def _released_on_failure(rt: Runtime, delivery: str) -> Iterator[None]:
    """The claim was committed before the draft: a draft that fails gives it back, so the same button works again."""
    try:
        yield
    except BaseException:
        with session_scope(rt.settings) as db:
            release(db, delivery)
        raise


def open_answer_modal(
    rt: Runtime,
    client: WebClient,
    body: dict[str, Any],
    key: str,
    *,
    reply: Callable[[str], object],
    channel: str | None = None,
    thread_ts: str | None = None,
) -> None:
    """The answer modal, prefilled with the latest revision, for someone who may write it now;
    for anyone else the whole item to read (reading is open to all staff), saying why it cannot be edited."""
    user_id = body.get("user_id") or body["user"]["id"]
    with reporting(reply):

        def work(db: Session, user: User) -> dict[str, Any]:
            question = get_question(db, key)
            try:
                check_may_draft(db, user, question)
            except (PermissionDenied, InvalidTransition) as refusal:
                revision = question.latest_revision
                ai_label = draft_label(revision) if revision else None
                return blocks.answer_view(
                    question, question_label(db, question), rt.settings.tz_name, refusal.message, ai_label
                )
            meta = blocks.metadata(key=question.key, version=question.version, channel=channel, thread_ts=thread_ts)
            return blocks.answer_modal(question, meta)

        client.views_open(trigger_id=body["trigger_id"], view=rt.run(user_id, work))
