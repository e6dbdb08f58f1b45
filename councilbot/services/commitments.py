"""The ledger of answer commitments (答弁の約束): kept, listed, updated, and brought back.

- ``sync_commitments``: (re)extract the commitments of past answers — called for every
  imported record and every finalised answer, in the caller's transaction. A statement
  that is extracted again keeps its progress; progress is never thrown away silently.
- ``list_commitments`` / ``ledger_csv``: the ledger, filtered by division, member, status
  and overdue.
- ``update_status``: a division records progress (未着手 / 検討中 / 実施済 / 見送り) with a
  note; the change is kept in the commitment's history and audited (without the note).
- ``earlier_commitments`` / ``contradiction_findings``: what the city said before to the
  same member on the same topic, shown with a new question, and a draft checked against it.
- ``overdue_reminders`` / ``session_overview``: commitments whose time has passed, per
  division for the scheduler, and in General Affairs' overview of a session.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from councilbot.domain import commitments as rules
from councilbot.domain.era import to_wareki
from councilbot.domain.japanese import nfkc
from councilbot.domain.permissions import Actor
from councilbot.domain.rulecheck import Finding
from councilbot.errors import InvalidInput, NotFound, PermissionDenied
from councilbot.services.audit import record_audit
from councilbot.services.common import actor_of, get_council_session
from councilbot.settings import Settings
from councilbot.storage.models import Commitment, CommitmentStatusChange, Department, PastAnswer, Question, User

MAX_NOTE = 1000
# The rule checker's findings for an earlier commitment: id, severity, and the message form.
CONFLICT_RULES = {
    "weaker": (
        "commitment_weaker",
        "warning",
        "{label}（{ref}）では「{old}」（{old_strength}）とお答えしています。この答弁案の「{new}」（{new_strength}）は、それより後退した表現です。",
    ),
    "later": (
        "commitment_later",
        "warning",
        "{label}（{ref}）では「{old}」（{old_due}まで）とお答えしています。この答弁案では時期が{new_due}までに遅れています。理由の説明が必要です。",
    ),
    "dropped": (
        "commitment_dropped",
        "info",
        "{label}（{ref}）の「{old}」に触れていません。その後の進捗を答弁に含めてください。",
    ),
}


def today(settings: Settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.tz_name)).date()


# --- extraction --------------------------------------------------------------------


class AnswerText(Protocol):
    """What extraction reads of a past answer: a ``PastAnswer``, or a row of just these columns."""

    id: int
    answer: str
    date: dt.date | None


def answer_texts(db: Session, refs: Sequence[str]) -> list[AnswerText]:
    """The id, text and date of the past answers ``refs``, without loading whole rows."""
    return list(
        db.execute(select(PastAnswer.id, PastAnswer.answer, PastAnswer.date).where(PastAnswer.ref.in_(list(refs))))
    )


def sync_commitments(db: Session, answers: Iterable[AnswerText]) -> int:
    """Extract the commitments of ``answers`` again; returns how many they now hold.

    A statement extracted again keeps its row (its id, which chat buttons carry, and its
    progress); one the answer no longer says is dropped, unless a division has recorded
    progress on it, which is never thrown away.
    """
    rows = list(answers)
    if not rows:
        return 0
    existing: dict[int, list[Commitment]] = defaultdict(list)
    for c in db.scalars(select(Commitment).where(Commitment.past_answer_id.in_([r.id for r in rows]))):
        existing[c.past_answer_id].append(c)
    new_rows: list[dict[str, object]] = []
    total = 0
    for row in rows:
        extracted = rules.extract(row.answer, row.date)
        total += len(extracted)
        old = existing.get(row.id, [])
        if old:
            for c in old:
                c.position = -c.id  # out of the way of the unique key while positions are given again
            db.flush()
        for item in extracted:
            values = _values(row, item)
            match = next((c for c in old if c.statement == item.statement), None)
            if match is None:
                new_rows.append(values)
                continue
            old.remove(match)
            for key, value in values.items():
                setattr(match, key, value)
        tracked = [c for c in old if c.status_updated_at is not None]
        for offset, c in enumerate(tracked):
            c.position = len(extracted) + offset
        for c in old:
            if c.status_updated_at is None:
                db.delete(c)
    db.flush()
    if new_rows:
        # Core executemany: one statement for the batch
        db.execute(cast(Table, Commitment.__table__).insert(), new_rows)
    return total


def _values(row: AnswerText, item: rules.Commitment) -> dict[str, object]:
    timing = item.timing
    return dict(
        past_answer_id=row.id,
        position=item.position,
        statement=item.statement,
        subject=item.subject,
        strength=item.strength,
        timing_text=timing.text if timing else None,
        due_start=timing.start if timing else None,
        due_end=timing.end if timing else None,
    )


def extract_all(db: Session) -> int:
    """Every past answer's commitments, e.g. after an upgrade that brought the ledger in."""
    total = 0
    last_id = 0
    while True:
        batch = list(db.scalars(select(PastAnswer).where(PastAnswer.id > last_id).order_by(PastAnswer.id).limit(500)))
        if not batch:
            return total
        total += sync_commitments(db, batch)
        last_id = batch[-1].id


