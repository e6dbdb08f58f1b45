"""Modal submissions: the question, the assignment and its change, the answer,
and notes (send-back comment, reopen reason, comment).

The service runs before the acknowledgement, so that a refusal can be shown
in the modal itself (``response_action="errors"``, in Japanese, under the
field it concerns) and the modal stays open; on success the modal closes and
the result is posted where the person was working.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, App
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.announce import announce
from councilbot.adapters.slack.dispatch import UNEXPECTED, AlreadyHandled, Runtime, reporting, with_runtime
from councilbot.adapters.slack.idempotency import view_delivery
from councilbot.adapters.slack.intake import confirm_registration, source_ref
from councilbot.adapters.slack.listeners.replies import to_user
from councilbot.domain.japanese import nfkc
from councilbot.errors import CouncilbotError
from councilbot.services import assignment, intake, review
from councilbot.services.common import get_question
from councilbot.services.copies import record_copies
from councilbot.services.notifications import Handover, handover
from councilbot.storage.db import session_scope
from councilbot.storage.models import User

log = logging.getLogger(__name__)

T = TypeVar("T")

# The question modal's block for each field of ``intake.QuestionInput`` a refusal may name.
QUESTION_FIELD_BLOCKS = {
    "seat": "seat",
    "session_name": "session",
    "item_no": "item_no",
    "title": "title",
    "question_type": "question_type",
    "body": f"{blocks.QUESTION_BODY}_0",
}


def question_error_block(error: CouncilbotError | None) -> str:
    """Under the field the refusal names; under the question's text otherwise."""
    field = error.field if error is not None else None
    return QUESTION_FIELD_BLOCKS.get(field or "body", QUESTION_FIELD_BLOCKS["body"])


def reassignment_error_block(error: CouncilbotError | None) -> str:
    return blocks.NOTE_BLOCK if error is not None and error.field == "note" else blocks.DEPARTMENT_BLOCK


