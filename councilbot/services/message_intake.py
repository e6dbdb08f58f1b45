"""A chat message as a question item: registered when it reads completely, returned as read otherwise.

The message is the question's source (``source_ref``), so taking in the same
message twice gives the same item.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from councilbot.domain.intake_parse import ParsedQuestion, parse_question_message
from councilbot.services.intake import IntakeResult, QuestionInput, known_members, register_question
from councilbot.storage.models import User


@dataclass(frozen=True)
class MessageIntake:
    parsed: ParsedQuestion
    registered: IntakeResult | None  # None: the message lacks what ``parsed.missing`` names


def read_question(db: Session, text: str) -> ParsedQuestion:
    """What a message says of a question, with the members it may name."""
    return parse_question_message(text, known_members(db))


def take_in_message(db: Session, user: User, text: str, source_ref: str) -> MessageIntake:
    parsed = read_question(db, text)
    if parsed.missing:
        return MessageIntake(parsed, None)
    return MessageIntake(parsed, register_question(db, user, question_input(parsed, source_ref)))


def question_input(p: ParsedQuestion, source_ref: str | None) -> QuestionInput:
    return QuestionInput(
        session_name=p.session_name,
        seat=p.seat,
        member_name=p.member_name,
        question_type=p.question_type or "",
        item_no=p.item_no or "",
        title=p.title or "",
        body=p.body or "",
        source_ref=source_ref,
    )
