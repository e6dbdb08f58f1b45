"""Past-answer commands: ``archive import``, ``index rebuild``, ``search``, ``route`` (SPEC §4.2, §4.3)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from councilbot.adapters.cli.common import db_session, emit_json, settings
from councilbot.errors import CouncilbotError, InvalidInput
from councilbot.services.archive import ImportRefused, import_file, pending_index_count, rebuild_index
from councilbot.services.routing import route_question
from councilbot.services.search import search_archive
from councilbot.services.semantic import FillReport, fill_vectors, pending_count, semantic_enabled
from councilbot.settings import Settings

# Errors listed per file before the rest are summarised; a broken file can have thousands.
MAX_ERRORS_SHOWN = 20
# An import leaving more answers than this without a vector defers embedding (a couple of minutes
# with the bundled model) to `index rebuild`, so that loading years of history stays fast.
INLINE_VECTORS_MAX = 500


def register(cli: click.Group) -> None:
    cli.add_command(archive_group)
    cli.add_command(index_group)
    cli.add_command(search_cmd)
    cli.add_command(route_cmd)


@click.group("archive", help="過去答弁の管理")
def archive_group() -> None:
    pass


@archive_group.command("import", help="過去答弁を取り込みます（JSON Lines・CSV・Word答弁書）。同じ ref の記録は更新されます。"
                                     "ファイルごとに、誤りが1件でもあればそのファイルは1件も取り込みません")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--no-vectors", is_flag=True,
              help=f"意味検索用のベクトル作成を後回しにする（{INLINE_VECTORS_MAX}件を超えるときは自動で後回し。"
                   "あとで `councilbot index rebuild` で作成）")
def archive_import(files: tuple[Path, ...], no_vectors: bool) -> None:
    cfg = settings()
    done: list[str] = []
    refusals: list[str] = []
    for path in files:
        try:
            with db_session(cfg) as db:  # one transaction per file: all of it or nothing
                report = import_file(db, cfg, path, progress=_progress_line)
        except ImportRefused as exc:
            _end_progress()
            refusals.append(exc.message)
            for err in exc.report.errors[:MAX_ERRORS_SHOWN]:
                click.echo(f"  {path.name} {err}", err=True)
            if exc.report.error_count > MAX_ERRORS_SHOWN:
                click.echo(f"  ほか {exc.report.error_count - MAX_ERRORS_SHOWN}件の誤りがあります。", err=True)
            continue
        except CouncilbotError as exc:  # a file that cannot be read at all (missing, not a .docx…)
            _end_progress()
            refusals.append(exc.message)
            continue
        except Exception:
            if done:  # a defect: still say which files are in before the one-line error
                click.echo(f"（{'、'.join(done)} は取り込み済みです）", err=True)
            raise
        _end_progress()
        done.append(path.name)
        click.echo(f"{path.name}: 新規 {report.created}件、更新 {report.updated}件、変更なし {report.unchanged}件")
    behind = pending_index_count(cfg)
    if behind:
        click.echo(f"検索索引への反映が済んでいない過去答弁が {behind}件あります。次の検索のとき、"
                   "または `councilbot index rebuild` で反映されます。", err=True)
    if semantic_enabled(cfg) and done:
        _vectors_after_import(cfg, no_vectors)
    if refusals:
        kept = f"（{'、'.join(done)} は取り込み済みです）" if done else ""
        raise CouncilbotError(" ".join(refusals) + kept)


def _progress_line(stage: str, done: int) -> None:
    """Long imports and rebuilds say how far they are: one updated line on a terminal, else every 10,000."""
    what = {"records": "過去答弁を取り込み中", "index": "検索索引に反映中"}[stage]
    if _on_terminal():
        click.echo(f"\r{what} {done}件", nl=False, err=True)
    elif done and done % 10_000 == 0:
        click.echo(f"{what} {done}件", err=True)


def _end_progress() -> None:
    if _on_terminal():
        click.echo("\r\033[K", nl=False, err=True)


def _on_terminal() -> bool:
    return sys.stderr.isatty()


def _vectors_after_import(cfg: Settings, no_vectors: bool) -> None:
    with db_session(cfg) as db:
        pending = pending_count(db, cfg)
    if pending > INLINE_VECTORS_MAX:
        no_vectors = True
        click.echo(f"意味検索用のベクトルが未作成の過去答弁が {pending}件あります（作成には1件あたり0.3秒ほどかかります）。")
    if no_vectors and pending:
        click.echo("意味検索用のベクトルは、夜間などに `councilbot index rebuild` で作成してください（それまではキーワード検索のみ）。")
    elif pending:
        try:
            _fill_vectors(cfg)
        except Exception as exc:  # the records are in: say so, whatever stopped the vectors
            reason = exc.message if isinstance(exc, CouncilbotError) else f"（{type(exc).__name__}）"
            raise CouncilbotError(f"過去答弁は取り込みましたが、意味検索用のベクトルを作成できませんでした。{reason}") from exc


@click.group("index", help="検索索引の管理")
def index_group() -> None:
    pass


@index_group.command("rebuild", help="データベースから検索索引を作り直し、意味検索用のベクトルの不足分を作成します")
def index_rebuild() -> None:
    cfg = settings()
    with db_session(cfg) as db:
        n = rebuild_index(db, cfg, progress=_progress_line)
    _end_progress()
    click.echo(f"検索索引を作り直しました（{n}件）。")
    if semantic_enabled(cfg):
        _fill_vectors(cfg, verify=True)


def _fill_vectors(cfg: Settings, *, verify: bool = False) -> None:
    """Embed what lacks a vector, with a progress line on stderr; each batch is kept if interrupted."""
    def progress(done: int, total: int) -> None:
        click.echo(f"\r意味検索用のベクトルを作成中 {done}/{total}件", nl=done >= total, err=True)

    with db_session(cfg) as db:
        report: FillReport = fill_vectors(db, cfg, verify=verify, progress=progress)
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
def search_cmd(query: str, limit: int, member: str | None, faction: str | None, department: str | None,
               session_name: str | None, year: str | None, answerer: str | None, newest: bool, as_json: bool) -> None:
    if not query.strip() and not any((member, faction, department, session_name, year, answerer)):
        raise InvalidInput("検索する語句か、--member などの絞り込み条件を指定してください（例: councilbot search 避難所）。")
    if limit < 1:
        raise InvalidInput("--limit には1以上の数を指定してください。")
    cfg = settings()
    with db_session(cfg) as db:
        results = search_archive(db, cfg, query, limit=limit, member=member, faction=faction, department=department,
                                 session=session_name, year=year, answerer=answerer, newest_first=newest)
    if as_json:
        emit_json({"query": query, "results": [
            {"ref": r.ref, "key": r.key, "score": r.score, "title": r.title, "session": r.session, "member": r.member,
             "department": r.department, "answerer": r.answerer, "snippet": r.snippet} for r in results]})
        return
    if not results:
        click.echo("該当する過去答弁はありませんでした。")
        return
    for i, r in enumerate(results, 1):
        who = "　".join(x for x in (r.session, r.member and f"{r.member}議員", r.department, r.answerer) if x)
        click.echo(f"{i}. [{r.key}] {r.title}")
        if who:
            click.echo(f"   {who}")
        click.echo(f"   {r.snippet}")


@click.command("route", help="質問の担当課の候補を、理由とともに示します")
@click.argument("text")
@click.option("--limit", default=3, show_default=True, type=int, help="候補の数")
@click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力")
def route_cmd(text: str, limit: int, as_json: bool) -> None:
    cfg = settings()
    with db_session(cfg) as db:
        suggestions = route_question(db, cfg, text, limit=limit)
    if as_json:
        emit_json({"suggestions": [
            {"department": s.department, "score": s.score, "evidence": s.evidence}
            for s in suggestions]})
        return
    if not suggestions:
        click.echo("担当課の候補が見つかりませんでした。過去答弁の取込や組織ファイルの事務分掌をご確認ください。")
        return
    for i, s in enumerate(suggestions, 1):
        click.echo(f"{i}. {s.department}（{s.score:.2f}）")
        for reason in s.reasons:
            click.echo(f"   ・{reason}")
