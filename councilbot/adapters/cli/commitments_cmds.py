"""``councilbot commitments``: the ledger of what answers committed the city to (SPEC §4.2).

``commitments [--division D] [--member M] [--status S] [--overdue] [--csv [PATH]|--docx PATH]`` lists
and exports (CSV to stdout, or to PATH); ``commitments update ID --status S --note TEXT`` records progress;
``commitments overview [--session S]`` is General Affairs' view of a session;
``commitments extract`` reads every past answer again (after an upgrade).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from councilbot.adapters.cli.common import db_session, emit_json, operator, settings
from councilbot.domain.commitments import STATUSES
from councilbot.errors import InvalidInput
from councilbot.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from councilbot.services.commitments import LedgerRow


def register(cli: click.Group) -> None:
    cli.add_command(commitments_cmd)


@click.group(
    "commitments",
    invoke_without_command=True,
    help="答弁の約束（「実施してまいります」「検討してまいります」など）の台帳を表示・出力します",
)
@click.option("--division", help="担当課で絞り込む")
@click.option("--member", help="議員名で絞り込む（一部でも可）")
@click.option("--status", help=f"進捗状況で絞り込む（{'・'.join(STATUSES)}）")
@click.option("--overdue", is_flag=True, help="期限を過ぎて完了していないものだけ")
@click.option(
    "--csv",
    "csv_path",
    is_flag=False,
    flag_value="-",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="CSVで出力する（ファイル名を省略すると標準出力）",
)
@click.option(
    "--docx",
    "docx_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="「議会答弁の進捗状況」をWordで書き出す",
)
@click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力")
@click.pass_context
def commitments_cmd(
    ctx: click.Context,
    division: str | None,
    member: str | None,
    status: str | None,
    overdue: bool,
    csv_path: Path | None,
    docx_path: Path | None,
    as_json: bool,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from councilbot.services import commitments as ledger

    if sum((csv_path is not None, docx_path is not None, as_json)) > 1:
        raise InvalidInput("--csv、--docx、--json は一つだけ指定してください。")
    cfg = settings()
    on = ledger.today(cfg)
    with db_session(cfg) as db:
        rows = ledger.list_commitments(db, on=on, division=division, member=member, status=status, overdue=overdue)
    if as_json:
        emit_json({"on": on.isoformat(), "commitments": [r.as_dict() for r in rows]})
    elif csv_path is not None and str(csv_path) == "-":
        sys.stdout.write(ledger.ledger_csv(rows))
    elif csv_path is not None:
        atomic_write_bytes(csv_path, ledger.ledger_csv(rows).encode("utf-8"))
        click.echo(f"答弁の約束の台帳をCSVで出力しました（{len(rows)}件）: {csv_path}")
    elif docx_path is not None:
        from councilbot.adapters.word.commitments_report import render_commitments_report

        scope = "、".join(v for v in (division, member, status, "期限超過" if overdue else None) if v)
        path = render_commitments_report(rows, docx_path, on=on, scope=scope)
        click.echo(f"「議会答弁の進捗状況」を出力しました（{len(rows)}件）: {path}")
    else:
        _print_ledger(rows, on)


def _print_ledger(rows: list[LedgerRow], on: dt.date) -> None:
    if not rows:
        click.echo("該当する答弁の約束はありません。")
        return
    for r in rows:
        due = f"期限 {r.due_end.isoformat()}" if r.due_end else (r.timing or "時期の明示なし")
        flag = "【期限超過】" if r.overdue else ""
        click.echo(f"[{r.id}] {flag}{r.answered_label} {r.member}議員「{r.title}」（{r.division or '担当不明'}）")
        click.echo(f"    {r.strength}: {r.statement}　{due}　進捗: {r.status}" + (f"（{r.note}）" if r.note else ""))
    overdue = sum(r.overdue for r in rows)
    click.echo(f"計{len(rows)}件（{on.isoformat()}時点で期限超過 {overdue}件）")


@commitments_cmd.command("update", help="約束の進捗状況を更新します（担当課・総務課）")
@click.argument("commitment_id", type=int)
@click.option("--status", required=True, help=f"新しい進捗状況（{'・'.join(STATUSES)}）")
@click.option("--note", required=True, help="進捗の説明（いつ、何をしたか、または見送る理由）")
def update_cmd(commitment_id: int, status: str, note: str) -> None:
    from councilbot.services import commitments as ledger

    with db_session() as db:
        commitment = ledger.update_status(db, operator(db), commitment_id, status, note)
        click.echo(f"約束 [{commitment.id}] の進捗を「{commitment.status}」にしました: {commitment.statement}")


@commitments_cmd.command(
    "overview", help="会期の質問に関係する前回答弁の約束と、期限超過の約束をまとめて表示します（総務課）"
)
@click.option("--session", "session_name", help="会期名（省略時は開会中の会期）")
def overview_cmd(session_name: str | None) -> None:
    from councilbot.services import commitments as ledger

    cfg = settings()
    with db_session(cfg) as db:
        overview = ledger.session_overview(db, cfg, session_name)
    click.echo("\n".join(overview.lines()))


@commitments_cmd.command("extract", help="すべての過去答弁から約束を読み取り直します（進捗は保たれます）")
def extract_cmd() -> None:
    from councilbot.services import commitments as ledger

    with db_session() as db:
        total = ledger.extract_all(db)
    click.echo(f"過去答弁から約束を{total}件読み取りました。")
