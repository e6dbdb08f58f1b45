"""Progress on an answer commitment, from chat: the 進捗を更新 button and its modal.

The button opens the modal at once (the trigger_id is fresh); the submission calls
``services.commitments.update_status`` as the submitting user before the
acknowledgement, so that a refusal is shown in the modal itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from councilbot.adapters.slack import commitments as views
from councilbot.adapters.slack.dispatch import UNEXPECTED, AlreadyHandled, Runtime, reporting, with_runtime
from councilbot.adapters.slack.idempotency import view_delivery
from councilbot.adapters.slack.listeners.replies import ephemeral
from councilbot.errors import CouncilbotError, InvalidInput
from councilbot.services.commitments import get_commitment, update_status
from councilbot.storage.models import User

log = logging.getLogger(__name__)


def _commitment_id(raw: str | None) -> int:
    try:
        return int(json.loads(raw or "{}")["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            "約束の番号を読み取れませんでした。台帳（councilbot commitments）から更新してください。"
        ) from exc


def register(app: App, rt: Runtime) -> None:
    app.action(views.STATUS_OPEN)(with_runtime(rt, open_status))
    app.view(views.STATUS_VIEW)(with_runtime(rt, submit_status))


def open_status(rt: Runtime, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    ack()
    with reporting(ephemeral(respond)):

        def work(db: Session, user: User) -> dict[str, Any]:
            commitment = get_commitment(db, _commitment_id((body.get("actions") or [{}])[0].get("value")))
            meta = json.dumps({"id": commitment.id})
            return views.status_modal(commitment.id, commitment.statement, commitment.status, meta)

        client.views_open(trigger_id=body["trigger_id"], view=rt.run(body["user"]["id"], work))


def submit_status(rt: Runtime, ack: Ack, body: dict[str, Any]) -> None:
    values = body["view"]["state"]["values"]
    status = ((values.get(views.STATUS_BLOCK) or {}).get("value") or {}).get("selected_option") or {}
    note = ((values.get(views.NOTE_BLOCK) or {}).get("value") or {}).get("value") or ""

    def work(db: Session, user: User) -> None:
        update_status(db, user, _commitment_id(body["view"].get("private_metadata")), status.get("value", ""), note)

    try:
        rt.run(body["user"]["id"], work, delivery=view_delivery(body))
    except AlreadyHandled:
        pass
    except CouncilbotError as exc:
        ack(response_action="errors", errors={views.NOTE_BLOCK: exc.message})
        return
    except Exception:
        log.exception("commitment status update failed")
        ack(response_action="errors", errors={views.NOTE_BLOCK: UNEXPECTED})
        return
    ack()
