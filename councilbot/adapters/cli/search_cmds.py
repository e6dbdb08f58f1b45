"""Past-answer commands: ``archive import``, ``index rebuild``, ``search``, ``route`` (SPEC §4.2, §4.3)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from councilbot.adapters.cli.common import db_session, emit_json, settings
from councilbot.adapters.cli.progress import progress
from councilbot.errors import CouncilbotError, InvalidInput
from councilbot.services.import_vectors import INLINE_VECTORS_MAX

if TYPE_CHECKING:
    from councilbot.settings import Settings

# Errors listed per file before the rest are summarised; a broken file can have thousands.
MAX_ERRORS_SHOWN = 20
RESUME_VECTORS = (
    "作成済みのベクトルは保存されています。`councilbot index rebuild` を実行すると、残りを続きから作成します。"
)


def register(cli: click.Group) -> None:
    cli.add_command(archive_group)
    cli.add_command(index_group)
    cli.add_command(search_cmd)
    cli.add_command(route_cmd)


@click.group("archive", help="過去答弁の管理")
def archive_group() -> None:
    pass


@archive_group.command(
    "import",
    help="過去答弁を取り込みます（JSON Lines・CSV・Word答弁書・会議録）。同じ ref の記録は更新されます。"
    "ファイルごとに、誤りが1件でもあればそのファイルは1件も取り込みません",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--no-vectors",
    is_flag=True,
    help=f"意味検索用のベクトル作成を後回しにする（{INLINE_VECTORS_MAX}件を超えるときは自動で後回し。"
    "あとで `councilbot index rebuild` で作成）",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["minutes"]),
    help="会議録（.txt・.docx）として読む（指定しなくても内容から判別します）",
)
@click.option("--dry-run", is_flag=True, help="読み取った結果を表示するだけで、保存しない")
@click.option("--json", "as_json", is_flag=True, help="記録・取り込まなかった行や発言・件数をJSONで出力")
def archive_import(
    files: tuple[Path, ...], no_vectors: bool, file_format: str | None, dry_run: bool, as_json: bool
) -> None:
    from councilbot.adapters.cli.archive_files import import_reported, json_document, minutes_text
    from councilbot.services.archive import pending_index_count

    cfg = settings()
    failed = 0  # bad records of minutes and of --dry-run/--json files
    done: list[tuple[Path, Any]] = []  # their parts of the --json document
    imported: list[str] = []
    refusals: list[str] = []
    for path in files:
        text = minutes_text(path, forced=file_format == "minutes")
        if text is not None or dry_run or as_json:
            result = import_reported(cfg, path, text, dry_run=dry_run, as_json=as_json)
            done.append((path, result))
            failed += result.counts.get("errors", 0)
            if not dry_run and not result.counts.get("errors"):
                imported.append(path.name)
            continue
        refusal = _import_one(cfg, path)
        if refusal:
            refusals.append(refusal)
        else:
            imported.append(path.name)
    if dry_run:
        if as_json:
            emit_json(json_document(done))
        if failed:
            raise CouncilbotError(
                f"{failed}件の記録は取り込めません（上記の行を直してください）。何も保存していません。"
            )
        return
    # --json: stdout holds the one document, so what the index and vector steps say goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        behind = pending_index_count(cfg)
        if behind:
            click.echo(
                f"検索索引への反映が済んでいない過去答弁が {behind}件あります。次の検索のとき、"
                "または `councilbot index rebuild` で反映されます。",
                err=True,
            )
        _vectors_after_import(cfg, imported=bool(imported), deferred=no_vectors)
    if as_json:
        emit_json(json_document(done))
    if failed:
        refusals.append(
            f"{failed}件の記録に誤りがあったため、そのファイルは取り込んでいません（上記の行を直して、ファイルごと取り込み直してください）。"
        )
    if refusals:
        kept = f"（{'、'.join(imported)} は取り込み済みです）" if imported else ""
        raise CouncilbotError(" ".join(refusals) + kept)


def _import_one(cfg: Settings, path: Path) -> str | None:
    """Import one JSON Lines, CSV or answer-book file whole, with progress; why it was refused, or None."""
    from councilbot.adapters.cli.archive_files import say_imported_once_committed
    from councilbot.services.archive import ImportRefused, import_file

    refused: ImportRefused | None = None
    resume = f"{path.name} は1件も取り込んでいません。もう一度取り込んでください。"
    with progress(f"{path.name} を取り込み中", resume=resume) as display:
        try:
            with db_session(cfg) as db:  # one transaction per file: all of it or nothing
                say_imported_once_committed(db, display, path.name)
                report = import_file(
                    db, cfg, path, progress=lambda stage, n: display(n) if stage == "records" else None
                )
        except ImportRefused as exc:
            refused = exc
        except CouncilbotError as exc:  # a file that cannot be read at all (missing, not a .docx…)
            return exc.message
    if refused is not None:
        for err in refused.report.errors[:MAX_ERRORS_SHOWN]:
            click.echo(f"  {path.name} {err}", err=True)
        if refused.report.error_count > MAX_ERRORS_SHOWN:
            click.echo(f"  ほか {refused.report.error_count - MAX_ERRORS_SHOWN}件の誤りがあります。", err=True)
        return refused.message
    click.echo(f"{path.name}: 新規 {report.created}件、更新 {report.updated}件、変更なし {report.unchanged}件")
    return None


def _vectors_after_import(cfg: Settings, *, imported: bool, deferred: bool) -> None:
    from councilbot.services.import_vectors import vectors_after_import

    with db_session(cfg) as db:
        plan = vectors_after_import(db, cfg, imported=imported, deferred=deferred)
    if plan.too_many:
        click.echo(
            f"意味検索用のベクトルが未作成の過去答弁が {plan.pending}件あります（作成には1件あたり0.02秒ほどかかります）。"
        )
    if plan.embed_now:
        try:
            _fill_vectors(cfg)
        except Exception as exc:  # the records are in: say so, whatever stopped the vectors
            reason = exc.message if isinstance(exc, CouncilbotError) else f"（{type(exc).__name__}）"
            raise CouncilbotError(
                f"過去答弁は取り込みましたが、意味検索用のベクトルを作成できませんでした。{reason}"
            ) from exc
    elif plan.pending:
        click.echo(
            "意味検索用のベクトルは、夜間などに `councilbot index rebuild` で作成してください（それまではキーワード検索のみ）。"
        )


@click.group("index", help="検索索引の管理")
def index_group() -> None:
    pass


@index_group.command("rebuild", help="データベースから検索索引を作り直し、意味検索用のベクトルの不足分を作成します")
def index_rebuild() -> None:
    from councilbot.services.archive import count_past_answers, rebuild_index
    from councilbot.services.semantic import semantic_enabled

    cfg = settings()
    resume = "検索にはもとの索引がそのまま使われます。もう一度 `councilbot index rebuild` を実行してください。"
    with progress("検索索引を作り直し中", resume=resume) as display, db_session(cfg) as db:
        total = count_past_answers(db)
        n = rebuild_index(db, cfg, progress=lambda _stage, done: display(done, total))
    click.echo(f"検索索引を作り直しました（{n}件）。")
    if semantic_enabled(cfg):
        _fill_vectors(cfg, verify=True)


def _fill_vectors(cfg: Settings, *, verify: bool = False) -> None:
    """Embed what lacks a vector, with progress on stderr; each batch is kept if interrupted."""
    from councilbot.services.semantic import fill_vectors

    with progress("意味検索用のベクトルを作成中", resume=RESUME_VECTORS) as report_progress, db_session(cfg) as db:
        report = fill_vectors(db, cfg, verify=verify, progress=report_progress)
    line = f"意味検索用のベクトル: 新たに {report.embedded}件を作成しました。"
    if report.withheld:
        line += f"取扱いの表示がある {report.withheld}件は外部に送らず、キーワード検索だけの対象としました。"
    click.echo(line)


@click.command("search", help="過去答弁を検索します")
@click.argument("query", required=False, default="")
@click.option("--limit", default=10, show_default=True, type=int, help="表示件数")
@click.option("--member", help="議員名（一部でも可）")
@click.option("--faction", help="会派名（一部でも可）")
@click.option("--department", help="担当課（一部でも可）")
@click.option("--session", "session_name", help="会期（例: 令和6年3月）")
@click.option("--year", help="年（例: 2024、令和6年、R6）")
@click.option("--answerer", help="答弁者（例: 市長）")
@click.option("--newest", is_flag=True, help="新しい順に並べる")
@click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力")
def search_cmd(
    query: str,
    limit: int,
    member: str | None,
    faction: str | None,
    department: str | None,
    session_name: str | None,
    year: str | None,
    answerer: str | None,
    newest: bool,
    as_json: bool,
) -> None:
    if not query.strip() and not any((member, faction, department, session_name, year, answerer)):
        raise InvalidInput(
            "検索する語句か、--member などの絞り込み条件を指定してください（例: councilbot search 避難所）。"
        )
    if limit < 1:
        raise InvalidInput("--limit には1以上の数を指定してください。")
    from councilbot.services.search import search_archive

    cfg = settings()
    with db_session(cfg) as db:
        results = search_archive(
            db,
            cfg,
            query,
            limit=limit,
            member=member,
            faction=faction,
            department=department,
            session=session_name,
            year=year,
            answerer=answerer,
            newest_first=newest,
        )
    if as_json:
        emit_json(
            {
                "query": query,
                "results": [
                    {
                        "ref": r.ref,
                        "key": r.ref,
                        "score": r.score,
                        "title": r.title,
                        "session": r.session,
                        "member": r.member,
                        "department": r.department,
                        "answerer": r.answerer,
                        "snippet": r.snippet,
                    }
                    for r in results
                ],
            }
        )
        return
    if not results:
        click.echo("該当する過去答弁はありませんでした。")
        return
    for i, r in enumerate(results, 1):
        who = "　".join(x for x in (r.session, r.member and f"{r.member}議員", r.department, r.answerer) if x)
        click.echo(f"{i}. [{r.ref}] {r.title}")
        if who:
            click.echo(f"   {who}")
        click.echo(f"   {r.snippet}")


@click.command("route", help="質問の担当課の候補を、理由とともに示します")
@click.argument("text")
@click.option("--limit", default=3, show_default=True, type=int, help="候補の数")
@click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力")
def route_cmd(text: str, limit: int, as_json: bool) -> None:
    from councilbot.services.routing import route_question

    cfg = settings()
    with db_session(cfg) as db:
        suggestions = route_question(db, cfg, text, limit=limit)
    if as_json:
        emit_json(
            {
                "suggestions": [
                    {"department": s.department, "score": s.score, "evidence": s.evidence} for s in suggestions
                ]
            }
        )
        return
    if not suggestions:
        click.echo("担当課の候補が見つかりませんでした。過去答弁の取込や組織ファイルの事務分掌をご確認ください。")
        return
    for i, s in enumerate(suggestions, 1):
        click.echo(f"{i}. {s.department}（{s.score:.2f}）")
        for reason in s.reasons:
            click.echo(f"   ・{reason}")
