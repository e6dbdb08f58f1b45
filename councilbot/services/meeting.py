"""What the review meeting (答弁検討会) and the web view read: the agenda, one item's history, the books.

Read-only queries over the same records the chat and the command line change;
the actions themselves stay in ``review``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from councilbot.domain.rulecheck import speaking_seconds
from councilbot.domain.workflow import State, Transition
from councilbot.errors import CouncilbotError, InvalidInput
from councilbot.services import review
from councilbot.services.audit import record_audit
from councilbot.services.books import speaking_order_key
from councilbot.services.common import get_question, get_session, nfkc
from councilbot.services.prompt_files import load_prompts
from councilbot.services.search import SearchResult, find_similar
from councilbot.services.status import question_label
from councilbot.settings import Settings
from councilbot.storage.models import (
    AnswerRevision,
    CouncilSession,
    ExportRecord,
    Member,
    Question,
    QuestionLink,
    User,
)

SIMILAR_LIMIT = 5
# The web view's buttons; each is checked again by ``review`` when pressed.
WEB_ACTIONS = (Transition.APPROVE, Transition.SEND_BACK, Transition.FINALIZE)


@dataclass
class AgendaItem:
    question: Question
    label: str
    revision: AnswerRevision | None
    reading_seconds: int  # the current answer read aloud, at the rules' characters per minute


@dataclass
class AgendaMember:
    member: Member
    question_type: str
    items: list[AgendaItem] = field(default_factory=list)

    @property
    def reading_seconds(self) -> int:
        return sum(i.reading_seconds for i in self.items)


@dataclass
class Agenda:
    session: CouncilSession
    members: list[AgendaMember]
    department: str | None

    @property
    def reading_seconds(self) -> int:
        return sum(m.reading_seconds for m in self.members)


def meeting_agenda(
    db: Session, settings: Settings, session_name: str | None = None, *, department: str | None = None
) -> Agenda:
    """Members in speaking order, their items in 1-(2)-① order, with the current answer and its reading time."""
    session = get_session(db, session_name)
    rules = load_prompts(settings).rules
    wanted = nfkc(department) or None
    questions = [
        q
        for q in db.scalars(
            select(Question).where(Question.session_id == session.id, Question.status != State.WITHDRAWN)
        )
        if wanted is None or (q.responsible_department is not None and q.responsible_department.name == wanted)
    ]
    members: list[AgendaMember] = []
    for q in sorted(questions, key=speaking_order_key):
        if not members or (members[-1].member.id, members[-1].question_type) != (q.member_id, q.question_type):
            members.append(AgendaMember(q.member, q.question_type))
        revision = q.latest_revision
        seconds = speaking_seconds(revision.answer, rules) if revision else 0
        members[-1].items.append(AgendaItem(q, question_label(db, q), revision, seconds))
    return Agenda(session, members, wanted)


@dataclass
class RevisionChange:
    revision: AnswerRevision
    diff: str | None  # unified diff against the revision before it; None for the first


@dataclass
class QuestionHistory:
    question: Question
    label: str
    changes: list[RevisionChange]
    linked: list[tuple[Question, float]]  # likely duplicates in the session, either way round
    similar: list[SearchResult]
    actions: list[Transition]  # of WEB_ACTIONS, what the viewer may do now


def available_actions(db: Session, user: User, question: Question) -> list[Transition]:
    """The web actions the workflow and ``user``'s rights allow now (the same check as the action itself)."""
    allowed = []
    for name in WEB_ACTIONS:
        try:
            # A placeholder note: whether a comment is given is checked when the action is taken.
            review.check_action(db, user, question, name, note="-")
        except CouncilbotError:
            continue
        allowed.append(name)
    return allowed


def question_history(db: Session, settings: Settings, user: User, key: str) -> QuestionHistory:
    question = get_question(db, key)
    numbers = [r.number for r in question.revisions]
    changes = [
        RevisionChange(r, review.revision_diff(db, question.key, numbers[i - 1], r.number) if i else None)
        for i, r in enumerate(question.revisions)
    ]
    links = db.scalars(
        select(QuestionLink).where(or_(QuestionLink.question_id == question.id, QuestionLink.other_id == question.id))
    )
    linked = []
    for link in links:
        other = db.get(Question, link.other_id if link.question_id == question.id else link.question_id)
        if other is not None:
            linked.append((other, link.score))
    similar = find_similar(
        db, settings, f"{question.title}\n{question.body}", limit=SIMILAR_LIMIT, exclude_refs=[question.key]
    )
    return QuestionHistory(
        question, question_label(db, question), changes, linked, similar, available_actions(db, user, question)
    )


def list_exports(db: Session, session_name: str | None = None) -> list[ExportRecord]:
    """The books written so far, newest first (of one session when named)."""
    stmt = select(ExportRecord).order_by(ExportRecord.id.desc())
    if session_name:
        stmt = stmt.where(ExportRecord.session_id == get_session(db, session_name).id)
    return list(db.scalars(stmt))


def open_export(db: Session, settings: Settings, user: User, export_id: int) -> Path:
    """The file of a recorded book for ``user`` to download (audited: drafts in a 検討会 book are not public yet),
    refused unless it is still where it was written, inside EXPORT_DIR."""
    record = db.get(ExportRecord, export_id)
    if record is None:
        raise InvalidInput("指定の答弁書は記録にありません。")
    path = Path(record.path).resolve()
    if not path.is_file() or not path.is_relative_to(Path(settings.export_dir).resolve()):
        raise InvalidInput(
            "この答弁書のファイルは出力先フォルダにありません（移動または削除された可能性があります）。総務課に再出力を依頼してください。"
        )
    record_audit(db, user.chat_id, "book.download", record.variant, export_id=record.id, sha256=record.sha256)
    return path


def sessions(db: Session) -> list[CouncilSession]:
    return list(
        db.scalars(select(CouncilSession).order_by(CouncilSession.opens.desc().nulls_last(), CouncilSession.id.desc()))
    )
