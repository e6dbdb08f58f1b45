"""``councilbot jobs`` (the reminder schedule) and ``councilbot session set`` (deadlines, review meeting, closing)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import click

from councilbot.adapters.cli.common import db_session, emit_json, operator, settings
from councilbot.errors import InvalidInput


def register(cli: click.Group) -> None:
    cli.add_command(jobs_cmd)
    cli.add_command(session_group)


@click.command(
    "jobs",
    help="通知の予定（締切前の通知・締切超過の報告・検討会前日の通知・朝の進捗・答弁の約束の期限超過）を表示します",
)
@click.option("--json", "as_json", is_flag=True, help="結果をJSONで出力")
def jobs_cmd(as_json: bool) -> None:
    from councilbot.adapters.scheduler import open_schedule, sync, system_clock
    from councilbot.domain.japanese import when_label
    from councilbot.services import leader
    from councilbot.services.reminders import list_jobs, unfinished_runs
    from councilbot.storage.db import ensure_schema, session_scope

    cfg = settings()
    ensure_schema(cfg)
    tz = ZoneInfo(cfg.tz_name)
    now = system_clock()
    with open_schedule(cfg) as scheduler:
        sync(cfg, scheduler, now)  # the sessions are the source of truth; the job store follows them
        with session_scope(cfg) as db:
            lease = leader.current(db, leader.SCHEDULER_LEASE, now=now)
            sessions, weekly = list_jobs(scheduler, db, now=now, tz=tz, live_holder=lease)
            unfinished = unfinished_runs(db, now=now, live_holder=lease)
            if as_json:
                emit_json(
                    {
                        "time_zone": cfg.tz_name,
                        "sessions": [
                            {
                                "session": s.session.name,
                                "answer_deadline": _local_iso(s.session.answer_deadline, tz),
                                "review_meeting": _local_iso(s.session.review_meeting, tz),
                                "jobs": [
                                    {"id": j.job_id, "label": j.label, "at": _local_iso(j.at, tz), "state": j.state}
                                    for j in s.jobs
                                ],
                            }
                            for s in sessions
                        ],
                        "weekly": [{"id": j.job_id, "label": j.label, "next": _local_iso(j.at, tz)} for j in weekly],
                        "unfinished_runs": [
                            {
                                "id": r.job_id,
                                "label": r.label,
                                "at": _local_iso(r.fire_at, tz),
                                "sent": r.sent,
                                "waiting": r.waiting,
                                "sending": r.sending,
                                "in_doubt": r.in_doubt,
                                "expired": r.expired,
                                "state": r.summary(),
                            }
                            for r in unfinished
                        ],
                    }
                )
                return
            if not sessions:
                click.echo("開会中の会期はありません。")
            for s in sessions:
                deadline = when_label(s.session.answer_deadline, tz, year=True) if s.session.answer_deadline else "未定"
                review = when_label(s.session.review_meeting, tz, year=True) if s.session.review_meeting else "未定"
                click.echo(f"{s.session.name}（答弁締切 {deadline}、答弁検討会 {review}）")
                for j in s.jobs:
                    click.echo(f"  {when_label(j.at, tz, year=True)}  {j.label}　{j.state}")
                if not s.jobs:
                    click.echo("  締切・検討会の日時が未設定のため、通知の予定はありません。")
            for j in weekly:
                click.echo(f"{j.label}: 次回 {when_label(j.at, tz, year=True)}")
            if unfinished:
                click.echo(
                    "送信が終わっていない通知があります（送信待ちのものは、通知を担当するプロセスが続けて送ります）:"
                )
                for r in unfinished:
                    click.echo(f"  {when_label(r.fire_at, tz, year=True)}  {r.label}　{r.summary()}")
                if any(r.in_doubt for r in unfinished):
                    click.echo(
                        "  「届いたか不明」の通知は二重送信を避けるため再送しません。宛先のチャンネルで届いているか確かめてください。"
                    )
            click.echo(f"（時刻は {cfg.tz_name} の現地時刻です）")


def _local_iso(value: dt.datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value else None


def _parse_local(value: str | None, tz: ZoneInfo, what: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{what}「{value}」を日時として読めません。「2026-11-27T17:00」の形で指定してください。"
        ) from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


@click.group("session", help="会期の管理（総務課）")
def session_group() -> None:
    pass


@session_group.command(
    "set", help="会期の答弁締切・答弁検討会の日時を変更し、または会期を終了します。通知の予定も合わせて変わります"
)
@click.argument("name")
@click.option("--deadline", help="答弁締切（例: 2026-11-27T17:00、現地時刻）")
@click.option("--review", help="答弁検討会の日時（例: 2026-11-30T10:00、現地時刻）")
@click.option("--close", "close", is_flag=True, help="会期を終了し、通知を取りやめます")
def session_set(name: str, deadline: str | None, review: str | None, close: bool) -> None:
    from councilbot.adapters.scheduler import open_schedule, sync, system_clock
    from councilbot.domain.japanese import when_label
    from councilbot.services.sessions import update_session

    cfg = settings()
    tz = ZoneInfo(cfg.tz_name)
    with db_session(cfg) as db:
        result = update_session(
            db,
            operator(db),
            name,
            answer_deadline=_parse_local(deadline, tz, "答弁締切"),
            review_meeting=_parse_local(review, tz, "答弁検討会の日時"),
            closed=True if close else None,
        )
        session_name = result.session.name
        lines = []
        if "answer_deadline" in result.changed and result.session.answer_deadline:
            lines.append(
                f"答弁締切を {when_label(result.session.answer_deadline, tz, year=True)} にしました（対象の質問 {result.moved_questions}件の期限も変更）。"
            )
        if "review_meeting" in result.changed and result.session.review_meeting:
            lines.append(f"答弁検討会を {when_label(result.session.review_meeting, tz, year=True)} にしました。")
        if "closed" in result.changed:
            lines.append("会期を終了しました。この会期の通知は行いません。")
    with open_schedule(cfg) as scheduler:
        sync(cfg, scheduler, system_clock())
    for line in lines or ["変更はありませんでした。"]:
        click.echo(f"{session_name}: {line}")
