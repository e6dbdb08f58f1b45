"""Importing council minutes (会議録) into the archive of past answers.

The caller passes the minutes as text (adapters read .txt and .docx files); this
module parses them (``domain.minutes``), matches members to the organisation
file, chooses each answer's division, and writes the records in one go: the
whole file is checked before anything is written, so a file is imported
entirely or not at all. Importing the same minutes again changes nothing
(refs come from the session, meeting and turn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain.minutes import MinutesAnswer, ParsedMinutes, Skipped, parse_minutes
from councilbot.errors import InvalidInput
from councilbot.services.archive import ImportRefused, import_records, validate_record
from councilbot.services.routing import route_question
from councilbot.settings import Settings
from councilbot.storage.models import Department, Member

# Division choice: the best division must lead the next by this factor, or the record is flagged.
DEPARTMENT_LEAD = 1.5
# Executives above the departments: their answers may belong to any division.
TOP_EXECUTIVES = ("市長", "副市長", "町長", "副町長", "村長", "副村長", "区長", "副区長", "知事", "副知事")

Progress = Callable[[int, int], None]


@dataclass
class MinutesImport:
    """What a minutes file gives: records as stored, turns skipped, records to check, counts."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)  # {"line", "ref", "reason"}
    counts: dict[str, int] = field(default_factory=dict)


def import_minutes(
    db: Session, settings: Settings, text: str, name: str, *, dry_run: bool = False, progress: Progress | None = None
) -> MinutesImport:
    """Read minutes ``text`` (from the file called ``name``) and, unless ``dry_run``, store their answers."""
    result = read_minutes(db, settings, text, name, progress=progress)
    if dry_run:
        result.counts.update(created=0, updated=0)
        return result
    # One commit for the whole file: all of it or (on any failure) none of it.
    try:
        report = import_records(db, settings, result.records)
    except ImportRefused as exc:  # the records were checked above; only a clash with a finalised answer's ref gets here
        raise InvalidInput(f"{name}: {exc.report.errors[0]}") from exc
    result.counts.update(created=report.created, updated=report.updated)
    return result


def read_minutes(
    db: Session, settings: Settings, text: str, name: str, *, progress: Progress | None = None
) -> MinutesImport:
    """Parse and check a minutes file without writing; raises ``InvalidInput`` naming the line at fault."""
    parsed = parse_minutes(text)
    if not parsed.answers:
        raise InvalidInput(
            f"{name} から議員の質問と答弁の組を読み取れませんでした。発言者の行が「○」「◆」「◎」などの記号と"
            "「１６番（氏名君）」「市長（氏名君）」の形で始まる会議録か確かめてください。何も取り込んでいません。"
        )
    members = _members_by_name(db)
    chooser = _DepartmentChooser(db, settings)
    result = MinutesImport(skipped=list(parsed.skipped))
    total = len(parsed.answers)
    matched = 0
    for done, answer in enumerate(parsed.answers, 1):
        member = members.get(answer.member.replace(" ", ""))
        matched += member is not None
        record = _record(parsed, answer, member)
        department, doubt = chooser.choose(answer)
        record["department"] = department
        if doubt:
            result.flagged.append({"line": answer.line, "ref": answer.ref, "reason": doubt})
        try:
            validate_record(record)
        except ValueError as exc:
            raise InvalidInput(f"{name} {answer.line}行目の答弁: {exc} 何も取り込んでいません。") from None
        result.records.append({k: v for k, v in record.items() if v not in (None, "")})
        if progress is not None:
            progress(done, total)
    result.counts = {
        "answers": len(result.records),
        "members_matched": matched,
        "department_unsure": len(result.flagged),
        "skipped_turns": len(parsed.skipped),
        "noise_lines": parsed.noise_lines,
    }
    return result


def _record(parsed: ParsedMinutes, answer: MinutesAnswer, member: Member | None) -> dict[str, Any]:
    """The archive record (SPEC §4.3) of one answer; a member of the organisation file under its spelling."""
    header = parsed.header
    return {
        "ref": answer.ref,
        "session": header.session,
        "date": header.date.isoformat() if header.date else None,
        "question_type": answer.question_type,
        "member": member.name if member else answer.member,
        "seat": answer.seat,
        "faction": member.faction if member else None,
        "item_no": answer.item_no,
        "title": answer.title,
        "question": answer.question,
        "answer": answer.answer,
        "answerer": answer.answerer,
    }


def _members_by_name(db: Session) -> dict[str, Member]:
    return {m.name.replace(" ", "").replace("\u3000", ""): m for m in db.scalars(select(Member))}


class _DepartmentChooser:
    """The division of the organisation file that an answer belongs to, or None and why not.

    The answerer's title narrows the candidates (総務部長 → the divisions of 総務部, 危機管理課長 →
    危機管理課); routing on the question and answer picks among them when one clearly leads.
    """

    def __init__(self, db: Session, settings: Settings) -> None:
        self.db, self.settings = db, settings
        departments = list(db.scalars(select(Department)))
        self.leaves = [d.name for d in departments if not d.children]
        self.bureaus = {d.name: [c.name for c in d.children] for d in departments if d.children}

    def candidates(self, answerer: str) -> list[str]:
        if answerer.endswith("長") and answerer[:-1] in self.leaves:
            return [answerer[:-1]]
        for bureau, children in self.bureaus.items():
            if answerer in (bureau + "長", bureau + "理事", bureau + "次長"):
                return children
        if answerer.startswith("教育"):  # 教育長 speaks for the board of education's divisions
            return [c for bureau, children in self.bureaus.items() if bureau.startswith("教育") for c in children]
        if answerer in TOP_EXECUTIVES:
            return self.leaves
        return []

    def choose(self, answer: MinutesAnswer) -> tuple[str | None, str | None]:
        candidates = self.candidates(answer.answerer)
        if not candidates:
            return None, f"答弁者「{answer.answerer}」に当たる部・課が組織ファイルにないため、担当課を空欄にしました。"
        if len(candidates) == 1:
            return candidates[0], None
        ranked = [
            s
            for s in route_question(self.db, self.settings, f"{answer.title}\n{answer.answer}", limit=20)
            if s.department in candidates
        ]
        if ranked and (len(ranked) == 1 or ranked[0].score >= DEPARTMENT_LEAD * ranked[1].score):
            return ranked[0].department, None
        return None, f"答弁者「{answer.answerer}」の答弁の担当課を一つに絞れなかったため、空欄にしました。"