def _values(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = body["view"]["state"]["values"]
    return values


def _text(body: dict[str, Any], block_id: str) -> str:
    return ((_values(body).get(block_id) or {}).get("value") or {}).get("value") or ""


def _selected(body: dict[str, Any], block_id: str) -> list[str]:
    element = (_values(body).get(block_id) or {}).get("value") or {}
    chosen = element.get("selected_options") or ([element["selected_option"]] if element.get("selected_option") else [])
    return [o["value"] for o in chosen]


def _acted_in(meta: dict[str, Any]) -> tuple[str, str] | None:
    """The message whose button opened the modal, which the outcome replaces."""
    return (meta["channel"], meta["ts"]) if meta.get("channel") and meta.get("ts") else None


def register(app: App, rt: Runtime) -> None:
    for callback_id, listener in (
        (blocks.QUESTION_VIEW, submit_question),
        (blocks.ASSIGN_VIEW, submit_assignment),
        (blocks.REASSIGN_VIEW, submit_reassignment),
        (blocks.ANSWER_VIEW, submit_answer),
        (blocks.NOTE_VIEW, submit_note),
    ):
        app.view(callback_id)(with_runtime(rt, listener))


def _attempt(
    rt: Runtime,
    ack: Ack,
    body: dict[str, Any],
    work: Callable[[Session, User], T],
    error_block: Callable[[CouncilbotError | None], str],
) -> T | None:
    """Run ``work``; on refusal show the reason in the modal, under ``error_block``, and return None."""
    try:
        return rt.run(body["user"]["id"], work, delivery=view_delivery(body))
    except AlreadyHandled:
        ack()
    except CouncilbotError as exc:
        ack(response_action="errors", errors={error_block(exc): exc.message})
    except Exception:
        log.exception("modal submission failed")
        ack(response_action="errors", errors={error_block(None): UNEXPECTED})
    return None


def submit_question(rt: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    meta = blocks.parse_value(body["view"].get("private_metadata"))
    seat = nfkc(_text(body, "seat")).removesuffix("番")
    if not seat.isdigit():
        ack(response_action="errors", errors={"seat": "議席番号は数字で入力してください（例: 16）。"})
        return
    channel, ts = meta.get("channel"), meta.get("ts")
    data = intake.QuestionInput(
        session_name=_text(body, "session").strip() or None,
        seat=int(seat),
        question_type=(_selected(body, "question_type") or [""])[0],
        item_no=_text(body, "item_no"),
        title=_text(body, "title"),
        body=blocks.joined_input(_values(body), blocks.QUESTION_BODY),
        source_ref=source_ref(channel, ts) if channel and ts else None,
    )

    def work(db: Session, user: User) -> tuple[blocks.SlackMessage, str | None]:
        result = intake.register_question(db, user, data)
        message = blocks.intake_record(result.question, result.duplicates, created=result.created)
        return message, result.question.key if result.created else None

    outcome = _attempt(rt, ack, body, work, question_error_block)
    if outcome is None:
        return
    ack()
    user_id = body["user"]["id"]
    with reporting(to_user(rt.notifier, user_id)):
        # In the thread of the message it was made from; else in the intake channel.
        if channel and ts:
            confirm_registration(rt, user_id, outcome, channel=channel, thread_ts=ts)
        else:
            confirm_registration(rt, user_id, outcome, channel=rt.settings.slack_intake_channel)


def submit_assignment(rt: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    meta = blocks.parse_value(body["view"].get("private_metadata"))
    department = (_selected(body, blocks.DEPARTMENT_BLOCK) or [""])[0]
    answerer = next(iter(_selected(body, blocks.ANSWERER_BLOCK)), None)

    def work(db: Session, user: User) -> blocks.SlackMessage:
        result = assignment.assign(
            db,
            user,
            meta["key"],
            department,
            answerer=answerer,
            related=_selected(body, blocks.RELATED_BLOCK),
            expected_version=meta.get("version"),
        )
        return blocks.stamped(result, f"{department}の担当に決定", rt.settings.tz_name)

    done = _attempt(rt, ack, body, work, lambda _error: blocks.DEPARTMENT_BLOCK)
    if done is None:
        return
    ack()
    with reporting(to_user(rt.notifier, body["user"]["id"])):
        acted_in = _acted_in(meta)
        if acted_in:
            rt.notifier.update(*acted_in, done)
        announce(rt, meta["key"], acted_in=acted_in)


def submit_reassignment(rt: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    meta = blocks.parse_value(body["view"].get("private_metadata"))
    department = (_selected(body, blocks.DEPARTMENT_BLOCK) or [""])[0]

    def work(db: Session, user: User) -> tuple[blocks.SlackMessage, Handover | None]:
        previous = handover(db, get_question(db, meta["key"]))
        result = assignment.reassign(
            db,
            user,
            meta["key"],
            department,
            note=_text(body, blocks.NOTE_BLOCK),
            answerer=next(iter(_selected(body, blocks.ANSWERER_BLOCK)), None),
            related=_selected(body, blocks.RELATED_BLOCK),
            expected_version=meta.get("version"),
        )
        return blocks.stamped(result, f"{department}に担当変更", rt.settings.tz_name), previous

    outcome = _attempt(rt, ack, body, work, reassignment_error_block)
    if outcome is None:
        return
    ack()
    done, previous = outcome
    with reporting(to_user(rt.notifier, body["user"]["id"])):
        acted_in = _acted_in(meta)
        if acted_in:
            rt.notifier.update(*acted_in, done)
        announce(rt, meta["key"], previous=previous, acted_in=acted_in)


def submit_answer(rt: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    meta = blocks.parse_value(body["view"].get("private_metadata"))
    values = _values(body)
    submit = bool(_selected(body, blocks.SUBMIT_BLOCK))

    def work(db: Session, user: User) -> blocks.SlackMessage:
        save = review.submit_answer if submit else review.save_revision
        save(
            db,
            user,
            meta["key"],
            answer=blocks.joined_input(values, blocks.ANSWER_BLOCK),
            back_data=blocks.joined_input(values, blocks.BACK_DATA_BLOCK),
            expected_version=meta.get("version"),
        )
        return blocks.answer_saved(get_question(db, meta["key"]), submit)

    saved = _attempt(rt, ack, body, work, lambda _error: f"{blocks.ANSWER_BLOCK}_0")
    if saved is None:
        return
    ack()
    user_id = body["user"]["id"]
    with reporting(to_user(rt.notifier, user_id)):
        if meta.get("channel"):
            place = (
                meta["channel"],
                rt.notifier.post_to_channel(meta["channel"], saved, thread_ts=meta.get("thread_ts")),
            )
        else:
            place = rt.notifier.post_to_user(user_id, saved)
        if submit:
            announce(rt, meta["key"])
        else:  # 確認依頼 and 編集 buttons: settled once the item moves on
            with session_scope(rt.settings) as db:
                record_copies(db, meta["key"], [place])


def submit_note(rt: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    meta = blocks.parse_value(body["view"].get("private_metadata"))
    kind, key, note = meta.get("kind"), meta.get("key", ""), _text(body, blocks.NOTE_BLOCK)

    def work(db: Session, user: User) -> blocks.SlackMessage:
        if kind == "send_back":
            return blocks.stamped(
                review.send_back(db, user, key, comment=note, expected_version=meta.get("version")),
                "差戻し",
                rt.settings.tz_name,
            )
        if kind == "reopen":
            return blocks.stamped(
                review.reopen(db, rt.settings, user, key, reason=note, expected_version=meta.get("version")),
                "校了解除",
                rt.settings.tz_name,
            )
        return blocks.comment_posted(review.add_comment(db, user, key, note), key, rt.settings.tz_name)

    message = _attempt(rt, ack, body, work, lambda _error: blocks.NOTE_BLOCK)
    if message is None:
        return
    ack()
    with reporting(to_user(rt.notifier, body["user"]["id"])):
        if kind == "comment":
            if meta.get("channel"):
                rt.notifier.post_to_channel(meta["channel"], message, thread_ts=meta.get("thread_ts"))
            else:
                rt.notifier.post_to_user(body["user"]["id"], message)
            return
        acted_in = _acted_in(meta)
        if acted_in:
            rt.notifier.update(*acted_in, message)
        announce(rt, key, acted_in=acted_in)
