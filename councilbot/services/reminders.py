"""Reminders (リマインド): what each one says, to whom, and the scheduled jobs that carry them.

The timing rules are in domain/reminder_times.py. Here:

- ``compose``: at the moment a job fires, re-read the database and write the
  messages it sends now — per division the unfinished items and their stage,
  the overdue list for General Affairs, the morning digest. A job whose
  session moved or closed composes nothing.
- ``record_run`` / ``start_sending`` / ``mark_sent`` / ``give_back``: each
  message's unique row (SentNotification), written for the whole run before
  anything is sent, so it goes out once even when two processes fire it, and
  what a dying leader left unsent is sent by the next (``pending_messages``);
  ``unfinished_runs`` reports runs that did not complete.
- ``sync_jobs`` / ``list_jobs``: the APScheduler jobs follow the sessions —
  added, moved to the new time, or removed when the session closes.

The core knows no chat tool: messages go through a ``Notifier``, which the
Slack adapter's ChatNotifier satisfies.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from councilbot.domain import commitments as commitment_rules
from councilbot.domain.japanese import when_label
from councilbot.domain.permissions import ROLE_GENERAL_AFFAIRS
from councilbot.domain.reminder_times import (
    DIGEST_JOB_ID,
    DIGEST_TIME,
    DIGEST_WEEKDAYS,
    KIND_LABELS,
    MISFIRE_GRACE,
    PlannedReminder,
    ReminderKind,
    digest_slot,
    is_due,
    parse_session_job_id,
    session_reminders,
)
from councilbot.domain.workflow import State
from councilbot.services.commitments import overdue_reminders, overdue_summary
from councilbot.services.status import UNASSIGNED, OverdueItem, question_label, session_status
from councilbot.storage.db import affected_rows
from councilbot.storage.models import CouncilSession, Department, Question, SentNotification, User

log = logging.getLogger(__name__)

# Work that lies with the responsible division and its approval chain.
DIVISION_WORK_STATES = (State.ASSIGNED, State.DRAFTING, State.IN_REVIEW)
STATUS_HINT = "進捗は `/council status` でいつでも確認できます。"


# --- delivery -------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderText:
    """What a reminder says to people: plain text, laid out by the chat adapter."""

    text: str


class Notifier(Protocol):
    """Where reminders go: a division's channel, or one person."""

    def post_to_channel(self, channel: str, message: ReminderText) -> object: ...

    def post_to_user(self, user_id: str, message: ReminderText) -> object: ...


@dataclass(frozen=True)
class Recipient:
    kind: Literal["channel", "user"]
    target: str  # channel id or chat user id

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.target}"


@dataclass(frozen=True)
class ReminderMessage:
    """One reminder to one recipient, recorded (SentNotification) before it is sent."""

    job_id: str
    fire_at: dt.datetime  # the reminder's planned time: with ``key`` it makes the message unique
    recipient: Recipient
    text: str

    @property
    def key(self) -> str:
        return f"{self.job_id}|{self.recipient.key}"

    def send(self, notifier: Notifier) -> None:
        if self.recipient.kind == "channel":
            notifier.post_to_channel(self.recipient.target, ReminderText(self.text))
        else:
            notifier.post_to_user(self.recipient.target, ReminderText(self.text))


@dataclass(frozen=True)
class Pending:
    """A recorded message not yet sent: its row and what it says."""

    row_id: int
    message: ReminderMessage
    attempts: int


def _message_of(row: SentNotification) -> ReminderMessage:
    job_id, _, recipient = row.job_key.rpartition("|")
    kind, _, target = recipient.partition(":")
    return ReminderMessage(job_id, row.fire_at, Recipient(kind, target), row.text or "")  # type: ignore[arg-type]


def record_run(db: Session, messages: Iterable[ReminderMessage], holder: str) -> int:
    """Record every message of a run before any is sent; returns how many were new.

    A message some process recorded already (the same job fired twice, across a
    take-over) keeps its row, so it is sent once.
    """
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    new = 0
    for message in messages:
        statement = (
            insert(SentNotification)
            .values(job_key=message.key, fire_at=message.fire_at, holder=holder, text=message.text, attempts=0)
            .on_conflict_do_nothing(index_elements=["job_key", "fire_at"])
        )
        new += affected_rows(db, statement)
    return new


