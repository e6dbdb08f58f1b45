"""Intake (質問取り): a question item enters once and is visible office-wide at once.

Items come from a chat message, a form, or a whole notice (通告書). Each gets a
short stable key; a delivery seen before (same ``source_ref``) returns the item
already made instead of a second one; likely duplicates from other members in
the same session are linked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from councilbot.domain.intake_parse import QUESTION_TYPES, KnownMember
from councilbot.domain.japanese import nfkc
from councilbot.domain.numbering import ItemNumber
from councilbot.domain.workflow import OPEN_STATES, State
from councilbot.errors import CouncilbotError, InvalidInput, NotFound, concerning
from councilbot.services.audit import record_audit
from councilbot.services.common import get_council_session
from councilbot.services.context import current_context
from councilbot.storage.db import savepoint, supports_savepoint
from councilbot.storage.models import CouncilSession, Member, Question, QuestionLink, User

MAX_TITLE = 200
MAX_BODY = 4000
# text_similarity above this marks another member's item as a likely duplicate.
DUPLICATE_THRESHOLD = 0.35


@dataclass
class QuestionInput:
    """What a person (or a notice) says about one question item."""

    session_name: str | None
    seat: int | None
    question_type: str
    item_no: str
    title: str
    body: str
    member_name: str | None = None
    parent_titles: str = ""
    speaking_order: int | None = None
    source_ref: str | None = None  # chat message or file+line: makes intake idempotent


@dataclass
class IntakeResult:
    question: Question
    created: bool
    duplicates: list[tuple[Question, float]] = field(default_factory=list)


def known_members(db: Session) -> list[KnownMember]:
    return [KnownMember(m.seat, m.name, m.faction) for m in db.scalars(select(Member).where(Member.active.is_(True)))]


def _member(db: Session, seat: int | None, name: str | None) -> Member:
    if seat is not None:
        member = db.scalar(select(Member).where(Member.seat == seat))
        if member is None:
            raise NotFound(f"{seat}番の議員は登録されていません。議席番号を確かめてください。")
        if name and nfkc(name).replace(" ", "") not in member.name.replace(" ", ""):
            raise InvalidInput(f"{seat}番は{member.name}議員です。議員名「{name}」と一致しません。")
        return member
    if name:
        wanted = nfkc(name).replace(" ", "").removesuffix("議員")
        matches = [m for m in db.scalars(select(Member)) if m.name.replace(" ", "") == wanted]
        if len(matches) == 1:
            return matches[0]
    raise NotFound("質問した議員が特定できません。議席番号（例: 16番）を指定してください。")


def _validate(data: QuestionInput) -> tuple[str, ItemNumber, str, str]:
    qtype = nfkc(data.question_type)
    if qtype not in QUESTION_TYPES:
        raise InvalidInput(f"質問の種類は{'・'.join(QUESTION_TYPES)}のいずれかにしてください。", field="question_type")
    with concerning("item_no"):
        item = ItemNumber.parse(data.item_no)
    title = nfkc(data.title)
    body = (data.body or "").strip()
    if not body:
        raise InvalidInput("質問の本文が空です。質問要旨を入力してください。", field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(
            f"質問の本文が長すぎます（{len(body)}文字）。{MAX_BODY}文字以内にしてください。", field="body"
        )
    if not title:
        raise InvalidInput("件名が空です。「〇〇について」の形で入力してください。", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"件名が長すぎます（{len(title)}文字）。{MAX_TITLE}文字以内にしてください。", field="title")
    return qtype, item, title, body


def _new_key(db: Session, session: CouncilSession, member: Member, item: ItemNumber) -> str:
    base = f"{session.era_code}-{member.seat}-{item.key_part()}"
    key, n = base, 1
    while db.scalar(select(Question.id).where(Question.key == key)) is not None:
        n += 1
        key = f"{base}-{n}"
    return key


def _next_speaking_order(db: Session, session: CouncilSession, member: Member, qtype: str) -> int:
    """Members speak in notice order; a member already in the session keeps their place."""
    existing = db.scalar(
        select(Question.speaking_order).where(
            Question.session_id == session.id, Question.member_id == member.id, Question.question_type == qtype
        )
    )
    if existing is not None:
        return existing
    last = db.scalars(select(Question.speaking_order).where(Question.session_id == session.id)).all()
    return max(last, default=0) + 1


def find_duplicates(db: Session, question: Question) -> list[tuple[Question, float]]:
    """Open items of other members in the same session that read alike."""
    from councilbot.services.search import text_similarity

    text = f"{question.title}\n{question.body}"
    others = db.scalars(
        select(Question).where(
            Question.session_id == question.session_id,
            Question.member_id != question.member_id,
            Question.status.in_([s.value for s in OPEN_STATES]),
        )
    )
    scored = [(other, text_similarity(text, f"{other.title}\n{other.body}")) for other in others]
    return sorted([(q, s) for q, s in scored if s >= DUPLICATE_THRESHOLD], key=lambda p: -p[1])


def register_question(db: Session, user: User, data: QuestionInput) -> IntakeResult:
    """Create one question item, or return the one already made from the same delivery."""
    if data.source_ref:
        existing = db.scalar(select(Question).where(Question.source_ref == data.source_ref))
        if existing is not None:
            return IntakeResult(existing, created=False)
    qtype, item, title, body = _validate(data)
    with concerning("session_name"):
        session = get_council_session(db, data.session_name)
    if session.closed:
        raise InvalidInput(f"{session.name}は終了しているため、質問を登録できません。", field="session_name")
    with concerning("seat"):
        member = _member(db, data.seat, data.member_name)
    clash = db.scalar(
        select(Question).where(
            Question.session_id == session.id,
            Question.member_id == member.id,
            Question.question_type == qtype,
            Question.item_no == item.format(),
        )
    )
    if clash is not None:
        raise InvalidInput(
            f"{member.name}議員の{qtype} {item.format()} はすでに「{clash.key}」として登録されています。",
            field="item_no",
        )
    question = Question(
        key=_new_key(db, session, member, item),
        session_id=session.id,
        member_id=member.id,
        question_type=qtype,
        speaking_order=data.speaking_order or _next_speaking_order(db, session, member, qtype),
        item_no=item.format(),
        item_sort="{:03d}.{:03d}.{:03d}".format(*item.sort_key()),
        parent_titles=nfkc(data.parent_titles),
        title=title,
        body=body,
        status=State.RECEIVED,
        due_at=session.answer_deadline,
        source_ref=data.source_ref,
        created_by_id=user.id,
    )
    try:
        # When the same delivery is being registered by another process at this moment,
        # its unique source_ref wins and we return that question instead.
        with savepoint(db):
            db.add(question)
            db.flush()
    except IntegrityError:
        existing = None
        if data.source_ref and supports_savepoint(db):
            existing = db.scalar(select(Question).where(Question.source_ref == data.source_ref))
        if existing is None:
            raise InvalidInput(
                f"{member.name}議員の{qtype} {item.format()} は、同時に別の操作で登録されました。一覧を確かめてください。",
                field="item_no",
            ) from None
        return IntakeResult(existing, created=False)
    duplicates = find_duplicates(db, question)
    for other, score in duplicates:
        db.add(QuestionLink(question_id=question.id, other_id=other.id, score=round(score, 3)))
    record_audit(db, user.chat_id, "question.create", question.key, duplicates=[q.key for q, _ in duplicates])
    return IntakeResult(question, created=True, duplicates=duplicates)


def import_notice(db: Session, user: User, path: str | Path, *, session_name: str | None = None) -> list[IntakeResult]:
    """A whole notice (.txt or .docx) → one question per leaf item, all or nothing."""
    from councilbot.domain.notice import parse_notice

    lines = read_notice_lines(Path(path))
    notice = parse_notice(lines, session_name=session_name)
    name = session_name or notice.session_name
    results: list[IntakeResult] = []
    source = Path(path).name
    items = sum(len(m.items) for m in notice.members)
    if items > MAX_NOTICE_ITEMS:
        # Each item is checked against the archive for duplicates: an unbounded notice would hold the intake for hours.
        raise InvalidInput(
            f"{source}: 質問項目が{items}件あり、一度に受け付けられる{MAX_NOTICE_ITEMS}件を超えています。"
            "通告書を議員ごとなどに分けて読み込んでください。"
        )
    for member_block in notice.members:
        for item in member_block.items:
            data = QuestionInput(
                session_name=name,
                seat=int(member_block.seat.removesuffix("番")),
                member_name=member_block.name,
                question_type=member_block.question_type,
                item_no=item.item_no,
                title=item.title,
                body=item.body,
                parent_titles=" / ".join(item.parent_titles),
            )
            try:
                results.append(register_question(db, user, data))
            except CouncilbotError as exc:
                # Name the line, so whoever typed the notice can find it; nothing is kept (one transaction).
                raise type(exc)(f"{source} {item.line}行目: {exc.message}") from None
    record_audit(db, user.chat_id, "notice.import", source, questions=len(results))
    return results


MAX_NOTICE_BYTES = 20 * 1024 * 1024
# A session's notices run to tens of pages (~100,000 characters, a few hundred items).
MAX_NOTICE_CHARS = 500_000
MAX_NOTICE_ITEMS = 1000


def read_notice_lines(path: Path) -> list[str]:
    lines = _notice_lines(path)
    chars = sum(len(line) for line in lines)
    if chars > MAX_NOTICE_CHARS:
        raise InvalidInput(
            f"{path.name}: 通告書が{chars:,}文字あり、上限の{MAX_NOTICE_CHARS:,}文字を超えています。"
            "通告書を議員ごとなどに分けて読み込んでください。"
        )
    return lines


def _notice_lines(path: Path) -> list[str]:
    if not path.exists():
        raise InvalidInput(f"ファイル「{path}」が見つかりません。")
    if path.stat().st_size > MAX_NOTICE_BYTES:
        raise InvalidInput("ファイルが大きすぎます（20MBまで）。")
    if path.suffix.lower() == ".docx":
        return current_context().word_reader().text_lines(path)
    if path.suffix.lower() not in (".txt", ".text", ""):
        raise InvalidInput(f"「{path.name}」は読み込めません。通告書は .docx か .txt で指定してください。")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding).splitlines()
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"「{path.name}」の文字コードを判別できません。UTF-8 か Shift_JIS で保存してください。")
