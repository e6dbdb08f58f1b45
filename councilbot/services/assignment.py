"""Assignment (担当決定): General Affairs sets the responsible division and answerer.

Suggestions come from routing (similar past answers and duties); the decision is
a person's. Reassignment needs a note, which travels with the item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain.chains import EXECUTIVES, chain_for
from councilbot.domain.workflow import Transition
from councilbot.errors import InvalidInput
from councilbot.services.common import configured_chains, get_department, get_question, nfkc
from councilbot.services.review import ActionResult, _act
from councilbot.settings import Settings
from councilbot.storage.models import Department, Question, User

if TYPE_CHECKING:
    from councilbot.services.routing import RouteSuggestion


def default_answerer(department: Department) -> str:
    """A division's answers are given by the head of its 部 (総務課 → 総務部長)."""
    head = department.parent or department
    return f"{head.name}長" if head.name.endswith("部") else "市長"


def assignable_divisions(db: Session) -> list[Department]:
    """The divisions (課) that can own an answer: those under a 部 with none below them."""
    return [
        d for d in db.scalars(select(Department).order_by(Department.id)) if not d.children and d.parent is not None
    ]


def answerer_choices(db: Session) -> list[str]:
    """Who may be named as answerer: the executives and the head of each division's 部."""
    return list(dict.fromkeys([*EXECUTIVES, *(default_answerer(d) for d in assignable_divisions(db))]))


def suggest(db: Session, settings: Settings, key: str, *, limit: int = 3) -> list[RouteSuggestion]:
    from councilbot.services.routing import route_question

    question = get_question(db, key)
    return route_question(db, settings, f"{question.title}\n{question.body}", limit=limit)


def _set_owner(
    db: Session, question: Question, department_name: str, answerer: str | None, related: Sequence[str]
) -> None:
    department = get_department(db, department_name)
    if department.children:
        raise InvalidInput(f"「{department.name}」は部です。担当は課を指定してください。")
    chosen = nfkc(answerer) if answerer else default_answerer(department)
    chain_for(chosen, configured_chains(db))  # refuse an answerer with no chain before writing
    question.responsible_department = department
    question.answerer = chosen
    question.related_departments = [get_department(db, name) for name in related if nfkc(name) != department.name]


def assign(
    db: Session,
    user: User,
    key: str,
    department: str,
    *,
    answerer: str | None = None,
    related: Sequence[str] = (),
    expected_version: int | None = None,
) -> ActionResult:
    result = _act(db, user, key, Transition.ASSIGN, expected_version=expected_version)
    _set_owner(db, result.question, department, answerer, related)
    db.flush()
    return result


def reassign(
    db: Session,
    user: User,
    key: str,
    department: str,
    *,
    note: str,
    answerer: str | None = None,
    related: Sequence[str] = (),
    expected_version: int | None = None,
) -> ActionResult:
    result = _act(db, user, key, Transition.REASSIGN, expected_version=expected_version, note=note)
    _set_owner(db, result.question, department, answerer, related)
    db.flush()
    return result
