"""Core commands: database, organisation, intake, assignment, review, status, export, audit, demo."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from councilbot.adapters.cli.common import (
    db_session,
    emit_json,
    operator,
    settings,
)
from councilbot.adapters.cli.progress import progress


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
    cli.add_command(org_group)
    cli.add_command(intake_group)
    cli.add_command(assign_cmd)
    cli.add_command(approve_cmd)
    cli.add_command(finalize_cmd)
    cli.add_command(reopen_cmd)
    cli.add_command(withdraw_cmd)
    cli.add_command(status_cmd)
    cli.add_command(export_cmd)
    cli.add_command(audit_cmd)
    cli.add_command(demo_cmd)


@click.group("db", help="データベースの管理")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="データベースを最新の形式に更新します")
def db_upgrade() -> None:
    from councilbot.storage.db import upgrade

    upgrade(settings())
    click.echo("データベースを最新の形式に更新しました。")


@click.group("org", help="組織（部・課、議員、職員、決裁順序、会期）の管理")
def org_group() -> None:
    pass


@org_group.command("load", help="組織ファイル（YAML）を読み込みます")
@click.argument("file", type=click.Path(path_type=Path))
def org_load(file: Path) -> None:
    from councilbot.services import admin

    cfg = settings()
    with db_session(cfg) as db:
        report = admin.load_organisation(db, operator(db), file, tz_name=cfg.tz_name)
    click.echo(
        f"組織ファイルを読み込みました（{report.city or '市名未設定'}）: 部・課 {report.departments}、"
        f"議員 {report.members}名、職員 {report.users}名、決裁順序 {report.chains}件、会期 {report.sessions}件"
    )


@click.group("intake", help="質問の受付（質問取り）")
def intake_group() -> None:
    pass


@intake_group.command("import", help="通告書（.docx / .txt）を読み込み、質問項目ごとに登録します")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--session", "session_name", help="会期名（例: 令和8年12月定例会）。省略時は通告書の記載から")
@click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力")
def intake_import(file: Path, session_name: str | None, as_json: bool) -> None:
    from councilbot.services import intake

    cfg = settings()
    with db_session(cfg) as db:
        results = intake.import_notice(db, operator(db), file, session_name=session_name)
        rows = [
            {
                "key": r.question.key,
                "member": r.question.member.name,
                "question_type": r.question.question_type,
                "item_no": r.question.item_no,
                "title": r.question.title,
                "duplicates": [d.key for d, _ in r.duplicates],
            }
            for r in results
        ]
    if as_json:
        emit_json({"file": str(file), "questions": rows})
        return
    for row in rows:
        dup = f"　※類似: {', '.join(row['duplicates'])}" if row["duplicates"] else ""
        click.echo(f"{row['key']}\t{row['member']}議員 {row['item_no']} {row['title']}{dup}")
    click.echo(f"{len(rows)}件の質問を登録しました。")


@click.command("assign", help="担当課を決定します（総務課）")
@click.argument("key")
@click.argument("department")
@click.option("--answerer", help="答弁者（例: 市長、教育長、総務部長）。省略時は担当課の部長")
@click.option("--related", multiple=True, help="関係課（複数指定可）")
@click.option("--note", help="担当変更の理由（すでに担当が決まっている場合に必要）")
def assign_cmd(key: str, department: str, answerer: str | None, related: tuple[str, ...], note: str | None) -> None:
    from councilbot.services.ownership import assign_or_reassign

    with db_session() as db:
        result = assign_or_reassign(db, operator(db), key, department, note=note, answerer=answerer, related=related)
        q = result.question
        click.echo(f"{q.key} の担当を {department}（答弁者: {q.answerer}）に決定しました。")


@click.command("approve", help="現在の決裁段階で承認します（--as で承認する職員を指定）")
@click.argument("key")
@click.option("--as", "as_user", required=True, help="承認する職員のチャットID")
@click.option("--comment", help="コメント")
def approve_cmd(key: str, as_user: str, comment: str | None) -> None:
    from councilbot.services import review, status
    from councilbot.services.common import get_user

    with db_session() as db:
        result = review.approve(db, get_user(db, as_user), key, comment=comment)
        click.echo(
            f"{result.question.key} を{result.step.stage}として承認しました（{status.question_label(db, result.question)}）。"
        )


@click.command("finalize", help="校了します（総務課）")
@click.argument("key")
def finalize_cmd(key: str) -> None:
    from councilbot.services import review

    cfg = settings()
    with db_session(cfg) as db:
        result = review.finalize(db, cfg, operator(db), key)
        click.echo(f"{result.question.key} を校了しました。")


def _take_back_command(name: str, help_text: str, reason_help: str, done: str) -> click.Command:
    """校了解除 and 取下げ: General Affairs actions that always carry a reason."""

    @click.command(name, help=help_text)
    @click.argument("key")
    @click.option("--reason", required=True, help=reason_help)
    def command(key: str, reason: str) -> None:
        from councilbot.services import review

        cfg = settings()
        with db_session(cfg) as db:
            result = getattr(review, name)(db, cfg, operator(db), key, reason=reason)
            click.echo(done.format(key=result.question.key))

    return command


reopen_cmd = _take_back_command(
    "reopen",
    "校了を解除し、答弁を修正できる状態に戻します（総務課）",
    "校了を解除する理由",
    "{key} の校了を解除しました。",
)
withdraw_cmd = _take_back_command(
    "withdraw",
    "質問を取り下げます。同じ趣旨の質問を一つの答弁にまとめる場合などに使います（総務課）",
    "取り下げる理由",
    "{key} を取り下げました。",
)


@click.command("status", help="会期の進捗を担当課・段階ごとに表示します")
@click.argument("session_name", required=False)
@click.option("--json", "as_json", is_flag=True)
def status_cmd(session_name: str | None, as_json: bool) -> None:
    from councilbot.services import status

    cfg = settings()
    with db_session(cfg) as db:
        report = status.session_status(db, session_name)
        if as_json:
            emit_json(
                {
                    "session": report.session.name,
                    "totals": dict(report.totals),
                    "divisions": [
                        {"department": d.department, "counts": dict(d.counts), "overdue": d.overdue}
                        for d in report.divisions
                    ],
                    "overdue": [dataclasses.asdict(o) for o in report.overdue],
                }
            )
            return
        click.echo(
            f"{report.session.name}　全{sum(report.totals.values())}件　"
            + "、".join(f"{k} {v}" for k, v in report.totals.items())
        )
        for d in report.divisions:
            late = f"　期限超過 {d.overdue}件" if d.overdue else ""
            click.echo(f"  {d.department}: " + "、".join(f"{k} {v}" for k, v in d.counts.items()) + late)
        from councilbot.domain.japanese import day_label

        for o in report.overdue:
            click.echo(
                f"  ⚠ 期限超過 {o.key} {o.title}（{o.department}・{o.label}・期限 {day_label(o.due_at, cfg.tz_name)}）"
            )


@click.command("export", help="答弁書（Word）を出力します")
@click.option("--session", "session_name", help="会期名（省略時は開会中の最新の会期）")
@click.option("--by", type=click.Choice(["member", "department"]), help="議員別・担当課別の抜粋")
@click.option("--only", help="抜粋する議員名または担当課名")
@click.option("--back-data", is_flag=True, help="バックデータを含める")
@click.option("--draft", is_flag=True, help="答弁検討会用：校了前の答弁も「案」として含める")
@click.option("--out", type=click.Path(path_type=Path), help="出力先ファイル（.docx）")
@click.option("--template", type=click.Path(path_type=Path), help="市のWordテンプレート（.docx）")
@click.option("--pdf", is_flag=True, help="LibreOfficeがあればPDFも出力")
def export_cmd(session_name, by, only, back_data, draft, out, template, pdf) -> None:  # type: ignore[no-untyped-def]
    from councilbot.services import books

    cfg = settings()
    resume = "書きかけのファイルは残りません。もう一度同じ指定で出力してください。"
    with progress("答弁書を作成中", resume=resume, unit="項目") as report_progress, db_session(cfg) as db:
        result = books.export_book(
            db,
            cfg,
            operator(db),
            session_name,
            by=by,
            only=only,
            back_data=back_data,
            draft=draft,
            out=out,
            template=template,
            pdf=pdf,
            progress=report_progress,
        )
    if result.missing and not draft:
        click.echo(f"未校了のため収録していない項目が{len(result.missing)}件あります（巻末に一覧を記載）。", err=True)
    click.echo(str(result.path))
    if result.pdf_path:
        click.echo(str(result.pdf_path))


@click.command("audit", help="監査ログを表示します")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--actor", help="操作した職員のチャットID")
@click.option("--action", help="操作の種類（例: question.approve, draft.generate, draft.failed, embedding.query）")
@click.option("--csv", "as_csv", is_flag=True, help="CSVで出力（総務課の提出用）")
@click.option("--json", "as_json", is_flag=True)
def audit_cmd(limit: int, actor: str | None, action: str | None, as_csv: bool, as_json: bool) -> None:
    from councilbot.services import audit

    cfg = settings()
    with db_session(cfg) as db:
        entries = audit.list_audit(db, limit=limit, actor=actor, action=action)
        if as_csv:
            click.echo(audit.audit_csv(entries), nl=False)
        elif as_json:
            emit_json(
                {
                    "entries": [
                        {
                            "id": e.id,
                            "at": e.at.isoformat(),
                            "actor": e.actor,
                            "action": e.action,
                            "target": e.target,
                            "details": e.details,
                        }
                        for e in entries
                    ]
                }
            )
        else:
            from councilbot.domain.japanese import local_time

            for e in entries:
                details = " ".join(f"{k}={v}" for k, v in sorted((e.details or {}).items()))
                click.echo(
                    f"{local_time(e.at, cfg.tz_name)}  {e.actor:<10} {e.action:<20} {e.target or '':<22} {details}"
                )


@click.command("demo", help="見本データで受付から答弁書までの流れを実演します")
@click.option(
    "--workspace",
    type=click.Path(path_type=Path),
    default=Path("data/demo"),
    show_default=True,
    help="実演用の作業フォルダ（毎回作り直します）",
)
def demo_cmd(workspace: Path) -> None:
    from councilbot.demo import run_demo

    run_demo(settings(), workspace)
