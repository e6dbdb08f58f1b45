"""``archive import``'s files: council minutes (会議録) read as text, ``--dry-run`` and ``--json``.

A .txt file is minutes when its content says so (speaker turns), or when
``--format minutes`` forces it; a .docx is minutes when its body is, otherwise
it is read as an answer book. The minutes service gets text, never a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from councilbot.adapters.cli.common import db_session
from councilbot.domain.minutes import decode_text, looks_like_minutes
from councilbot.errors import InvalidInput
from councilbot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from councilbot.adapters.cli.progress import ProgressDisplay

MINUTES_SUFFIXES = (".txt", ".text", ".docx")


@dataclass
class FileResult:
    """One JSON Lines, CSV or answer-book file's part of the ``--json`` document."""

    records: list[dict[str, Any]]
    skipped: list[Any]  # anything with .line and .reason
    flagged: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Refused:
    line: int
    reason: str


def import_reported(cfg: Settings, path: Path, text: str | None, *, dry_run: bool, as_json: bool) -> Any:
    """One file of ``archive import`` when it is minutes (``text``) or ``--dry-run``/``--json`` is given:
    import (or only check) it and return its part of the ``--json`` document; says what it did unless --json."""
    if text is not None:
        result = import_minutes_file(cfg, path, text, dry_run=dry_run)
        if not as_json:
            click.echo(summary_line(path.name, result, dry_run=dry_run))
        return result
    checked = check_archive_file(path)
    if dry_run:
        if not as_json:
            click.echo(
                f"{path.name}: 取り込める記録 {len(checked.records)}件、エラー {len(checked.skipped)}件"
                "（確認のみ・保存していません）"
            )
            for refused in checked.skipped:
                click.echo(f"  {path.name} {refused.line}行目: {refused.reason}", err=True)
        return checked
    from councilbot.services.archive import ImportRefused, import_file

    try:
        with db_session(cfg) as db:  # all of the file or nothing
            report = import_file(db, cfg, path)
    except ImportRefused as exc:
        if not as_json:
            click.echo(exc.message, err=True)
        return FileResult(
            [],
            [_Refused(e.line, e.message) for e in exc.report.errors],
            counts={"records": 0, "errors": exc.report.error_count, "created": 0, "updated": 0},
        )
    return stored_part(cfg, report, checked)


def check_archive_file(path: Path) -> FileResult:
    """``--dry-run`` of a JSON Lines, CSV or answer-book file: what would be stored, nothing written."""
    from councilbot.services.archive import preview_file

    records, errors = preview_file(path)
    return FileResult(
        records,
        [_Refused(e.line, e.message) for e in errors],
        counts={"records": len(records), "errors": len(errors), "created": 0, "updated": 0},
    )


def stored_part(cfg: Settings, report: Any, checked: FileResult) -> FileResult:
    """``--json`` after importing such a file: its records as the database now holds them."""
    from councilbot.services.archive import stored_records

    with db_session(cfg) as db:
        records = stored_records(db, [r["ref"] for r in checked.records])
    return FileResult(
        records,
        [],
        counts={
            "records": len(records),
            "errors": 0,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
        },
    )


def minutes_text(path: Path, *, forced: bool) -> str | None:
    """The minutes in ``path`` as text, or None when the file is another kind of archive file."""
    suffix = path.suffix.lower()
    if suffix not in MINUTES_SUFFIXES:
        if forced:
            raise InvalidInput(f"{path.name}: 会議録はテキスト（.txt）または Word（.docx）で指定してください。")
        return None
    if not path.is_file():
        raise InvalidInput(f"ファイル {path} が見つかりません。")
    if suffix == ".docx":
        from councilbot.adapters.word.reader import read_docx_text

        text = "\n".join(read_docx_text(path))
        return text if forced or looks_like_minutes(text) else None
    text = decode_text(path.read_bytes(), path.name)
    if not forced and not looks_like_minutes(text):
        raise InvalidInput(
            f"{path.name} は会議録として読み取れませんでした（「◆１６番（氏名君）」「◎市長（氏名君）」のような発言者の行がありません）。"
            "何も取り込んでいません。"
        )
    return text


def import_minutes_file(cfg: Settings, path: Path, text: str, *, dry_run: bool) -> Any:
    from councilbot.adapters.cli.progress import progress
    from councilbot.services.minutes_import import import_minutes

    # On stderr, like every long command: --json output on stdout stays one document.
    resume = None if dry_run else f"{path.name} は取り込んでいません。もう一度取り込んでください。"
    with progress(f"{path.name}: 答弁を確認中", resume=resume) as display, db_session(cfg) as db:
        if not dry_run:
            say_imported_once_committed(db, display, path.name)
        return import_minutes(db, cfg, text, path.name, dry_run=dry_run, progress=display)


def say_imported_once_committed(db: Session, display: ProgressDisplay, name: str) -> None:
    """Once the file's transaction commits, a stop (during the index catch-up that follows) says the file is
    in, not that nothing was imported. Call it before the import: it must be the first thing after the commit."""
    from councilbot.storage.db import unit_of_work

    committed = f"{name} の取り込みは完了しています。検索索引は、次の検索か `councilbot index rebuild` で追いつきます。"
    unit_of_work(db).after_commit(lambda: setattr(display, "resume", committed))


def summary_line(name: str, result: Any, *, dry_run: bool) -> str:
    counts = result.counts
    head = f"{name}（会議録）: 答弁 {counts['answers']}件"
    if dry_run:
        head += "を読み取りました（確認のみ・保存していません）"
    else:
        head += f"（新規 {counts['created']}件、更新 {counts['updated']}件）"
    return (
        f"{head}。議員の照合 {counts['members_matched']}件、担当課が空欄 {counts['department_unsure']}件、"
        f"取り込まなかった発言 {counts['skipped_turns']}件。"
    )


def json_document(files: list[tuple[Path, Any]]) -> dict[str, Any]:
    """``--json``: one document for all files; each skipped turn names its file and line."""
    document: dict[str, Any] = {"records": [], "skipped": [], "flagged": [], "counts": {}}
    for path, result in files:
        document["records"].extend(result.records)
        document["skipped"].extend({"file": path.name, "line": s.line, "reason": s.reason} for s in result.skipped)
        document["flagged"].extend(dict(f, file=path.name) for f in result.flagged)
        for key, value in result.counts.items():
            document["counts"][key] = document["counts"].get(key, 0) + value
    return document
