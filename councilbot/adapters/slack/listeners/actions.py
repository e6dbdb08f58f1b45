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
from councilbot.adapters.slack.dispatch import Runtime, reporting
from councilbot.adapters.slack.drafts import open_answer_modal, stream_draft
from councilbot.adapters.slack.idempotency import action_delivery, draft_delivery
from councilbot.adapters.slack.listeners.events import open_intake_modal
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


def register(app: App, rt: Runtime) -> None:
    tz = rt.settings.tz_name

    def transition(action_id: str, call: Callable[[Session, User, dict[str, Any]], ActionResult], what: str) -> None:
        """A one-click transition: approve, submit, finalize, assign to the suggested division."""

        @app.action(action_id)
        def handle(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            ack()
            value = clicked(body)
            channel, ts, _ = where(body)
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

    transition(
        blocks.APPROVE, lambda db, u, v: review.approve(db, u, v["key"], expected_version=v.get("version")), "承認"
    )
    transition(
        blocks.SUBMIT, lambda db, u, v: review.submit(db, u, v["key"], expected_version=v.get("version")), "確認依頼"
    )
    transition(
        blocks.FINALIZE,
        lambda db, u, v: review.finalize(db, rt.settings, u, v["key"], expected_version=v.get("version")),
        "校了",
    )
    transition(
        blocks.ASSIGN_CONFIRM,
        lambda db, u, v: assignment.assign(db, u, v["key"], v.get("department", ""), expected_version=v.get("version")),
        "担当決定",
    )

    @app.action(blocks.DRAFT)
    def draft(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
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

    @app.action(blocks.ANSWER_OPEN)
    def answer(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        channel, _, thread_ts = where(body)
        open_answer_modal(
            rt, client, body, clicked(body)["key"], reply=ephemeral(respond), channel=channel, thread_ts=thread_ts
        )

    def opens_form(action_id: str, build: Callable[[Session, Question, dict[str, Any]], dict[str, Any]]) -> None:
        """A button that opens a form about its question; ``build`` gets the question and where it was clicked."""

        @app.action(action_id)
        def handle(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
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

    # Send back, reopen and comment need a comment or a reason first.
    for action_id, kind in (
        (blocks.SEND_BACK_OPEN, "send_back"),
        (blocks.REOPEN_OPEN, "reopen"),
        (blocks.COMMENT_OPEN, "comment"),
    ):
        opens_form(
            action_id, lambda db, q, place, kind=kind: blocks.note_modal(kind, q, blocks.metadata(kind=kind, **place))
        )

    def owner_form(modal: Callable[[Question, list[str], list[str], dict[str, Any]], dict[str, Any]]):  # type: ignore[no-untyped-def]
        """The choice of division: another division than suggested, and 担当変更."""

        def build(db: Session, question: Question, place: dict[str, Any]) -> dict[str, Any]:
            divisions = [d.name for d in assignment.assignable_divisions(db)]
            meta = blocks.metadata(key=place["key"], version=place["version"], channel=place["channel"], ts=place["ts"])
            return modal(question, divisions, assignment.answerer_choices(db), meta)

        return build

    opens_form(
        blocks.ASSIGN_OPEN,
        owner_form(
            lambda question, divisions, answerers, meta: blocks.assign_modal(question, divisions, answerers, None, meta)
        ),
    )
    opens_form(blocks.REASSIGN_OPEN, owner_form(blocks.reassign_modal))

    @app.action(blocks.DIFF)
    def diff(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        key = clicked(body)["key"]
        with reporting(ephemeral(respond)):
            shown = rt.run(
                body["user"]["id"], lambda db, user: blocks.revision_diff(key, review.revision_diff(db, key))
            )
            respond(response_type="ephemeral", replace_original=False, **shown.payload())

    @app.action(blocks.INTAKE_COMPLETE)
    def intake_complete(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        source = clicked(body)
        open_intake_modal(rt, client, body, source.get("channel", ""), source.get("ts", ""), reply=ephemeral(respond))
