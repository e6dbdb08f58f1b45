"""When reminders go out (通知の時刻): pure rules from a session's dates and the clock.

Every timing the bot keeps is set here, in city-hall terms and in local time
(``TZ_NAME``, Asia/Tokyo by default):

- 答弁締切の前日通知: the business day before the answer deadline, 17:00;
- 答弁締切の当日通知: the deadline's day, 9:00 (only when the deadline is later);
- 締切超過の報告: at the deadline itself, to General Affairs;
- 答弁検討会の前日通知: the business day before the review meeting, 16:00;
- 朝の進捗通知: every weekday at 8:30, to each division with open work.

A reminder is worth sending for ``MISFIRE_GRACE`` after its time (a bot that was
down at 17:00 still reminds at 17:30); later than that it is skipped, since the
next one, or the morning digest, says the same more truthfully.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

DEADLINE_EVE_TIME = dt.time(17, 0)
DEADLINE_DAY_TIME = dt.time(9, 0)
REVIEW_EVE_TIME = dt.time(16, 0)
DIGEST_TIME = dt.time(8, 30)
DIGEST_WEEKDAYS = "mon-fri"  # APScheduler cron day_of_week
MISFIRE_GRACE = dt.timedelta(hours=1)

DIGEST_JOB_ID = "digest"


class ReminderKind(StrEnum):
    DEADLINE_EVE = "deadline_eve"
    DEADLINE_DAY = "deadline_day"
    OVERDUE = "overdue"
    REVIEW_EVE = "review_eve"


KIND_LABELS: dict[str, str] = {
    ReminderKind.DEADLINE_EVE: "答弁締切の前日通知（担当課あて）",
    ReminderKind.DEADLINE_DAY: "答弁締切の当日通知（担当課あて）",
    ReminderKind.OVERDUE: "締切超過の報告（総務課あて）",
    ReminderKind.REVIEW_EVE: "答弁検討会の前日通知（担当課あて）",
    DIGEST_JOB_ID: f"朝の進捗通知（平日{DIGEST_TIME.hour}:{DIGEST_TIME.minute:02d}、各課あて）",
}


@dataclass(frozen=True)
class PlannedReminder:
    session_id: int
    kind: ReminderKind
    fire_at: dt.datetime  # aware

    @property
    def job_id(self) -> str:
        return session_job_id(self.session_id, self.kind)


def session_job_id(session_id: int, kind: ReminderKind) -> str:
    return f"session:{session_id}:{kind}"


def parse_session_job_id(job_id: str) -> tuple[int, ReminderKind] | None:
    parts = job_id.split(":")
    if len(parts) != 3 or parts[0] != "session" or not parts[1].isdigit():
        return None
    try:
        return int(parts[1]), ReminderKind(parts[2])
    except ValueError:
        return None


def previous_business_day(day: dt.date) -> dt.date:
    """The weekday before ``day`` (前開庁日): a Monday deadline is announced on Friday."""
    day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _at(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz)


def session_reminders(
    session_id: int,
    *,
    answer_deadline: dt.datetime | None,
    review_meeting: dt.datetime | None,
    closed: bool,
    tz: ZoneInfo,
) -> list[PlannedReminder]:
    """Every reminder a session has, past or future, ordered by time. A closed session has none."""
    if closed:
        return []
    planned: list[PlannedReminder] = []
    if answer_deadline is not None:
        local = answer_deadline.astimezone(tz)
        for kind, at in (
            (ReminderKind.DEADLINE_EVE, _at(previous_business_day(local.date()), DEADLINE_EVE_TIME, tz)),
            (ReminderKind.DEADLINE_DAY, _at(local.date(), DEADLINE_DAY_TIME, tz)),
            (ReminderKind.OVERDUE, local),
        ):
            if kind == ReminderKind.OVERDUE or at < local:  # no "today" reminder for a 9:00 deadline
                planned.append(PlannedReminder(session_id, kind, at))
    if review_meeting is not None:
        local = review_meeting.astimezone(tz)
        planned.append(
            PlannedReminder(
                session_id, ReminderKind.REVIEW_EVE, _at(previous_business_day(local.date()), REVIEW_EVE_TIME, tz)
            )
        )
    return sorted(planned, key=lambda p: p.fire_at)


def digest_slot(now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The latest weekday-morning digest time at or before ``now``."""
    local = now.astimezone(tz)
    day = local.date()
    if local.time() < DIGEST_TIME:
        day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return _at(day, DIGEST_TIME, tz)


def is_due(fire_at: dt.datetime, now: dt.datetime) -> bool:
    """Time to send: reached, and not so long ago that the message would mislead."""
    return fire_at <= now <= fire_at + MISFIRE_GRACE
