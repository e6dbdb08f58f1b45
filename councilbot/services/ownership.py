"""The owner of an item from one request that may be a first assignment or a change.

A note makes it a reassignment (担当変更, which needs one); without a note it is the
first assignment, which ``assignment.assign`` refuses once an owner is set, asking
for the note.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from councilbot.services import assignment
from councilbot.services.review import ActionResult
from councilbot.storage.models import User


def assign_or_reassign(
    db: Session,
    user: User,
    key: str,
    department: str,
    *,
    note: str | None = None,
    answerer: str | None = None,
    related: Sequence[str] = (),
) -> ActionResult:
    if note:
        return assignment.reassign(db, user, key, department, note=note, answerer=answerer, related=related)
    return assignment.assign(db, user, key, department, answerer=answerer, related=related)