def pending_messages(
    db: Session, *, now: dt.datetime, job_id: str | None = None, left_for: str | None = None
) -> list[Pending]:
    """Recorded messages nobody has started sending, whose time has come and is not yet past.

    ``job_id``: of that job only. ``left_for``: only what the process ``left_for`` is not
    sending in a run of its own — rows another process recorded, and refused ones.
    """
    stmt = select(SentNotification).where(
        SentNotification.sent_at.is_(None),
        SentNotification.sending_at.is_(None),
        SentNotification.text.is_not(None),
        (SentNotification.next_attempt_at.is_(None)) | (SentNotification.next_attempt_at <= now),
    )
    if job_id is not None:
        stmt = stmt.where(SentNotification.job_key.startswith(f"{job_id}|", autoescape=True))
    if left_for is not None:
        stmt = stmt.where((SentNotification.holder != left_for) | SentNotification.next_attempt_at.is_not(None))
    rows = db.scalars(stmt.order_by(SentNotification.id))
    return [Pending(r.id, _message_of(r), r.attempts) for r in rows if is_due(r.fire_at, now)]


def start_sending(db: Session, row_id: int, holder: str, now: dt.datetime) -> bool:
    """Take one pending message for sending; False when another process took it first."""
    return (
        affected_rows(
            db,
            update(SentNotification)
            .where(
                SentNotification.id == row_id, SentNotification.sent_at.is_(None), SentNotification.sending_at.is_(None)
            )
            .values(sending_at=now, holder=holder)
            .execution_options(synchronize_session=False),
        )
        == 1
    )


def mark_sent(db: Session, row_id: int, now: dt.datetime) -> None:
    db.execute(
        update(SentNotification)
        .where(SentNotification.id == row_id)
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )


def give_back(db: Session, row_id: int, *, retry_at: dt.datetime) -> None:
    """The chat tool refused the message: it is pending again, to be tried at ``retry_at`` (while still due)."""
    db.execute(
        update(SentNotification)
        .where(SentNotification.id == row_id, SentNotification.sent_at.is_(None))
        .values(sending_at=None, attempts=SentNotification.attempts + 1, next_attempt_at=retry_at)
        .execution_options(synchronize_session=False)
    )


@dataclass
class RunProgress:
    """A reminder run with messages not sent: what went out, what waits, what cannot be known."""

    job_id: str
    fire_at: dt.datetime
    sent: int
    waiting: int  # to be sent by the leader (after a refusal or a leader's death), while still due
    sending: int  # being sent by the live leader right now
    in_doubt: int  # its process died while sending it: it may or may not have arrived
    expired: int  # never sent, and now too late to be useful

    @property
    def label(self) -> str:
        parsed = parse_session_job_id(self.job_id)
        return KIND_LABELS.get(parsed[1] if parsed else self.job_id, self.job_id)

    def summary(self) -> str:
        parts = [f"送信済 {self.sent}件"]
        for count, what in (
            (self.waiting, "送信待ち"),
            (self.sending, "送信中"),
            (self.expired, "時刻を過ぎたため未送信"),
            (self.in_doubt, "送信中に処理が中断し、届いたか不明"),
        ):
            if count:
                parts.append(f"{what} {count}件")
        return "送信未完了（" + "・".join(parts) + "）"


