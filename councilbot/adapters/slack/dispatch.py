"""From a Slack request to one unit of work: who acts, once, in one transaction.

``Runtime.run`` maps the Slack user to a ``User`` (refusing unknown people),
claims the delivery so that a retried or duplicated request does nothing, and
runs the work in a transaction that commits only when it succeeds.
``reporting`` turns whatever goes wrong into a Japanese message for the user:
a ``CouncilbotError`` as its own sentence, a ``NotificationFailed`` as "saved,
but tell them yourself", anything else as a plain apology (the details go to
the log, never to the chat).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from councilbot.adapters.slack.idempotency import claim
from councilbot.adapters.slack.notifier import ChatNotifier
from councilbot.errors import CouncilbotError
from councilbot.services.common import get_user
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import User

log = logging.getLogger(__name__)

T = TypeVar("T")

UNEXPECTED = "処理中に問題が発生したため、操作を完了できませんでした。時間をおいてもう一度お試しください。解決しない場合はシステム管理者に連絡してください。"
SLACK_FAILED = "Slack への送信に失敗しました。時間をおいてもう一度お試しください。"


class AlreadyHandled(Exception):
    """This delivery was handled before (a retry or a double submission)."""


class NotificationFailed(Exception):
    """The action was saved, but Slack refused to deliver the follow-up to the next people.

    Not a ``CouncilbotError``: those mean nothing changed. ``message`` says that
    it did, and whom the user should contact.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Runtime:
    settings: Settings
    notifier: ChatNotifier

    def run(self, slack_user: str, work: Callable[[Session, User], T], *, delivery: str | None = None) -> T:
        with session_scope(self.settings) as db:
            if delivery is not None and not claim(db, delivery):
                raise AlreadyHandled(delivery)
            return work(db, get_user(db, slack_user))


def with_runtime(rt: Runtime, listener: Callable[..., Any]) -> Callable[..., Any]:
    """A module-level listener ``f(rt, ack, body, …)`` as bolt calls it: bolt reads the remaining
    parameter names to inject the request's parts."""
    return functools.partial(listener, rt)


@contextmanager
def reporting(reply: Callable[[str], object]) -> Iterator[None]:
    """Tell the user, in Japanese, why an action did not happen."""
    try:
        yield
    except AlreadyHandled as dup:
        log.info("duplicate delivery ignored: %s", dup)
    except (CouncilbotError, NotificationFailed) as exc:
        _safely(reply, exc.message)
    except SlackApiError as exc:
        log.exception("Slack API call failed: %s", exc.response.get("error"))
        _safely(reply, SLACK_FAILED)
    except Exception:
        log.exception("unexpected error while handling a Slack request")
        _safely(reply, UNEXPECTED)


def _safely(reply: Callable[[str], object], text: str) -> None:
    try:
        reply(text)
    except Exception:
        log.exception("could not tell the user about an error")
