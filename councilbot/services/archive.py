"""Past answers (過去答弁): import of history, finalised answers, and keeping the index in step.

The ``past_answers`` table is the source of truth and the search index derives
from it. Every change to a past answer queues its ref in ``index_queue`` in the
same transaction, and queues a catch-up with the unit of work
(``storage.db.UnitOfWork.after_commit``): once the commit has succeeded,
:func:`catch_up_index` writes each queued ref's committed state to the index and
only then forgets it. A rolled-back transaction therefore never leaves a phantom
search hit, and a process killed (or a catch-up failing) between commit and index
write leaves its refs queued: the next write or search (in any process) catches
the index up, with no manual ``index rebuild``. Nothing here raises after the
commit: what the index has not taken yet is counted by :func:`pending_index_count`.

An import is all-or-nothing per file: one transaction, written in chunks so
memory stays flat; any bad record (or unreadable line) refuses the whole file,
naming every bad line, and nothing of it is kept.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import json
import logging
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import filelock
from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from councilbot.errors import CouncilbotError, InvalidInput
from councilbot.search.index import WRITE_LOCK_TIMEOUT_S, IndexBusy, IndexDoc, open_index
from councilbot.services.context import current_context
from councilbot.services.semantic import drop_stale_vectors, embed_committed
from councilbot.settings import Settings
from councilbot.storage.db import insert_unless_present, is_contention, make_engine, unit_of_work, without_waiting
from councilbot.storage.models import IndexQueueEntry, PastAnswer

log = logging.getLogger(__name__)

# Records written (and refs indexed) per chunk: memory stays flat however long the file.
BATCH_SIZE = 1000
MAX_TEXT_CHARS = 50_000
# A JSON line holds at most a few fields of MAX_TEXT_CHARS; anything far longer is not a record.
MAX_LINE_BYTES = 4 << 20
# Bad lines kept with their message; beyond this only counted (a wrong file can have thousands).
MAX_ERRORS_KEPT = 100
# Column widths of PastAnswer; a longer value is a broken record, not something to truncate silently.
_LIMITS = {
    "ref": 200,
    "session": 100,
    "question_type": 20,
    "member": 100,
    "seat": 20,
    "faction": 100,
    "item_no": 40,
    "department": 100,
    "answerer": 40,
}
_OPTIONAL = ("session", "question_type", "member", "seat", "faction", "item_no", "department", "answerer", "back_data")
_FIELD_JA = {
    "question": "質問",
    "answer": "答弁",
    "title": "件名",
    "date": "日付",
    "ref": "ref",
    "session": "会期",
    "question_type": "質問種別",
    "member": "議員",
    "seat": "議席",
    "faction": "会派",
    "item_no": "項目番号",
    "department": "担当課",
    "answerer": "答弁者",
    "back_data": "バックデータ",
}

# progress(stage, done): stage "records" (records read and written) or "index" (refs written to the index).
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class LineError:
    line: int
    message: str
    unit: str = "行目"  # a .docx book counts answers (件目), not lines

    def __str__(self) -> str:
        return f"{self.line}{self.unit}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # the same record was already there (importing a file again changes nothing)
    errors: list[LineError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    error_count: int = 0

    @property
    def imported(self) -> int:
        """Records of the file that the archive now holds as given."""
        return self.created + self.updated + self.unchanged

    def add_error(self, error: LineError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)


class ImportRefused(InvalidInput):
    """A file with bad records: nothing of it was imported. ``report.errors`` names the lines."""

    def __init__(self, name: str, report: ImportReport) -> None:
        super().__init__(
            f"{name} には取り込めない記録が{report.error_count}件あるため、このファイルは1件も取り込んでいません。"
            "示した行を直して、ファイルごと取り込み直してください。"
        )
        self.report = report


# ---- reading files ----------------------------------------------------------
# A reader yields (position, record) or (position, LineError), position counted from 1. It may
# raise InvalidInput for a file it cannot read at all; after an error it cannot read past, it stops.


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with open(path, "rb") as fh:
        lineno = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            lineno += 1
            if len(line) > MAX_LINE_BYTES:
                while line and not line.endswith(b"\n"):  # skip the rest of the overlong line
                    line = fh.readline(MAX_LINE_BYTES)
                yield (
                    lineno,
                    LineError(
                        lineno, f"1行が長すぎます（上限{MAX_LINE_BYTES >> 20}MB）。1行に1件の記録を書いてください。"
                    ),
                )
                continue
            yield lineno, _parse_json_line(lineno, line.removeprefix(codecs.BOM_UTF8) if lineno == 1 else line)


def _parse_json_line(lineno: int, line: bytes) -> Any:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(
            lineno,
            f"UTF-8 として読めない文字があります（行頭から{exc.start + 1}バイト目）。"
            "ファイルを UTF-8 で保存し直してください。",
        )
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except RecursionError:
        return LineError(lineno, "{…} や […] の入れ子が深すぎます。1件の記録は項目名と値を並べた形で書いてください。")
    except json.JSONDecodeError as exc:
        return LineError(lineno, f"JSONとして読めません（{exc.colno}文字目付近）。")
    except ValueError:  # e.g. an integer of thousands of digits
        return LineError(lineno, "JSONとして読めない値があります（桁数が多すぎる数など）。")


def _read_csv(path: Path) -> Iterator[tuple[int, Any]]:
    encoding = _csv_encoding(path)
    if isinstance(encoding, LineError):
        yield encoding.line, encoding
        return
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            fieldnames = reader.fieldnames
        except csv.Error as exc:
            yield 1, LineError(1, _csv_problem(exc))
            return
        if not fieldnames or not {"question", "answer"} <= {f.strip() for f in fieldnames}:
            raise InvalidInput(f"{path.name} の1行目に question と answer の列見出しが必要です。")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, LineError(reader.line_num, _csv_problem(exc))
                return
            # The line where the record ends (multi-line cells span several lines).
            yield reader.line_num, {(k or "").strip(): v for k, v in row.items() if k is not None}


def _csv_encoding(path: Path) -> str | LineError:
    """UTF-8 (with or without BOM) or, failing that, Shift_JIS (cp932), checked over the whole file in chunks."""
    first_bad: int | None = None
    for encoding in ("utf-8-sig", "cp932"):
        decoder = codecs.getincrementaldecoder(encoding)()
        lines_before = 0
        with open(path, "rb") as fh:
            try:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        lines_before += chunk[: max(exc.start, 0)].count(b"\n")
                        raise
                    lines_before += chunk.count(b"\n")
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                first_bad = first_bad or lines_before + 1
    return LineError(
        first_bad or 1,
        "UTF-8 としても Shift_JIS としても読めない文字があります。ファイルを UTF-8 で保存し直してください。",
    )


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"1つの欄が長すぎます（上限{csv.field_size_limit()}文字）。"
    return 'CSVとして読めません（引用符 " の閉じ忘れなど）。'


def _read_docx(path: Path) -> Iterator[tuple[int, Any]]:
    yield from enumerate(current_context().word_reader().answer_book_records(path), 1)


_READERS = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".json": _read_jsonl, ".csv": _read_csv, ".docx": _read_docx}


def import_file(db: Session, settings: Settings, path: str | Path, *, progress: Progress | None = None) -> ImportReport:
    """Import one JSON Lines, CSV or .docx answer-book file in the caller's transaction, all or nothing.

    Raises :class:`ImportRefused` (the caller's transaction must roll back) when any record is bad.
    The index is brought up to date after the caller commits.
    """
    path = Path(path)
    reader, unit = _reader_for(path)
    try:
        report = _import(db, settings, reader(path), name=path.name, unit=unit, progress=progress)
    except PermissionError:
        raise InvalidInput(f"ファイル {path.name} を読む権限がありません。") from None
    except OperationalError as exc:
        if not is_contention(exc):
            raise
        raise CouncilbotError(
            f"{path.name} と同じ過去答弁を、別の処理が同時に書き込んでいたため、このファイルは"
            "取り込んでいません。しばらく待ってから、もう一度取り込んでください。"
        ) from exc
    if not report.imported:
        raise InvalidInput(f"{path.name} には取り込む記録がありません（空のファイルです）。")
    return report


def _reader_for(path: Path) -> tuple[Callable[[Path], Iterator[tuple[int, Any]]], str]:
    """The reader for ``path`` and what its positions count (lines, or a book's answers)."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InvalidInput(
            f"{path.name} は取り込めない形式です。JSON Lines（.jsonl）、CSV（.csv）、Word（.docx）を指定してください。"
        )
    if not path.is_file():
        raise InvalidInput(f"ファイル {path} が見つかりません。")
    return reader, "件目" if reader is _read_docx else "行目"


def preview_file(path: str | Path) -> tuple[list[dict[str, Any]], list[LineError]]:
    """What importing ``path`` would store (archive records, SPEC §4.3) and the lines that would refuse it;
    writes nothing. Checks as the import does, duplicate refs included."""
    path = Path(path)
    reader, unit = _reader_for(path)
    records: list[dict[str, Any]] = []
    errors: list[LineError] = []
    for _, checked in _checked(reader(path), unit):
        if isinstance(checked, LineError):
            errors.append(checked)
        else:
            records.append(stored_record(checked))
    return records, errors


def stored_records(db: Session, refs: list[str]) -> list[dict[str, Any]]:
    """The archive records the database holds under ``refs``, in that order."""
    rows: dict[str, PastAnswer] = {}
    for start in range(0, len(refs), BATCH_SIZE):  # bound the IN list (SQLite caps bound parameters)
        rows.update(_rows_by_ref(db, refs[start : start + BATCH_SIZE]))
    columns = (
        "ref",
        "session_name",
        "date",
        "question_type",
        "member",
        "seat",
        "faction",
        "item_no",
        "title",
        "question",
        "answer",
        "department",
        "answerer",
        "back_data",
    )
    return [stored_record({c: getattr(rows[ref], c) for c in columns}) for ref in refs if ref in rows]


def stored_record(values: dict[str, Any]) -> dict[str, Any]:
    """Column values from :func:`validate_record` → the archive record they store, empty fields left out."""
    record = {("session" if k == "session_name" else k): v for k, v in values.items() if v not in (None, "")}
    if isinstance(record.get("date"), dt.date):
        record["date"] = record["date"].isoformat()
    return record


def import_records(
    db: Session, settings: Settings, records: Iterable[dict[str, Any]], *, progress: Progress | None = None
) -> ImportReport:
    """Import records (SPEC §4.3) all or nothing; errors name the record's position, counted from 1."""
    return _import(db, settings, enumerate(records, 1), name="取り込む記録", unit="件目", progress=progress)


# ---- validation -------------------------------------------------------------


class _Unstorable(ValueError):
    """Half of a surrogate pair (\\ud800 in JSON) or a NUL character: not text every database can store."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unstorable("対になっていないサロゲート（\\ud800 など）") from None
    if "\x00" in value:
        raise _Unstorable("NUL文字（\\u0000）")
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
        except _Unstorable as exc:
            raise ValueError(
                f"「{_FIELD_JA[key]}」（{key}）に文字として保存できない符号（{exc}）が含まれています。"
            ) from None
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


def _import(
    db: Session,
    settings: Settings,
    numbered: Iterable[tuple[int, Any]],
    *,
    name: str,
    unit: str,
    progress: Progress | None,
) -> ImportReport:
    """Validate every record and write good ones in chunks, in the caller's transaction.

    After the first bad record nothing more is written, but reading goes on so that one
    attempt names every bad line; then :class:`ImportRefused` makes the caller roll back.
    """
    report = ImportReport()
    if progress:  # the index catch-up after the commit reports through it too
        _catch_up_after_commit(db, settings, progress)
    batch: list[dict[str, Any]] = []
    lines: dict[str, int] = {}
    for lineno, checked in _checked(numbered, unit):
        if isinstance(checked, LineError):
            report.add_error(checked)
            continue
        if report.error_count:
            continue
        batch.append(checked)
        lines[checked["ref"]] = lineno
        if len(batch) >= BATCH_SIZE:
            _flush(db, settings, batch, lines, report, unit)
            batch, lines = [], {}
            if progress:
                progress("records", report.imported)
    if batch and not report.error_count:
        _flush(db, settings, batch, lines, report, unit)
    if report.error_count:
        raise ImportRefused(name, report)
    if progress:
        progress("records", report.imported)
    return report


def _checked(numbered: Iterable[tuple[int, Any]], unit: str) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """Each record of a file validated, or why it cannot be stored; blank lines skipped. A ref given twice
    refuses the second: which of the two is meant cannot be guessed."""
    first_line: dict[str, int] = {}  # ref → where the file first gave it
    for lineno, raw in numbered:
        if raw is None:  # a blank line
            continue
        if isinstance(raw, LineError):
            yield lineno, raw
            continue
        try:
            values = validate_record(raw)
        except ValueError as exc:
            yield lineno, LineError(lineno, str(exc), unit)
            continue
        ref = values["ref"]
        first = first_line.setdefault(ref, lineno)
        if first != lineno:
            yield (
                lineno,
                LineError(
                    lineno,
                    f"ref「{ref}」が{first}{unit}と重複しています。"
                    "1つのファイルでは、同じ ref の記録は1件だけにしてください。",
                    unit,
                ),
            )
            continue
        yield lineno, values


def _flush(
    db: Session, settings: Settings, batch: list[dict[str, Any]], lines: dict[str, int], report: ImportReport, unit: str
) -> None:
    """Write one chunk: insert new refs, update changed ones, count the same ones as unchanged."""
    existing = _rows_by_ref(db, [v["ref"] for v in batch])
    fresh = [v for v in batch if v["ref"] not in existing]
    inserted = _insert_new(db, fresh)
    raced = [v["ref"] for v in fresh if v["ref"] not in inserted]
    if raced:  # another import committed these refs since we looked (PostgreSQL): compare with theirs
        existing.update(_rows_by_ref(db, raced))
    changed: list[PastAnswer] = []
    for values in batch:
        row = existing.get(values["ref"])
        if row is None:
            continue
        if row.source == "final":
            # A finalised answer is changed only through the review chain (reopen), never by an import.
            report.add_error(
                LineError(
                    lines[row.ref],
                    f"ref「{row.ref}」はこの市で校了した答弁と同じです。取り込みでは上書きできません。",
                    unit,
                )
            )
        elif all(getattr(row, key) == value for key, value in values.items()):
            report.unchanged += 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
            changed.append(row)
    db.flush()
    drop_stale_vectors(db, changed)
    written = [*inserted, *(row.ref for row in changed)]
    _sync_commitments(db, refs=written)
    report.created += len(inserted)
    report.updated += len(changed)
    _queue_for_index(db, settings, written)


def _sync_commitments(db: Session, *, refs: Sequence[str] = (), rows: Sequence[PastAnswer] = ()) -> None:
    """Extract the commitments (答弁の約束) of past answers again: ``rows`` in hand, and ``refs`` (only their
    text is read). Imported here, not at the top: search and routing load this module and need none of the
    extraction's rules."""
    from councilbot.services.commitments import answer_texts, sync_commitments

    sync_commitments(db, [*rows, *(answer_texts(db, refs) if refs else ())])


def _rows_by_ref(db: Session, refs: list[str]) -> dict[str, PastAnswer]:
    return {row.ref: row for row in db.scalars(select(PastAnswer).where(PastAnswer.ref.in_(refs)))}


def _insert_new(db: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert rows whose ref is new; a ref another transaction has inserted meanwhile is skipped, not an error.

    The refs inserted are returned. On PostgreSQL the insert waits for a concurrent import of the
    same ref to end, and skips it if that one committed.
    """
    if not rows:
        return []
    rows = [dict(values, source="import") for values in rows]
    stmt = insert_unless_present(db, PastAnswer, "ref").returning(PastAnswer.ref)
    return list(db.scalars(stmt, rows))


def doc_of(row: Any) -> IndexDoc:
    """The index document of a PastAnswer (or a row of its columns)."""
    return IndexDoc(
        ref=row.ref,
        title=row.title,
        question=row.question,
        answer=row.answer,
        member=row.member,
        faction=row.faction,
        department=row.department,
        session=row.session_name,
        answerer=row.answerer,
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
    _queue_for_index(db, settings, [key])
    return True


# ---- index after commit -----------------------------------------------------

# Refs read from the database and written to the index per step of a catch-up.
CATCH_UP_CHUNK = 1000


def _queue_for_index(db: Session, settings: Settings, refs: list[str], *, embed: bool = False) -> None:
    """Queue ``refs`` in the open transaction; the index takes their committed state after the commit.

    ``embed``: also queue them for the semantic stage once committed. Imports leave this off: their
    callers fill vectors in bulk (``archive import``, ``index rebuild``).
    """
    if not refs:
        return
    db.execute(insert(IndexQueueEntry), [{"ref": ref} for ref in refs])
    _catch_up_after_commit(db, settings)
    if embed:
        unit_of_work(db).after_commit(partial(embed_committed, settings, list(refs)))


def _catch_up_after_commit(db: Session, settings: Settings, progress: Progress | None = None) -> None:
    """Catch the index up once the open transaction commits: one catch-up per index and transaction
    (the first queued), which writes every ref queued by then, whoever queued it."""
    unit_of_work(db).after_commit(
        partial(catch_up_index, db.get_bind(), settings, progress=progress), key=(catch_up_index, settings.index_dir)
    )


def catch_up_index(
    bind: Engine | Connection, settings: Settings, *, timeout: float | None = None, progress: Progress | None = None
) -> int:
    """Write every queued ref's committed state to the index (present: replaced; gone: removed).

    Holds the index writer lock while reading, so no older state can overwrite a newer one, and
    forgets queue entries only after the index committed them: killed at any point, it is redone.
    ``timeout=0`` (a search catching up in passing): return 0 at once when another process is writing
    the index or the database is busy; the entries stay queued. Returns the refs written.
    """
    index = open_index(settings.index_dir)
    with Session(bind=bind) as db, without_waiting(db) if timeout == 0 else nullcontext():
        if db.scalar(select(IndexQueueEntry.id).limit(1)) is None:
            return 0
        try:
            with index.writer_lock().acquire(timeout=WRITE_LOCK_TIMEOUT_S if timeout is None else timeout):
                # Compact: a bulk import queues every record it wrote (100,000 rows would take 25 MB).
                entry_ids: array[int] = array("q")
                refs: dict[str, None] = {}
                for entry_id, ref in db.execute(
                    select(IndexQueueEntry.id, IndexQueueEntry.ref).order_by(IndexQueueEntry.id)
                ):
                    entry_ids.append(entry_id)
                    refs[ref] = None
                n = index.sync(_committed_state(db, list(refs), progress))
                _forget(db, entry_ids)
                unit_of_work(db).checkpoint()
        except (filelock.Timeout, IndexBusy):
            if timeout == 0:
                return 0
            raise IndexBusy() from None
        except OperationalError:  # SQLite: another connection holds the write lock (not waited for when timeout=0)
            if timeout == 0:
                log.info("index catch-up skipped: the database is busy; the queued refs wait for the next one")
                return 0
            raise
    return n


def pending_index_count(settings: Settings) -> int:
    """Queue entries not yet written to the index (0 when the index is up to date)."""
    with Session(bind=make_engine(settings.database_url)) as db:
        return int(db.scalar(select(func.count()).select_from(IndexQueueEntry)) or 0)


def _committed_state(db: Session, refs: list[str], progress: Progress | None) -> Iterator[tuple[str, IndexDoc | None]]:
    done = 0
    it = iter(refs)
    while chunk := list(islice(it, CATCH_UP_CHUNK)):
        rows = {row.ref: row for row in db.execute(select(*_DOC_COLUMNS).where(PastAnswer.ref.in_(chunk)))}
        for ref in chunk:
            row = rows.get(ref)
            yield ref, doc_of(row) if row is not None else None
        done += len(chunk)
        if progress:
            progress("index", done)


def _forget(db: Session, entry_ids: Iterable[int]) -> None:
    it = iter(entry_ids)
    while chunk := list(islice(it, CATCH_UP_CHUNK)):
        db.execute(delete(IndexQueueEntry).where(IndexQueueEntry.id.in_(chunk)))


_DOC_COLUMNS = (
    PastAnswer.ref,
    PastAnswer.title,
    PastAnswer.question,
    PastAnswer.answer,
    PastAnswer.member,
    PastAnswer.faction,
    PastAnswer.department,
    PastAnswer.session_name,
    PastAnswer.answerer,
    PastAnswer.date,
)


def count_past_answers(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(PastAnswer)) or 0


def rebuild_index(db: Session, settings: Settings, *, progress: Progress | None = None) -> int:
    """Recreate the index from the database, streaming; the old index serves readers until the new one is complete.

    Queue entries committed before the read are covered by it and forgotten (in the caller's transaction).
    """
    index = open_index(settings.index_dir)
    with index.writer_lock():  # read the database under the lock: no concurrent update can be lost
        covered = array("q", db.scalars(select(IndexQueueEntry.id)))
        rows = db.execute(select(*_DOC_COLUMNS).order_by(PastAnswer.id).execution_options(yield_per=CATCH_UP_CHUNK))
        n = index.rebuild(
            (doc_of(row) for row in rows), progress=(lambda done: progress("index", done)) if progress else None
        )
        _forget(db, covered)
    return n


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
    _sync_commitments(db, rows=[row])
    _queue_for_index(db, settings, [row.ref], embed=True)
    return row
