"""Answer books (答弁書): the session's book, or an extract per division or member.

The final book holds only 校了 answers and lists what is missing; the
review-meeting variant (答弁検討会資料) includes unfinished answers marked 案 with
their stage. The file is written atomically and its checksum recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from councilbot.domain.book import AnswerBookContent, BookItem, BookMember
from councilbot.domain.intake_parse import QUESTION_TYPES
from councilbot.domain.japanese import nfkc
from councilbot.domain.permissions import require_general_affairs
from councilbot.domain.workflow import State
from councilbot.errors import InvalidInput, NotFound
from councilbot.fsutil import sha256_file
from councilbot.services.audit import record_audit
from councilbot.services.common import actor_of, get_council_session
from councilbot.services.context import current_context
from councilbot.services.org import city_name
from councilbot.services.status import question_label
from councilbot.settings import Settings
from councilbot.storage.models import ExportRecord, Question, User

_TYPE_RANK = {t: i for i, t in enumerate(QUESTION_TYPES)}  # 代表質問 before 一般質問


def speaking_order_key(q: Question) -> tuple[int, int, int, str]:
    """The order of the floor: 代表質問 first, then members in speaking order, items 1-(2)-① in order."""
    return (_TYPE_RANK.get(q.question_type, 9), q.speaking_order, q.member.seat, q.item_sort)


@dataclass
class ExportResult:
    path: Path
    sha256: str
    item_count: int
    missing: list[str]
    pdf_path: Path | None = None


def _book_title(by: str | None, only: str | None, draft: bool) -> str:
    base = "答弁検討会資料" if draft else "答弁書"
    if by == "department" and only:
        return f"{base}（{only}）"
    if by == "member" and only:
        return f"{base}（{only}議員）"
    return base


def build_book(
    db: Session,
    session_name: str | None,
    *,
    by: str | None = None,
    only: str | None = None,
    back_data: bool = False,
    draft: bool = False,
    today: dt.date | None = None,
) -> AnswerBookContent:
    if by not in (None, "member", "department"):
        raise InvalidInput("--by には member（議員別）か department（担当課別）を指定してください。")
    if only and by is None:
        raise InvalidInput("--only を使うときは --by member か --by department も指定してください。")
    session = get_council_session(db, session_name)
    questions = list(
        db.scalars(select(Question).where(Question.session_id == session.id, Question.status != State.WITHDRAWN))
    )
    wanted = nfkc(only).replace(" ", "") if only else None
    if wanted and by == "department":
        questions = [q for q in questions if q.responsible_department and q.responsible_department.name == wanted]
    elif wanted and by == "member":
        questions = [
            q for q in questions if wanted in (q.member.name.replace(" ", ""), f"{q.member.seat}番", str(q.member.seat))
        ]
    if wanted and not questions:
        raise NotFound(f"「{only}」に当たる質問は{session.name}にありません。")
    questions.sort(key=speaking_order_key)

    members: list[BookMember] = []
    missing: list[str] = []
    for q in questions:
        final = q.status == State.FINAL
        if not final:
            missing.append(f"{q.key} {q.member.name}議員 {q.item_no} {q.title}（{question_label(db, q)}）")
            if not draft:
                continue
        latest = q.latest_revision
        if not members or (members[-1].name, members[-1].question_type) != (q.member.name, q.question_type):
            members.append(BookMember(q.member.seat_label, q.member.name, q.member.faction or "", q.question_type))
        members[-1].items.append(
            BookItem(
                key=q.key,
                item_no=q.item_no,
                title=q.title,
                question=q.body,
                answerer=q.answerer or "",
                answer=latest.answer if latest else "",
                department=q.responsible_department.name if q.responsible_department else "",
                back_data=(latest.back_data if latest else "") if back_data else "",
                draft_label=None if final else f"案（{question_label(db, q)}）",
                ai_as_is=bool(latest and latest.is_ai_label and latest.origin == "ai"),
            )
        )
    return AnswerBookContent(
        city=city_name(db),
        session_title=session.name,
        title=_book_title(by, only, draft),
        date=today or dt.date.today(),
        members=members,
        include_back_data=back_data,
        is_draft=draft,
        # The review-meeting book carries unfinished items as 案; only the final book lists them as missing.
        missing=[] if draft else missing,
    )


def _default_path(settings: Settings, content: AnswerBookContent, stamp: dt.datetime) -> Path:
    safe = re.sub(r"[\\/:*?\"<>|\s]", "_", f"{content.session_title}_{content.title}")
    return Path(settings.export_dir) / f"{safe}_{stamp:%Y%m%d-%H%M%S}.docx"


CONTENTS_NUMBERED_UP_TO = 1000  # items in a book whose contents are numbered at export without a PDF


def export_book(
    db: Session,
    settings: Settings,
    user: User,
    session_name: str | None,
    *,
    by: str | None = None,
    only: str | None = None,
    back_data: bool = False,
    draft: bool = False,
    out: str | Path | None = None,
    template: str | Path | None = None,
    pdf: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportResult:
    """Render the book to .docx, its contents numbered (and PDF when asked) where LibreOffice is present, and record it.
    ``progress(items laid out, items)`` reports the rendering."""
    require_general_affairs(actor_of(user), "答弁書の出力")
    context = current_context()
    if template is not None:
        # A missing or broken template is refused before anything is written.
        context.word_reader().validate(Path(template))
    tz = ZoneInfo(settings.tz_name)
    now = dt.datetime.now(tz)
    content = build_book(db, session_name, by=by, only=only, back_data=back_data, draft=draft, today=now.date())
    count = sum(len(m.items) for m in content.members)
    if count == 0:
        raise InvalidInput(
            f"{content.session_title}には校了した答弁がまだありません。校了前の答弁を含める場合は --draft を指定してください。"
        )
    path = Path(out) if out else _default_path(settings, content, now)
    if path.suffix.lower() != ".docx":
        raise InvalidInput("出力先のファイル名は .docx で終わるようにしてください。")
    renderer = context.book_renderer()
    renderer.render(content, path, template=Path(template) if template else None, progress=progress)
    # The contents' page numbers go into the file itself, so LibreOffice and Word show them on opening.
    # Laying out thousands of items takes LibreOffice minutes: such a book asks Word to update instead.
    numbered = pdf or count <= CONTENTS_NUMBERED_UP_TO
    pdf_path = renderer.number_contents(path, pdf_dir=path.parent if pdf else None) if numbered else None
    digest = sha256_file(path)
    session = get_council_session(db, content.session_title)
    variant = content.title + ("・バックデータ付き" if back_data else "")
    db.add(
        ExportRecord(
            session_id=session.id,
            variant=variant,
            path=str(path),
            sha256=digest,
            item_count=count,
            created_by=user.chat_id,
        )
    )
    record_audit(db, user.chat_id, "book.export", session.name, variant=variant, items=count, sha256=digest)
    return ExportResult(path, digest, count, content.missing, pdf_path)