# --- the ledger ------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    id: int
    ref: str
    session: str
    answered: dt.date | None
    member: str
    division: str
    title: str
    question: str
    statement: str
    strength: str
    timing: str
    due_end: dt.date | None
    status: str
    note: str
    overdue: bool

    @property
    def answered_label(self) -> str:
        return to_wareki(self.answered, with_day=False) if self.answered else "時期不明"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "ref": self.ref,
            "session": self.session,
            "answered": self.answered.isoformat() if self.answered else None,
            "member": self.member,
            "division": self.division,
            "title": self.title,
            "statement": self.statement,
            "strength": self.strength,
            "timing": self.timing,
            "due": self.due_end.isoformat() if self.due_end else None,
            "status": self.status,
            "note": self.note,
            "overdue": self.overdue,
        }


def _row(c: Commitment, on: dt.date) -> LedgerRow:
    a = c.past_answer
    return LedgerRow(
        id=c.id,
        ref=a.ref,
        session=a.session_name or "",
        answered=a.date,
        member=a.member or "",
        division=a.department or "",
        title=a.title,
        question=a.question,
        statement=c.statement,
        strength=c.strength,
        timing=c.timing_text or "",
        due_end=c.due_end,
        status=c.status,
        note=c.status_note or "",
        overdue=rules.is_overdue(c.due_end, c.status, on),
    )


def _squeeze(text: str) -> str:
    return nfkc(text).replace(" ", "").replace("\u3000", "")


def list_commitments(
    db: Session,
    *,
    on: dt.date,
    division: str | None = None,
    member: str | None = None,
    status: str | None = None,
    overdue: bool = False,
) -> list[LedgerRow]:
    """The ledger, oldest answer first; ``on`` is the day that decides what is overdue."""
    if status is not None and status not in rules.STATUSES:
        raise InvalidInput(
            f"進捗状況「{status}」はありません。{'・'.join(rules.STATUSES)} のいずれかを指定してください。"
        )
    stmt = (
        select(Commitment).join(PastAnswer).order_by(PastAnswer.date.nulls_first(), PastAnswer.ref, Commitment.position)
    )
    if division:
        stmt = stmt.where(PastAnswer.department == nfkc(division))
    if status:
        stmt = stmt.where(Commitment.status == status)
    if overdue:
        stmt = stmt.where(Commitment.due_end < on, Commitment.status.in_(rules.OPEN_STATUSES))
    rows = [_row(c, on) for c in db.scalars(stmt)]
    if member:
        wanted = _squeeze(member)
        rows = [r for r in rows if wanted in _squeeze(r.member)]
    return rows


LEDGER_COLUMNS = (
    "番号",
    "答弁日",
    "会期",
    "議員",
    "件名",
    "答弁要旨",
    "区分",
    "時期",
    "期限",
    "担当課",
    "進捗状況",
    "進捗の説明",
    "期限超過",
    "答弁番号",
)


