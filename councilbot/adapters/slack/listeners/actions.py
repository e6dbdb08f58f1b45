"""Button clicks. Each reads the key and the version the user saw from the button,
calls one service as the clicking user (who may not be the one it was meant for:
the service checks), replaces the clicked message's buttons with what was done,
and tells the next people. Modal-opening buttons open their modal at once,
while the trigger_id is fresh. 変更点 only reads: it answers the one who
clicked, in the channel where they clicked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from councilbot.adapters.slack import blocks
from councilbot.adapters.slack.announce import announce
from councilbot.adapters.slack.dispatch import Runtime, reporting, with_runtime
from councilbot.adapters.slack.drafts import open_answer_modal, stream_draft
from councilbot.adapters.slack.idempotency import action_delivery, draft_delivery
from councilbot.adapters.slack.intake import open_intake_modal
from councilbot.adapters.slack.listeners.replies import ephemeral
from councilbot.services import assignment, review
from councilbot.services.common import get_question
from councilbot.services.review import ActionResult
from councilbot.services.status import question_label
from councilbot.storage.models import Question, User


def clicked(body: dict[str, Any]) -> dict[str, Any]:
    return blocks.parse_value((body.get("actions") or [{}])[0].get("value"))


def where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, message ts, thread ts) of the message that holds the button."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts")
    message = body.get("message") or {}
    return channel, ts, message.get("thread_ts") or ts


OneClick = Callable[[Session, User, dict[str, Any]], ActionResult]
FormBuilder = Callable[[Session, Question, dict[str, Any]], dict[str, Any]]


def register(app: App, rt: Runtime) -> None:
    for action_id, listener in (
        (blocks.APPROVE, approve),
        (blocks.SUBMIT, submit),
        (blocks.FINALIZE, finalize),
        (blocks.ASSIGN_CONFIRM, assign_suggested),
        (blocks.DRAFT, draft),
        (blocks.ANSWER_OPEN, open_answer),
        (blocks.SEND_BACK_OPEN, open_send_back),
        (blocks.REOPEN_OPEN, open_reopen),
        (blocks.COMMENT_OPEN, open_comment),
        (blocks.ASSIGN_OPEN, open_assign),
        (blocks.REASSIGN_OPEN, open_reassign),
        (blocks.DIFF, diff),
        (blocks.INTAKE_COMPLETE, complete_intake),
    ):
        app.action(action_id)(with_runtime(rt, listener))


def approve(rt: Runtime, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    _one_click(
        rt,
        ack,
        body,
        respond,
        "承認",
        lambda db, u, v: review.approve(db, u, v["key"], expected_version=v.get("version")),
    )


def submit(rt: Runtime, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    _one_click(
        rt,
        ack,
        body,
        respond,
        "確認依頼",
        lambda db, u, v: review.submit(db, u, v["key"], expected_version=v.get("version")),
    )


def finalize(rt: Runtime, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    _one_click(
        rt,
        ack,
        body,
        respond,
        "校了",
        lambda db, u, v: review.finalize(db, rt.settings, u, v["key"], expected_version=v.get("version")),
    )


def assign_suggested(rt: Runtime, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    _one_click(
        rt,
        ack,
        body,
        respond,
        "担当決定",
        lambda db, u, v: assignment.assign(db, u, v["key"], v.get("department", ""), expected_version=v.get("version")),
    )


def _one_click(rt: Runtime, ack: Ack, body: dict[str, Any], respond: Respond, what: str, call: OneClick) -> None:
    """A one-click transition: approve, submit, finalize, assign to the suggested division."""
    ack()
    value = clicked(body)
    channel, ts, _ = where(body)
    tz = rt.settings.tz_name
    with reporting(ephemeral(respond)):

        def work(db: Session, user: User) -> blocks.SlackMessage:
            result = call(db, user, value)
            if result.step.transition.name == "finalize":
                return blocks.finalized(result.question, question_label(db, result.question), tz)
            return blocks.stamped(result, what, tz)

        done = rt.run(body["user"]["id"], work, delivery=action_delivery(body))
        acted_in = (channel, ts) if channel and ts else None
        if acted_in:
            rt.notifier.update(*acted_in, done)
        announce(rt, value["key"], acted_in=acted_in)


def draft(rt: Runtime, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    value = clicked(body)
    channel, _, thread_ts = where(body)
    stream_draft(
        rt,
        body["user"]["id"],
        value["key"],
        delivery=draft_delivery(value["key"], value.get("version")),
        expected_version=value.get("version"),
        reply=ephemeral(respond),
        channel=channel,
        thread_ts=thread_ts,
    )


def open_answer(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    ack()
    channel, _, thread_ts = where(body)
    open_answer_modal(
        rt, client, body, clicked(body)["key"], reply=ephemeral(respond), channel=channel, thread_ts=thread_ts
    )


# Send back, reopen and comment need a comment or a reason first.
def open_send_back(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    _open_form(rt, ack, body, client, respond, _note_form("send_back"))


def open_reopen(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    _open_form(rt, ack, body, client, respond, _note_form("reopen"))


def open_comment(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    _open_form(rt, ack, body, client, respond, _note_form("comment"))


def _note_form(kind: str) -> FormBuilder:
    return lambda db, question, place: blocks.note_modal(kind, question, blocks.metadata(kind=kind, **place))


# The choice of division: another division than suggested, and 担当変更.
def open_assign(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    suggested = clicked(body).get("department")  # the card's best candidate, if it had one

    def build(db: Session, question: Question, place: dict[str, Any]) -> dict[str, Any]:
        divisions, answerers, meta = _owner_choices(db, place)
        preset = suggested if suggested in divisions else None  # the value comes from the client: checked
        return blocks.assign_modal(question, divisions, answerers, preset, meta)

    _open_form(rt, ack, body, client, respond, build)


def open_reassign(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    def build(db: Session, question: Question, place: dict[str, Any]) -> dict[str, Any]:
        divisions, answerers, meta = _owner_choices(db, place)
        return blocks.reassign_modal(question, divisions, answerers, meta)

    _open_form(rt, ack, body, client, respond, build)


def _owner_choices(db: Session, place: dict[str, Any]) -> tuple[list[str], list[str], str]:
    divisions = [d.name for d in assignment.assignable_divisions(db)]
    meta = blocks.metadata(key=place["key"], version=place["version"], channel=place["channel"], ts=place["ts"])
    return divisions, assignment.answerer_choices(db), meta


def _open_form(
    rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, build: FormBuilder
) -> None:
    """A button that opens a form about its question; ``build`` gets the question and where it was clicked."""
    ack()
    value = clicked(body)
    channel, ts, thread_ts = where(body)
    with reporting(ephemeral(respond)):

        def work(db: Session, user: User) -> dict[str, Any]:
            question = get_question(db, value["key"])
            place = {
                "key": question.key,
                "version": value.get("version"),
                "channel": channel,
                "ts": ts,
                "thread_ts": thread_ts,
            }
            return build(db, question, place)

        client.views_open(trigger_id=body["trigger_id"], view=rt.run(body["user"]["id"], work))


def diff(rt: Runtime, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    key = clicked(body)["key"]
    with reporting(ephemeral(respond)):
        shown = rt.run(body["user"]["id"], lambda db, user: blocks.revision_diff(key, review.revision_diff(db, key)))
        respond(response_type="ephemeral", replace_original=False, **shown.payload())


def complete_intake(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    ack()
    source = clicked(body)
    open_intake_modal(rt, client, body, source.get("channel", ""), source.get("ts", ""), reply=ephemeral(respond))
