"""Where the cards about a question were posted (CardCopy), so that every copy follows the item.

A card goes to several people at once; once one of them acts, the others' copies
must stop offering the old buttons. The chat adapter records each copy it posts
and, when the item moves, takes the earlier copies to update them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.services.common import get_question
from councilbot.storage.models import CardCopy


def record_copies(db: Session, key: str, places: Iterable[tuple[str, str]]) -> None:
    question = get_question(db, key)
    for channel, ts in dict.fromkeys(places):
        db.add(CardCopy(question_id=question.id, channel=channel, ts=ts))
    db.flush()


def take_earlier_copies(db: Session, key: str, *, acted_in: tuple[str, str] | None = None) -> list[tuple[str, str]]:
    """The copies still showing buttons, now marked settled; ``acted_in`` (already replaced by its handler) is only marked."""
    question = get_question(db, key)
    copies = db.scalars(
        select(CardCopy).where(CardCopy.question_id == question.id, CardCopy.settled.is_(False)).order_by(CardCopy.id)
    ).all()
    for copy in copies:
        copy.settled = True
    db.flush()
    return [(c.channel, c.ts) for c in copies if (c.channel, c.ts) != acted_in]