def ledger_csv(rows: Sequence[LedgerRow]) -> str:
    """The ledger as CSV with a BOM, so that Excel opens the Japanese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LEDGER_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.id,
                r.answered.isoformat() if r.answered else "",
                r.session,
                r.member,
                r.title,
                r.statement,
                r.strength,
                r.timing,
                r.due_end.isoformat() if r.due_end else "",
                r.division,
                r.status,
                r.note,
                "超過" if r.overdue else "",
                r.ref,
            ]
        )
    return "\ufeff" + buffer.getvalue()


# --- progress ---------------------------------------------------------------------


def _division_parent(db: Session, division: str) -> str | None:
    dept = db.scalar(select(Department).where(Department.name == division))
    return dept.parent.name if dept is not None and dept.parent is not None else None


def may_update(db: Session, actor: Actor, division: str) -> bool:
    """The division that answered (its 部 as well) and General Affairs record progress."""
    if actor.is_general_affairs or actor.is_admin:
        return True
    return actor.department is not None and actor.department in {division, _division_parent(db, division)}


def get_commitment(db: Session, commitment_id: int) -> Commitment:
    commitment = db.get(Commitment, commitment_id)
    if commitment is None:
        raise NotFound(
            f"約束の番号「{commitment_id}」は台帳にありません。`councilbot commitments` で番号を確かめてください。"
        )
    return commitment


def update_status(db: Session, user: User, commitment_id: int, status: str, note: str) -> Commitment:
    """Record progress on one commitment, with the division's note; audited (the note is not logged)."""
    status = nfkc(status)
    note = (note or "").strip()
    if status not in rules.STATUSES:
        raise InvalidInput(
            f"進捗状況「{status}」はありません。{'・'.join(rules.STATUSES)} のいずれかを指定してください。"
        )
    if not note:
        raise InvalidInput("進捗の説明（いつ、何をしたか、または見送る理由）を入力してください。")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"進捗の説明は{MAX_NOTE}字以内にしてください（{len(note)}字）。")
    commitment = get_commitment(db, commitment_id)
    division = commitment.past_answer.department or ""
    if not may_update(db, actor_of(user), division):
        raise PermissionDenied(f"この約束の進捗は担当課（{division or '担当不明'}）または総務課が更新します。")
    old = commitment.status
    commitment.status = status
    commitment.status_note = note
    commitment.status_updated_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    commitment.history.append(CommitmentStatusChange(old_status=old, new_status=status, note=note, actor=user.chat_id))
    db.flush()
    record_audit(
        db,
        user.chat_id,
        "commitment.status",
        f"commitment:{commitment.id}",
        old=old,
        new=status,
        ref=commitment.past_answer.ref,
    )
    return commitment


# --- brought back when it matters ------------------------------------------------------


def _earlier_answers(db: Session, question: Question) -> list[PastAnswer]:
    """The same member's answers in earlier sessions on the question's topic, newest first."""
    member = question.member.name if question.member else ""
    if not member:
        return []
    wanted = _squeeze(member)
    session = question.session.name if question.session else None
    candidates = db.scalars(
        select(PastAnswer)
        .where(
            or_(PastAnswer.session_name.is_(None), PastAnswer.session_name != session)
        )  # answers of earlier sessions only
        .where(func.replace(func.replace(PastAnswer.member, " ", ""), "\u3000", "") == wanted)
        .order_by(PastAnswer.date.desc().nulls_last(), PastAnswer.id.desc())
    )
    return [a for a in candidates if rules.topic_similarity(a.title, question.title) >= rules.SAME_TOPIC]


@dataclass(frozen=True)
class EarlierCommitment:
    id: int
    ref: str
    answered: dt.date | None
    statement: str
    strength: str
    status: str
    earlier: rules.Earlier
    source_text: str  # the earlier answer's title, question and answer: its confidentiality markers count

    @property
    def line(self) -> str:
        """「前回答弁（令和7年9月）: 本年度中に調査結果を取りまとめる予定」."""
        return f"{self.earlier.label}: {self.statement}"


def earlier_commitments(db: Session, question: Question) -> list[EarlierCommitment]:
    """Open commitments the city made to this member on this topic, from the newest answer that made any."""
    for answer in _earlier_answers(db, question):
        rows = list(
            db.scalars(select(Commitment).where(Commitment.past_answer_id == answer.id).order_by(Commitment.position))
        )
        rows = [c for c in rows if c.strength != rules.MAINTAIN]
        if rows:
            return [
                EarlierCommitment(
                    c.id,
                    answer.ref,
                    answer.date,
                    c.statement,
                    c.strength,
                    c.status,
                    rules.Earlier(answer.ref, answer.date, _domain(c)),
                    f"{answer.title}\n{answer.question}\n{answer.answer}",
                )
                for c in rows
            ]
    return []


def _domain(c: Commitment) -> rules.Commitment:
    timing = rules.Timing(c.timing_text, c.due_start, c.due_end) if c.timing_text else None
    return rules.Commitment(c.position, c.statement, c.subject, c.strength, timing, c.statement)


def drafting_note(earlier: Sequence[EarlierCommitment]) -> str:
    """What the drafter (person or model) is told about earlier commitments."""
    if not earlier:
        return ""
    lines = [e.line for e in earlier]
    return "\n".join(
        ["この議員には、同じ趣旨の質問に次のとおり答弁しています。答弁では、その後の進捗を報告してください。", *lines]
    )


