"""Past answers (過去答弁): import of history, finalised answers, and keeping the index in step.

The ``past_answers`` table is the source of truth. Index writes happen only
after the database commit that made them true (a session ``after_commit``
hook), so a rolled-back transaction never leaves a phantom search hit, and a
crash between commit and index write is repaired by ``councilbot index rebuild``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from councilbot.errors import CouncilbotError, InvalidInput
from councilbot.search.index import IndexDoc, open_index
from councilbot.services.commitments import answer_texts, sync_commitments
from councilbot.services.semantic import drop_stale_vectors, embed_committed
from councilbot.settings import Settings
from councilbot.storage.models import PastAnswer

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
MAX_TEXT_CHARS = 50_000
# Column widths of PastAnswer; a longer value is a broken record, not something to truncate silently.
_LIMITS = {"ref": 200, "session": 100, "question_type": 20, "member": 100, "seat": 20, "faction": 100,
           "item_no": 40, "department": 100, "answerer": 40}
_OPTIONAL = ("session", "question_type", "member", "seat", "faction", "item_no", "department", "answerer", "back_data")
_FIELD_JA = {"question": "質問", "answer": "答弁", "title": "件名", "date": "日付", "ref": "ref",
             "session": "会期", "question_type": "質問種別", "member": "議員", "seat": "議席",
             "faction": "会派", "item_no": "項目番号", "department": "担当課", "answerer": "答弁者",
             "back_data": "バックデータ"}


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}行目: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[LineError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated


# ---- reading files ----------------------------------------------------------

def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with open(path, encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, LineError(lineno, f"JSONとして読めません（{exc.colno}文字目付近）。")


def _read_csv(path: Path) -> Iterator[tuple[int, Any]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput(f"{path.name} の文字コードを判別できません。UTF-8 で保存してください。")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or not {"question", "answer"} <= {f.strip() for f in reader.fieldnames}:
        raise InvalidInput(f"{path.name} の1行目に question と answer の列見出しが必要です。")
    for row in reader:
        # The line where the record ends (multi-line cells span several lines).
        yield reader.line_num, {(k or "").strip(): v for k, v in row.items() if k is not None}


def _read_docx(path: Path) -> Iterator[tuple[int, Any]]:
    from councilbot.adapters.word.reader import read_answer_book

    for i, record in enumerate(read_answer_book(path), 1):
        yield i, record


_READERS = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".json": _read_jsonl, ".csv": _read_csv,
            ".docx": _read_docx}


def import_file(db: Session, settings: Settings, path: str | Path, *,
                progress: Callable[[int, int | None], None] | None = None) -> ImportReport:
    """Import one JSON Lines, CSV or .docx answer-book file; bad records are reported, good ones imported.
    ``progress(records read, None)`` is called after each batch."""
    path = Path(path)
    return _import(db, settings, _reader_for(path)(path), progress=progress)


def _reader_for(path: Path) -> Any:
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InvalidInput(f"{path.name} は取り込めない形式です。JSON Lines（.jsonl）、CSV（.csv）、Word（.docx）を指定してください。")
    if not path.is_file():
        raise InvalidInput(f"ファイル {path} が見つかりません。")
    return reader


def preview_file(path: str | Path) -> tuple[list[dict[str, Any]], list[LineError]]:
    """What importing ``path`` would store (archive records, SPEC §4.3) and the lines it would refuse; writes nothing."""
    path = Path(path)
    records: dict[str, dict[str, Any]] = {}
    errors: list[LineError] = []
    for lineno, raw in _reader_for(path)(path):
        if isinstance(raw, LineError):
            errors.append(raw)
            continue
        try:
            values = validate_record(raw)
        except ValueError as exc:
            errors.append(LineError(lineno, str(exc)))
            continue
        records[values["ref"]] = stored_record(values)  # the same ref twice: the later line wins, as in _import
    return list(records.values()), errors


def stored_records(db: Session, refs: list[str]) -> list[dict[str, Any]]:
    """The archive records the database holds under ``refs``, in that order."""
    rows: dict[str, PastAnswer] = {}
    for start in range(0, len(refs), BATCH_SIZE):  # bound the IN list (SQLite caps bound parameters)
        chunk = refs[start:start + BATCH_SIZE]
        rows.update((r.ref, r) for r in db.scalars(select(PastAnswer).where(PastAnswer.ref.in_(chunk))))
    columns = ("ref", "session_name", "date", "question_type", "member", "seat", "faction", "item_no", "title",
               "question", "answer", "department", "answerer", "back_data")
    return [stored_record({c: getattr(rows[ref], c) for c in columns}) for ref in refs if ref in rows]


def stored_record(values: dict[str, Any]) -> dict[str, Any]:
    """Column values from :func:`validate_record` → the archive record they store, empty fields left out."""
    record = {("session" if k == "session_name" else k): v for k, v in values.items() if v not in (None, "")}
    if isinstance(record.get("date"), dt.date):
        record["date"] = record["date"].isoformat()
    return record


def import_records(db: Session, settings: Settings, records: Iterable[dict], *,
                   batch_size: int = BATCH_SIZE) -> ImportReport:
    """Import records (SPEC §4.3); errors name the record's position, counted from 1.

    Each ``batch_size`` records are committed together (a file that must go in whole passes its length).
    """
    return _import(db, settings, enumerate(records, 1), batch_size=batch_size)


# ---- validation -------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError
    return value.strip()


def _parse_date(value: str) -> dt.date | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError


def _derive_ref(values: dict[str, Any]) -> str:
    """A stable ref for records without one, so that importing the same file twice changes nothing."""
    basis = "\x1f".join(str(values.get(k) or "") for k in ("session", "member", "item_no", "title", "question"))
    return "auto-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def _default_title(question: str) -> str:
    first = question.replace("\n", " ").split("。")[0]
    return first[:60] + ("…" if len(first) > 60 else "")


def validate_record(raw: Any) -> dict[str, Any]:
    """One archive record → column values for PastAnswer; raises ValueError with a Japanese message."""
    if not isinstance(raw, dict):
        raise ValueError("1件の記録は {…} の形（オブジェクト）で書いてください。")
    values: dict[str, Any] = {}
    for key in ("ref", "title", "question", "answer", "date", *_OPTIONAL):
        try:
            values[key] = _text(raw.get(key))
        except ValueError:
            raise ValueError(f"「{_FIELD_JA[key]}」（{key}）は文字列で指定してください。") from None
    for key in ("question", "answer"):
        if not values[key]:
            raise ValueError(f"「{_FIELD_JA[key]}」（{key}）がありません。質問と答弁は必須です。")
    for key, value in values.items():
        limit = _LIMITS.get(key, MAX_TEXT_CHARS)
        if len(value) > limit:
            raise ValueError(f"「{_FIELD_JA[key]}」（{key}）が長すぎます（{len(value)}文字、上限{limit}文字）。")
    try:
        date = _parse_date(values.pop("date"))
    except ValueError:
        raise ValueError(f"日付（date）「{raw.get('date')}」を読めません。2022-06-14 の形で書いてください。") from None
    out = {k: (values[k] or None) for k in _OPTIONAL}
    out["session_name"] = out.pop("session")
    out.update(
        ref=values["ref"] or _derive_ref(values),
        title=values["title"] or _default_title(values["question"]),
        question=values["question"],
        answer=values["answer"],
        date=date,
    )
    return out


# ---- writing ----------------------------------------------------------------

def _import(db: Session, settings: Settings, numbered: Iterable[tuple[int, Any]], *,
            batch_size: int = BATCH_SIZE, progress: Callable[[int, int | None], None] | None = None) -> ImportReport:
    report = ImportReport()
    read = 0
    batch: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    try:
        for lineno, raw in numbered:
            read = lineno
            if isinstance(raw, LineError):
                report.errors.append(raw)
                continue
            try:
                values = validate_record(raw)
            except ValueError as exc:
                report.errors.append(LineError(lineno, str(exc)))
                continue
            batch[values["ref"]] = values  # the same ref twice in one file: the later line wins
            lines[values["ref"]] = lineno
            if len(batch) >= batch_size:
                _flush(db, settings, batch, lines, report)
                batch = {}
                if progress:
                    progress(read, None)
        if batch:
            _flush(db, settings, batch, lines, report)
        if progress:
            progress(read, None)
    finally:
        _write_committed(db)  # batches already committed are indexed even if a later one failed
    return report


def _flush(
    db: Session, settings: Settings, batch: dict[str, dict[str, Any]], lines: dict[str, int], report: ImportReport
) -> None:
    existing = {row.ref: row for row in db.scalars(select(PastAnswer).where(PastAnswer.ref.in_(list(batch))))}
    for ref in [ref for ref, row in existing.items() if row.source == "final"]:
        # A finalised answer is changed only through the review chain (reopen), never by an import.
        report.errors.append(LineError(lines[ref], f"ref「{ref}」はこの市で校了した答弁と同じです。取り込みでは上書きできません。"))
        del existing[ref], batch[ref]
    new_rows = [dict(values, source="import") for ref, values in batch.items() if ref not in existing]
    if new_rows:
        db.execute(insert(PastAnswer), new_rows)
    for ref, row in existing.items():
        for key, value in batch[ref].items():
            setattr(row, key, value)
    db.flush()
    drop_stale_vectors(db, list(existing.values()))
    sync_commitments(db, answer_texts(db, list(batch)))
    report.created += len(new_rows)
    report.updated += len(existing)
    _queue_for_index(db, settings, [_doc(v) for v in new_rows], mode="add")
    _queue_for_index(db, settings, [_doc(batch[ref]) for ref in existing], mode="update")
    # Commit per batch: a crash mid-file keeps the batches already done, and importing again is idempotent.
    # The index is written once per file (see _import): one Whoosh commit instead of a merge per batch.
    with _index_deferred(db):
        db.commit()


def _doc(values: dict[str, Any]) -> IndexDoc:
    return IndexDoc(
        ref=values["ref"], title=values["title"], question=values["question"], answer=values["answer"],
        member=values.get("member"), faction=values.get("faction"), department=values.get("department"),
        session=values.get("session_name"), answerer=values.get("answerer"), date=values.get("date"),
    )


def doc_of(row: PastAnswer) -> IndexDoc:
    return IndexDoc(
        ref=row.ref, title=row.title, question=row.question, answer=row.answer, member=row.member,
        faction=row.faction, department=row.department, session=row.session_name, answerer=row.answerer,
        date=row.date,
    )


def retract_final_answer(db: Session, settings: Settings, key: str) -> bool:
    """校了解除 or 取下げ: the answer is no longer final, so it leaves the archive and the index.

    Imported history (source "import") is never touched. Finalising again puts it back.
    """
    row = db.scalar(select(PastAnswer).where(PastAnswer.ref == key, PastAnswer.source == "final"))
    if row is None:
        return False
    db.delete(row)
    db.flush()
    _queue_for_index(db, settings, [key], mode="delete")
    return True


# ---- index after commit -----------------------------------------------------

_PENDING = "councilbot.index_pending"  # queued in the open transaction
_COMMITTED = "councilbot.index_committed"  # committed, not yet written to the index
_LISTENING = "councilbot.index_listeners"
_DEFERRED = "councilbot.index_deferred"


def _queue_for_index(db: Session, settings: Settings, docs: list[Any], *, mode: str, embed: bool = False) -> None:
    """``mode``: "add" or "update" (``docs`` are IndexDocs) or "delete" (``docs`` are refs).

    ``embed``: also queue the documents for the semantic stage once committed. Imports leave
    this off: their callers fill vectors in bulk (``archive import``, ``index rebuild``).
    """
    if not docs:
        return
    if not db.info.get(_LISTENING):
        # Listeners stay for the session's life: removing one while SQLAlchemy dispatches is not allowed.
        event.listen(db, "after_commit", _on_commit)
        event.listen(db, "after_rollback", _on_rollback)
        db.info[_LISTENING] = True
    db.info.setdefault(_PENDING, []).append((settings, docs, mode, embed))


@contextmanager
def _index_deferred(db: Session) -> Iterator[None]:
    """Commits inside keep their index writes for one later :func:`_write_committed` call."""
    db.info[_DEFERRED] = True
    try:
        yield
    finally:
        db.info.pop(_DEFERRED, None)


def _on_rollback(db: Session) -> None:
    db.info.pop(_PENDING, None)


def _on_commit(db: Session) -> None:
    db.info.setdefault(_COMMITTED, []).extend(db.info.pop(_PENDING, []))
    if not db.info.get(_DEFERRED):
        _write_committed(db)


def _write_committed(db: Session) -> None:
    merged: dict[tuple[str, str], tuple[Settings, list[Any]]] = {}
    for settings, docs, mode, embed in db.info.pop(_COMMITTED, []):
        merged.setdefault((str(settings.index_dir), mode), (settings, []))[1].extend(docs)
        if embed:
            embed_committed(settings, [d.ref for d in docs])
    for (_, mode), (settings, docs) in merged.items():
        index = open_index(settings.index_dir)
        try:
            getattr(index, mode)(docs)
        except CouncilbotError:
            raise
        except Exception as exc:  # the database is already right; say how to repair the index
            log.exception("index write failed after commit")
            raise CouncilbotError(
                "過去答弁は保存しましたが、検索索引の更新に失敗しました。`councilbot index rebuild` を実行してください。"
            ) from exc


def record_final_answer(db: Session, settings: Settings, question: Any) -> PastAnswer:
    """校了: store the question's final answer as a past answer (ref = question key); indexed on commit."""
    revision = question.latest_revision
    if revision is None or not (revision.answer or "").strip():
        raise InvalidInput(f"{question.key} には答弁がないため、過去答弁に登録できません。")
    member = question.member
    session = question.session
    department = question.responsible_department
    values = dict(
        question_id=question.id,
        session_name=getattr(session, "name", None),
        date=dt.datetime.now(ZoneInfo(settings.tz_name)).date(),
        question_type=question.question_type,
        member=getattr(member, "name", None),
        seat=getattr(member, "seat_label", None),
        faction=getattr(member, "faction", None),
        item_no=question.item_no,
        title=question.title,
        question=question.body,
        answer=revision.answer,
        department=getattr(department, "name", None),
        answerer=question.answerer,
        back_data=revision.back_data or None,
        source="final",
    )
    row = db.scalar(select(PastAnswer).where(PastAnswer.ref == question.key))
    if row is None:
        row = PastAnswer(ref=question.key, **values)
        db.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    db.flush()
    drop_stale_vectors(db, [row])
    sync_commitments(db, [row])
    _queue_for_index(db, settings, [doc_of(row)], mode="update", embed=True)
    return row