def unfinished_runs(db: Session, *, now: dt.datetime, live_holder: str | None) -> list[RunProgress]:
    """Runs with a message not sent, oldest first; ``live_holder`` is the process holding the scheduler lease now."""
    rows = db.scalars(
        select(SentNotification)
        .where(SentNotification.text.is_not(None))
        .order_by(SentNotification.fire_at, SentNotification.id)
    )
    runs: dict[tuple[str, dt.datetime], RunProgress] = {}
    for row in rows:
        job_id = row.job_key.rpartition("|")[0]
        run = runs.setdefault((job_id, row.fire_at), RunProgress(job_id, row.fire_at, 0, 0, 0, 0, 0))
        if row.sent_at is not None:
            run.sent += 1
        elif row.sending_at is not None:
            if row.holder == live_holder:
                run.sending += 1
            else:
                run.in_doubt += 1
        elif is_due(row.fire_at, now) or row.fire_at > now:
            run.waiting += 1
        else:
            run.expired += 1
    return [r for r in runs.values() if r.waiting or r.sending or r.in_doubt or r.expired]


# --- wording --------------------------------------------------------------------


def _relative_day(target: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> str:
    days = (target.astimezone(tz).date() - now.astimezone(tz).date()).days
    return {0: "本日 ", 1: "明日 "}.get(days, "")


def _overdue_line(o: OverdueItem) -> str:
    division = "担当未定" if o.department == UNASSIGNED else o.department
    return f"・{o.key}　{o.title}（{division}・{o.label}）"


def _item_line(db: Session, q: Question) -> str:
    return f"・{q.key}　{q.title}（{q.member.seat_label} {q.member.name}議員）— {question_label(db, q)}"


# --- who receives ------------------------------------------------------------------


def _active_users(db: Session) -> list[User]:
    return [u for u in db.scalars(select(User).where(User.active.is_(True)).order_by(User.id)) if u.chat_id != "cli"]


def division_recipients(db: Session, department: Department) -> list[Recipient]:
    """The division's channel; without one, each of its registered staff directly."""
    if department.channel:
        return [Recipient("channel", department.channel)]
    return [Recipient("user", u.chat_id) for u in _active_users(db) if u.department_id == department.id]


def general_affairs_recipients(db: Session) -> list[Recipient]:
    channels = db.scalars(
        select(Department.channel)
        .where(Department.is_general_affairs.is_(True), Department.channel.is_not(None))
        .order_by(Department.id)
    ).all()
    if channels:
        return [Recipient("channel", c) for c in dict.fromkeys(channels) if c]
    return [Recipient("user", u.chat_id) for u in _active_users(db) if ROLE_GENERAL_AFFAIRS in (u.roles or [])]


def _division_work(
    db: Session, session_ids: Iterable[int], states: Iterable[State]
) -> dict[Department, list[Question]]:
    questions = db.scalars(
        select(Question)
        .where(
            Question.session_id.in_(list(session_ids)),
            Question.status.in_([s.value for s in states]),
            Question.responsible_department_id.is_not(None),
        )
        .order_by(Question.speaking_order, Question.key)
    )
    work: dict[Department, list[Question]] = defaultdict(list)
    for q in questions:
        work[q.responsible_department].append(q)  # type: ignore[index]
    return dict(sorted(work.items(), key=lambda kv: kv[0].id))


def _unassigned(db: Session, session_id: int) -> list[Question]:
    return list(
        db.scalars(
            select(Question)
            .where(Question.session_id == session_id, Question.status == State.RECEIVED.value)
            .order_by(Question.key)
        )
    )


# --- composing each reminder ----------------------------------------------------------


def _deadline_messages(
    db: Session, session: CouncilSession, plan: PlannedReminder, tz: ZoneInfo, now: dt.datetime
) -> list[ReminderMessage]:
    assert session.answer_deadline is not None
    deadline = f"{_relative_day(session.answer_deadline, now, tz)}{when_label(session.answer_deadline, tz)}"
    title = "【答弁締切のお知らせ】"
    messages: list[ReminderMessage] = []
    work = _division_work(db, [session.id], DIVISION_WORK_STATES)
    for department, items in work.items():
        text = "\n".join(
            [
                f"{title}{session.name}の答弁締切は{deadline}です。",
                f"{department.name}で未完了の質問が{len(items)}件あります。",
                "",
                *(_item_line(db, q) for q in items),
                "",
                "締切までに答弁の作成と決裁をお願いします。" + STATUS_HINT,
            ]
        )
        messages += [ReminderMessage(plan.job_id, plan.fire_at, r, text) for r in division_recipients(db, department)]
    unassigned = _unassigned(db, session.id)
    if work or unassigned:
        lines = [f"{title}{session.name}の答弁締切（{deadline}）に向けた未完了の状況です。", ""]
        if unassigned:
            lines.append(f"・担当未定 {len(unassigned)}件: " + "、".join(q.key for q in unassigned))
        for department, items in work.items():
            counts: dict[str, int] = defaultdict(int)
            for q in items:
                counts[question_label(db, q)] += 1
            lines.append(
                f"・{department.name} {len(items)}件（" + "、".join(f"{k} {v}" for k, v in counts.items()) + "）"
            )
        if work:
            lines += ["", "各担当課には未完了の質問を通知しました。"]
        if unassigned:
            lines.append("担当未定の質問は、担当課の決定をお願いします。")
        text = "\n".join(lines)
        messages += [ReminderMessage(plan.job_id, plan.fire_at, r, text) for r in general_affairs_recipients(db)]
    return messages


def _overdue_messages(
    db: Session, session: CouncilSession, plan: PlannedReminder, tz: ZoneInfo, now: dt.datetime
) -> list[ReminderMessage]:
    overdue = session_status(db, session.name, now=now).overdue
    if not overdue:
        return []
    assert session.answer_deadline is not None
    text = "\n".join(
        [
            f"【締切超過のご報告】{session.name}の答弁締切（{when_label(session.answer_deadline, tz)}）を過ぎて、"
            f"校了していない質問が{len(overdue)}件あります。",
            "",
            *(_overdue_line(o) for o in overdue),
            "",
            "担当課への状況確認をお願いします。" + STATUS_HINT,
        ]
    )
    return [ReminderMessage(plan.job_id, plan.fire_at, r, text) for r in general_affairs_recipients(db)]


def _review_messages(
    db: Session, session: CouncilSession, plan: PlannedReminder, tz: ZoneInfo, now: dt.datetime
) -> list[ReminderMessage]:
    assert session.review_meeting is not None
    meeting = f"{_relative_day(session.review_meeting, now, tz)}{when_label(session.review_meeting, tz)}"
    messages: list[ReminderMessage] = []
    for department, items in _division_work(db, [session.id], DIVISION_WORK_STATES).items():
        text = "\n".join(
            [
                f"【答弁検討会のお知らせ】{meeting}から{session.name}の答弁検討会を行います。",
                f"{department.name}で決裁が済んでいない質問が{len(items)}件あります。",
                "",
                *(_item_line(db, q) for q in items),
                "",
                "検討会までに答弁案の確認をお願いします。" + STATUS_HINT,
            ]
        )
        messages += [ReminderMessage(plan.job_id, plan.fire_at, r, text) for r in division_recipients(db, department)]
    return messages


def _digest_messages(db: Session, slot: dt.datetime, tz: ZoneInfo, now: dt.datetime) -> list[ReminderMessage]:
    sessions = list(
        db.scalars(select(CouncilSession).where(CouncilSession.closed.is_(False)).order_by(CouncilSession.id))
    )
    if not sessions:
        return []
    heading = f"【朝の進捗】{when_label(slot, tz)}時点"
    messages: list[ReminderMessage] = []
    by_id = {s.id: s for s in sessions}
    for department, items in _division_work(db, by_id, DIVISION_WORK_STATES).items():
        lines = [f"{heading}の{department.name}の議会答弁です。未完了 {len(items)}件。"]
        for session_id in dict.fromkeys(q.session_id for q in items):
            session = by_id[session_id]
            due = f"答弁締切 {when_label(session.answer_deadline, tz)}" if session.answer_deadline else "答弁締切 未定"
            lines += ["", f"■ {session.name}（{due}）"]
            lines += [_item_line(db, q) for q in items if q.session_id == session_id]
        lines += ["", STATUS_HINT]
        text = "\n".join(lines)
        messages += [ReminderMessage(DIGEST_JOB_ID, slot, r, text) for r in division_recipients(db, department)]
    summary: list[str] = []
    for session in sessions:
        report = session_status(db, session.name, now=now)
        total = sum(report.totals.values())
        if not total:
            continue
        summary += ["", f"■ {session.name}　全{total}件: " + "、".join(f"{k} {v}" for k, v in report.totals.items())]
        if report.overdue:
            summary += [f"　期限超過 {len(report.overdue)}件:", *(_overdue_line(o) for o in report.overdue)]
    if summary:
        text = "\n".join([f"{heading}の議会答弁の状況です。", *summary, "", STATUS_HINT])
        messages += [ReminderMessage(DIGEST_JOB_ID, slot, r, text) for r in general_affairs_recipients(db)]
    return messages


def _commitment_messages(db: Session, slot: dt.datetime, tz: ZoneInfo) -> list[ReminderMessage]:
    """Overdue commitments, to each division and in summary to General Affairs (services/commitments.py words them)."""
    day = slot.astimezone(tz).date()
    job_id = commitment_rules.REMINDER_JOB_ID
    messages = [
        ReminderMessage(job_id, slot, r, text)
        for dept, text in overdue_reminders(db, day)
        for r in division_recipients(db, dept)
    ]
    summary = overdue_summary(db, day)
    if summary:
        messages += [ReminderMessage(job_id, slot, r, summary) for r in general_affairs_recipients(db)]
    return messages


_COMPOSERS: dict[
    ReminderKind, Callable[[Session, CouncilSession, PlannedReminder, ZoneInfo, dt.datetime], list[ReminderMessage]]
] = {
    ReminderKind.DEADLINE_EVE: _deadline_messages,
    ReminderKind.DEADLINE_DAY: _deadline_messages,
    ReminderKind.OVERDUE: _overdue_messages,
    ReminderKind.REVIEW_EVE: _review_messages,
}


def planned_for(session: CouncilSession, tz: ZoneInfo) -> list[PlannedReminder]:
    return session_reminders(
        session.id,
        answer_deadline=session.answer_deadline,
        review_meeting=session.review_meeting,
        closed=session.closed,
        tz=tz,
    )


def compose(db: Session, job_id: str, *, now: dt.datetime, tz: ZoneInfo) -> list[ReminderMessage]:
    """What the job ``job_id`` sends at ``now``, from the data as it is now (nothing when not due)."""
    if job_id == DIGEST_JOB_ID:
        slot = digest_slot(now, tz)
        return _digest_messages(db, slot, tz, now) if is_due(slot, now) else []
    if job_id == commitment_rules.REMINDER_JOB_ID:
        slot = commitment_rules.reminder_slot(now, tz)
        return _commitment_messages(db, slot, tz) if is_due(slot, now) else []
    parsed = parse_session_job_id(job_id)
    session = db.get(CouncilSession, parsed[0]) if parsed else None
    if parsed is None or session is None:
        return []
    plan = next((p for p in planned_for(session, tz) if p.kind == parsed[1]), None)
    if plan is None or not is_due(plan.fire_at, now):
        return []  # closed, moved later, or too late to be worth sending
    return _COMPOSERS[plan.kind](db, session, plan, tz, now)


# --- the jobs -----------------------------------------------------------------------


@dataclass
class SyncReport:
    added: list[str]
    moved: list[str]
    removed: list[str]


# Jobs that run on a weekly clock rather than a session's dates: (id, days, time, label).
_WEEKLY_JOBS = (
    (DIGEST_JOB_ID, DIGEST_WEEKDAYS, DIGEST_TIME, KIND_LABELS[DIGEST_JOB_ID]),
    (
        commitment_rules.REMINDER_JOB_ID,
        commitment_rules.REMINDER_WEEKDAY,
        commitment_rules.REMINDER_TIME,
        commitment_rules.REMINDER_LABEL,
    ),
)


def _job_options() -> dict[str, Any]:
    return {
        "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
        "coalesce": True,
        "max_instances": 1,
        "replace_existing": True,
    }


def sync_jobs(scheduler: BaseScheduler, db: Session, *, now: dt.datetime, tz: ZoneInfo, func: str) -> SyncReport:
    """Make the scheduled jobs match the sessions; ``func`` is the job function's textual reference."""
    report = SyncReport([], [], [])
    sessions = db.scalars(select(CouncilSession).where(CouncilSession.closed.is_(False)))
    planned = {p.job_id: p for s in sessions for p in planned_for(s, tz)}
    existing = {job.id: job for job in scheduler.get_jobs()}
    for job_id in existing:
        if parse_session_job_id(job_id) and job_id not in planned:
            try:
                scheduler.remove_job(job_id)
            except JobLookupError:  # another process removed it first
                continue
            report.removed.append(job_id)
    for job_id, plan in planned.items():
        job = existing.get(job_id)
        if job is not None and job.next_run_time != plan.fire_at:
            scheduler.reschedule_job(job_id, trigger=DateTrigger(run_date=plan.fire_at, timezone=tz))
            report.moved.append(job_id)
        elif job is None and plan.fire_at > now:
            # A job already fired is gone from the store; only future ones are (re)added.
            scheduler.add_job(
                func,
                DateTrigger(run_date=plan.fire_at, timezone=tz),
                args=[job_id],
                id=job_id,
                name=KIND_LABELS[plan.kind],
                **_job_options(),
            )
            report.added.append(job_id)
    for job_id, days, time, label in _WEEKLY_JOBS:
        if job_id not in existing:
            trigger = CronTrigger(day_of_week=days, hour=time.hour, minute=time.minute, timezone=tz)
            scheduler.add_job(func, trigger, args=[job_id], id=job_id, name=label, **_job_options())
            report.added.append(job_id)
    return report


@dataclass
class JobRow:
    job_id: str
    label: str
    at: dt.datetime  # planned time (the digest: its next run)
    state: str  # 予定 / 送信済 / 時刻経過


@dataclass
class SessionJobs:
    session: CouncilSession
    jobs: list[JobRow]


def list_jobs(
    scheduler: BaseScheduler, db: Session, *, now: dt.datetime, tz: ZoneInfo, live_holder: str | None = None
) -> tuple[list[SessionJobs], list[JobRow]]:
    """Every open session's reminders with their state, and the next run of each weekly job (the morning
    digest, the overdue-commitments reminder) that is scheduled."""
    scheduled = {job.id: job for job in scheduler.get_jobs()}
    sent: dict[tuple[str, dt.datetime], int] = defaultdict(int)
    for key, fire_at in db.execute(
        select(SentNotification.job_key, SentNotification.fire_at).where(
            SentNotification.job_key.like("session:%"), SentNotification.sent_at.is_not(None)
        )
    ):
        sent[(key.split("|")[0], fire_at)] += 1
    unfinished = {(r.job_id, r.fire_at): r for r in unfinished_runs(db, now=now, live_holder=live_holder)}
    result: list[SessionJobs] = []
    for session in db.scalars(
        select(CouncilSession).where(CouncilSession.closed.is_(False)).order_by(CouncilSession.id)
    ):
        rows = []
        for plan in planned_for(session, tz):
            delivered = sent.get((plan.job_id, plan.fire_at), 0)
            run = unfinished.get((plan.job_id, plan.fire_at))
            if plan.job_id in scheduled:
                state = "予定"
            elif run is not None:
                state = run.summary()
            elif delivered:
                state = f"送信済（{delivered}件）"
            else:
                state = "時刻経過" if plan.fire_at <= now else "未登録"
            rows.append(JobRow(plan.job_id, KIND_LABELS[plan.kind], plan.fire_at, state))
        result.append(SessionJobs(session, rows))
    weekly = [
        JobRow(job_id, label, job.next_run_time, "予定")
        for job_id, _, _, label in _WEEKLY_JOBS
        if (job := scheduled.get(job_id)) is not None and job.next_run_time
    ]
    return result, weekly