def contradiction_findings(db: Session, settings: Settings, question: Question, text: str) -> list[Finding]:
    """Rule findings where ``text`` falls short of an earlier commitment on its topic, naming that answer."""
    earlier = earlier_commitments(db, question)
    if not earlier:
        return []
    conflicts = rules.compare([e.earlier for e in earlier], text, today(settings))
    findings = []
    for conflict in conflicts:
        rule_id, severity, form = CONFLICT_RULES[conflict.kind]
        old = conflict.earlier.commitment
        new = conflict.new
        message = form.format(
            label=conflict.earlier.label,
            ref=conflict.earlier.ref,
            old=old.statement,
            old_strength=old.strength,
            new=new.statement if new else "",
            new_strength=new.strength if new else "",
            old_due=_day(old.timing.end if old.timing else None),
            new_due=_day(new.timing.end if new and new.timing else None),
        )
        start, end = _span(text, new.sentence if new else "")
        findings.append(Finding(rule_id, severity, message, start, end, text[start:end][:40]))
    return findings


def _day(day: dt.date | None) -> str:
    return to_wareki(day) if day else "時期不明"


def _span(text: str, sentence: str) -> tuple[int, int]:
    pos = text.find(sentence) if sentence else -1
    return (pos, pos + len(sentence)) if pos >= 0 else (len(text), len(text))


# --- overdue: reminders and the session overview -------------------------------------


def overdue_by_division(db: Session, on: dt.date) -> dict[str, list[LedgerRow]]:
    grouped: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in list_commitments(db, on=on, overdue=True):
        grouped[row.division].append(row)
    return dict(grouped)


def overdue_reminders(db: Session, on: dt.date) -> list[tuple[Department, str]]:
    """A message for each division (known to the organisation file) with overdue commitments."""
    messages = []
    for division, rows in sorted(overdue_by_division(db, on).items()):
        dept = db.scalar(select(Department).where(Department.name == division))
        if dept is None:
            continue  # a former division: General Affairs sees it in the overview
        lines = [
            f"【答弁の約束の期限超過】{division}が議会で答弁した約束のうち、期限を過ぎて完了していないものが{len(rows)}件あります。",
            "",
        ]
        lines += [_overdue_line(r) for r in rows]
        lines += [
            "",
            "進捗を `councilbot commitments update 番号 --status 実施済 --note 説明` またはチャットのボタンで更新してください。",
        ]
        messages.append((dept, "\n".join(lines)))
    return messages


def overdue_summary(db: Session, on: dt.date) -> str | None:
    """General Affairs' weekly view of overdue commitments, per division (former divisions too)."""
    grouped = overdue_by_division(db, on)
    if not grouped:
        return None
    total = sum(len(rows) for rows in grouped.values())
    lines = [f"【答弁の約束の期限超過】期限を過ぎて完了していない約束が{total}件あります（担当課別）。", ""]
    lines += [f"・{division or '担当不明'} {len(rows)}件" for division, rows in sorted(grouped.items())]
    lines += ["", "一覧は `councilbot commitments --overdue`、報告書は `--docx` で出力できます。"]
    return "\n".join(lines)


def _overdue_line(r: LedgerRow) -> str:
    return f"・[{r.id}] {r.answered_label} {r.member}議員「{r.title}」: {r.statement}（期限 {_day(r.due_end)}、{r.status}）"


@dataclass(frozen=True)
class SessionOverview:
    session: str
    brought_back: list[tuple[str, list[EarlierCommitment]]]  # question key → earlier commitments
    overdue: dict[str, list[LedgerRow]]

    def lines(self) -> list[str]:
        out = [f"■ 答弁の約束（{self.session}）"]
        if self.brought_back:
            out.append(f"　前回答弁の約束がある質問 {len(self.brought_back)}件:")
            out += [
                f"　・{key} {e[0].line}" + (f" ほか{len(e) - 1}件" if len(e) > 1 else "")
                for key, e in self.brought_back
            ]
        total = sum(len(v) for v in self.overdue.values())
        out.append(f"　期限を過ぎて完了していない約束 {total}件" + ("" if total else "（ありません）"))
        out += [f"　・{division or '担当不明'} {len(rows)}件" for division, rows in sorted(self.overdue.items())]
        return out


def session_overview(db: Session, settings: Settings, session_name: str | None = None) -> SessionOverview:
    """For General Affairs: which of the session's questions meet earlier commitments, and what is overdue."""
    session = get_council_session(db, session_name)
    questions = db.scalars(
        select(Question).where(Question.session_id == session.id).order_by(Question.speaking_order, Question.key)
    )
    brought_back = [(q.key, e) for q in questions if (e := earlier_commitments(db, q))]
    return SessionOverview(session.name, brought_back, overdue_by_division(db, today(settings)))
