"""Reminder timing (pure rules), what reminders say, and jobs that follow the sessions (SQLite)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from councilbot.adapters import scheduler as scheduler_module
from councilbot.adapters.scheduler import RETRY_DELAY, SchedulerRunner, jobstore_scheduler, open_schedule, sync
from councilbot.domain.commitments import REMINDER_JOB_ID, REMINDER_TIME
from councilbot.domain.reminder_times import (
    DIGEST_JOB_ID,
    DIGEST_TIME,
    ReminderKind,
    digest_slot,
    is_due,
    previous_business_day,
    session_job_id,
    session_reminders,
)
from councilbot.errors import PermissionDenied
from councilbot.services import assignment, intake, review
from councilbot.services.common import get_council_session, get_question, get_user
from councilbot.services.reminders import compose, list_jobs, unfinished_runs
from councilbot.services.sessions import update_session
from councilbot.storage.db import session_scope
from councilbot.storage.models import AuditEntry, SentNotification

TZ = ZoneInfo("Asia/Tokyo")
SESSION = "令和8年12月定例会"  # tests/data/org_small.yaml: 答弁締切 11/27(金) 17:00, 検討会 11/30(月) 10:00


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


# --- the rules ----------------------------------------------------------------------


def test_deadline_and_review_reminders_fall_on_business_days_in_local_time():
    plan = session_reminders(
        1, answer_deadline=jst(2026, 11, 27, 17), review_meeting=jst(2026, 11, 30, 10), closed=False, tz=TZ
    )
    assert [(p.kind, p.fire_at) for p in plan] == [
        (ReminderKind.DEADLINE_EVE, jst(2026, 11, 26, 17)),
        (ReminderKind.DEADLINE_DAY, jst(2026, 11, 27, 9)),
        (ReminderKind.REVIEW_EVE, jst(2026, 11, 27, 16)),  # Monday's meeting is announced on Friday
        (ReminderKind.OVERDUE, jst(2026, 11, 27, 17)),
    ]
    assert plan[0].job_id == "session:1:deadline_eve"


def test_an_early_monday_deadline_gets_a_friday_reminder_and_no_same_day_one():
    utc_deadline = jst(2026, 11, 30, 9).astimezone(dt.UTC)  # stored as UTC, planned in local time
    plan = session_reminders(7, answer_deadline=utc_deadline, review_meeting=None, closed=False, tz=TZ)
    assert [(p.kind, p.fire_at) for p in plan] == [
        (ReminderKind.DEADLINE_EVE, jst(2026, 11, 27, 17)),
        (ReminderKind.OVERDUE, jst(2026, 11, 30, 9)),
    ]


def test_a_closed_session_or_one_without_dates_has_no_reminders():
    assert session_reminders(1, answer_deadline=jst(2026, 11, 27, 17), review_meeting=None, closed=True, tz=TZ) == []
    assert session_reminders(1, answer_deadline=None, review_meeting=None, closed=False, tz=TZ) == []


@pytest.mark.parametrize(
    "now, slot",
    [
        (jst(2026, 11, 24, 9, 0), jst(2026, 11, 24, 8, 30)),  # Tuesday morning
        (jst(2026, 11, 24, 8, 0), jst(2026, 11, 23, 8, 30)),  # before 8:30: yesterday's
        (jst(2026, 11, 28, 10, 0), jst(2026, 11, 27, 8, 30)),  # Saturday: Friday's
        (jst(2026, 11, 30, 8, 29), jst(2026, 11, 27, 8, 30)),  # Monday before 8:30: Friday's
    ],
)
def test_digest_slot_is_the_last_weekday_morning(now, slot):
    assert digest_slot(now, TZ) == slot


def test_a_reminder_is_due_from_its_time_for_an_hour():
    at = jst(2026, 11, 26, 17)
    assert not is_due(at, at - dt.timedelta(seconds=1))
    assert is_due(at, at) and is_due(at, at + dt.timedelta(minutes=59))
    assert not is_due(at, at + dt.timedelta(hours=1, seconds=1))
    assert previous_business_day(dt.date(2026, 11, 30)) == dt.date(2026, 11, 27)


# --- what the reminders say -----------------------------------------------------------


def _question(db, seat, item, title):
    data = intake.QuestionInput(
        session_name=SESSION,
        seat=seat,
        question_type="一般質問",
        item_no=item,
        title=title,
        body=f"{title}について伺う。",
    )
    return intake.register_question(db, get_user(db, "UGA1"), data).question.key


@pytest.fixture
def work(org):
    """Three items: one drafting in 危機管理課, one at the 部長 stage in 学校教育課, one unassigned."""
    with session_scope(org) as db:
        drafting = _question(db, 16, "1", "避難所運営について")
        in_review = _question(db, 3, "1", "不登校対策について")
        unassigned = _question(db, 21, "1", "給食費について")
    steps = [
        ("UGA1", assignment.assign, drafting, ("危機管理課",), {}),
        ("UKK1", review.save_revision, drafting, (), {"answer": "お答えいたします。"}),
        ("UGA1", assignment.assign, in_review, ("学校教育課",), {}),
        ("UGK1", review.save_revision, in_review, (), {"answer": "お答えいたします。"}),
        ("UGK1", review.submit, in_review, (), {}),
        ("UGK2", review.approve, in_review, (), {}),
    ]
    for user, fn, key, args, kwargs in steps:
        with session_scope(org) as db:
            fn(db, get_user(db, user), key, *args, **kwargs)
    return org, {"drafting": drafting, "in_review": in_review, "unassigned": unassigned}


def _job(db, kind):
    return session_job_id(get_council_session(db, SESSION).id, kind)


def test_deadline_eve_reminder_tells_each_division_its_unfinished_items_and_stage(work):
    settings, keys = work
    with session_scope(settings) as db:
        messages = compose(db, _job(db, ReminderKind.DEADLINE_EVE), now=jst(2026, 11, 26, 17), tz=TZ)
    by_target = {m.recipient.target: m.text for m in messages}
    assert set(by_target) == {"C0KIKI", "C0GAKU", "C0SOMU"}
    kiki = by_target["C0KIKI"]
    assert "令和8年12月定例会の答弁締切は明日 11月27日（金）17:00です。" in kiki
    assert f"{keys['drafting']}　避難所運営について（16番 山田 太郎議員）— 答弁作成中" in kiki
    assert keys["in_review"] not in kiki  # each division sees its own items only
    assert "不登校対策について（3番 青木 健一議員）— 部長確認中" in by_target["C0GAKU"]
    ga = by_target["C0SOMU"]
    assert f"担当未定 1件: {keys['unassigned']}" in ga and "危機管理課 1件（答弁作成中 1）" in ga


def test_overdue_report_goes_to_general_affairs_only(work):
    settings, keys = work
    with session_scope(settings) as db:
        messages = compose(db, _job(db, ReminderKind.OVERDUE), now=jst(2026, 11, 27, 17, 0, 30), tz=TZ)
    assert [m.recipient.target for m in messages] == ["C0SOMU"]
    assert "【締切超過のご報告】" in messages[0].text and "校了していない質問が3件" in messages[0].text
    assert f"{keys['unassigned']}　給食費について（担当未定・受付）" in messages[0].text
    assert f"{keys['in_review']}　不登校対策について（学校教育課・部長確認中）" in messages[0].text


def test_morning_digest_reaches_divisions_with_open_work_and_general_affairs(work):
    settings, keys = work
    with session_scope(settings) as db:
        messages = compose(db, DIGEST_JOB_ID, now=jst(2026, 11, 24, 8, 30), tz=TZ)
        late = compose(db, DIGEST_JOB_ID, now=jst(2026, 11, 24, 10, 0), tz=TZ)
    assert sorted(m.recipient.target for m in messages) == ["C0GAKU", "C0KIKI", "C0SOMU"]
    assert all(m.fire_at == jst(2026, 11, 24, 8, 30) for m in messages)
    kiki = next(m.text for m in messages if m.recipient.target == "C0KIKI")
    assert kiki.startswith("【朝の進捗】11月24日（火）8:30時点の危機管理課の議会答弁です。未完了 1件。")
    assert "■ 令和8年12月定例会（答弁締切 11月27日（金）17:00）" in kiki and keys["drafting"] in kiki
    assert late == []  # more than an hour late: tomorrow's digest says it better


def test_a_moved_or_closed_session_composes_nothing_at_the_old_time(work):
    settings, _ = work
    with session_scope(settings) as db:
        job = _job(db, ReminderKind.DEADLINE_EVE)
        update_session(db, get_user(db, "UGA1"), SESSION, answer_deadline=jst(2026, 12, 2, 17))
    with session_scope(settings) as db:
        assert compose(db, job, now=jst(2026, 11, 26, 17), tz=TZ) == []
        assert compose(db, job, now=jst(2026, 12, 1, 17), tz=TZ)  # the new eve
        update_session(db, get_user(db, "UGA1"), SESSION, closed=True)
    with session_scope(settings) as db:
        assert compose(db, job, now=jst(2026, 12, 1, 17), tz=TZ) == []


# --- sessions and jobs --------------------------------------------------------------------


def test_changing_the_deadline_moves_open_items_and_is_audited_but_only_general_affairs_may(work):
    settings, keys = work
    with session_scope(settings) as db:
        version = get_question(db, keys["in_review"]).version
        with pytest.raises(PermissionDenied):
            update_session(db, get_user(db, "UKK2"), SESSION, answer_deadline=jst(2026, 12, 2, 17))
        result = update_session(db, get_user(db, "UGA1"), SESSION, answer_deadline=jst(2026, 12, 2, 17))
        assert result.moved_questions == 3
    with session_scope(settings) as db:
        q = get_question(db, keys["in_review"])
        assert q.due_at == jst(2026, 12, 2, 17)
        assert q.version == version  # approvers at work on it are not told their copy is stale
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "session.update"))
        assert entry.actor == "UGA1" and entry.details["answer_deadline"] == "2026-12-02T17:00:00+09:00"


def _scheduled(settings):
    with open_schedule(settings) as scheduler:
        return {job.id: job.next_run_time for job in scheduler.get_jobs()}


def test_jobs_follow_the_session_added_moved_and_removed(org):
    now = jst(2026, 11, 21, 15)
    with open_schedule(org) as scheduler:
        report = sync(org, scheduler, now)
        assert len(report.added) == 6  # four session reminders, the digest and the weekly commitments reminder
        assert sync(org, scheduler, now).added == []  # idempotent
    with session_scope(org) as db:
        session_id = get_council_session(db, SESSION).id
        update_session(db, get_user(db, "UGA1"), SESSION, answer_deadline=jst(2026, 12, 2, 17))
    with open_schedule(org) as scheduler:
        report = sync(org, scheduler, now)
    assert sorted(report.moved) == [f"session:{session_id}:{k}" for k in ("deadline_day", "deadline_eve", "overdue")]
    jobs = _scheduled(org)
    assert jobs[f"session:{session_id}:deadline_eve"] == jst(2026, 12, 1, 17)
    assert jobs[f"session:{session_id}:overdue"] == jst(2026, 12, 2, 17)
    assert jobs[f"session:{session_id}:review_eve"] == jst(2026, 11, 27, 16)
    with session_scope(org) as db:
        update_session(db, get_user(db, "UGA1"), SESSION, closed=True)
    with open_schedule(org) as scheduler:
        assert len(sync(org, scheduler, now).removed) == 4
    assert sorted(_scheduled(org)) == sorted([DIGEST_JOB_ID, REMINDER_JOB_ID])


def test_the_schedule_lists_both_weekly_jobs_with_their_next_run(org):
    now = jst(2026, 11, 24, 9)
    with open_schedule(org) as scheduler:
        sync(org, scheduler, now)
        with session_scope(org) as db:
            _, weekly = list_jobs(scheduler, db, now=now, tz=TZ)
    runs = {row.job_id: row for row in weekly}
    assert sorted(runs) == sorted([DIGEST_JOB_ID, REMINDER_JOB_ID])
    assert "朝の進捗" in runs[DIGEST_JOB_ID].label and "答弁の約束" in runs[REMINDER_JOB_ID].label
    # Weekly triggers count from the real clock: a Monday morning, and a weekday morning, to come.
    reminder, digest = (runs[job].at.astimezone(TZ) for job in (REMINDER_JOB_ID, DIGEST_JOB_ID))
    assert reminder.weekday() == 0 and reminder.time() == REMINDER_TIME
    assert digest.weekday() < 5 and digest.time() == DIGEST_TIME
    assert min(reminder, digest) > dt.datetime.now(TZ)


class RecordingNotifier:
    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []

    def post_to_channel(self, channel, message):  # type: ignore[no-untyped-def]
        self.posts.append((channel, message.text))

    def post_to_user(self, user_id, message):  # type: ignore[no-untyped-def]
        self.posts.append((user_id, message.text))


def test_a_job_fired_twice_sends_each_message_once(work):
    settings, _ = work
    notifier = RecordingNotifier()
    runner = SchedulerRunner(settings, notifier, clock=lambda: jst(2026, 11, 26, 17, 0, 5))
    with session_scope(settings) as db:
        job = _job(db, ReminderKind.DEADLINE_EVE)
    runner.fire(job)
    runner.fire(job)  # e.g. a new leader re-running a job the old one had started
    assert sorted(c for c, _ in notifier.posts) == ["C0GAKU", "C0KIKI", "C0SOMU"]
    with session_scope(settings) as db:
        assert (
            db.scalar(select(func.count()).select_from(SentNotification).where(SentNotification.sent_at.is_not(None)))
            == 3
        )


class FailingOnceNotifier(RecordingNotifier):
    """The first post to one channel fails with ``error``: the chat tool refuses it (a rate limit
    that outlasted retries), or the process dies while sending (an exception no handler catches)."""

    def __init__(self, channel: str, error: BaseException) -> None:
        super().__init__()
        self.channel: str | None = channel
        self.error = error

    def post_to_channel(self, channel, message):
        if channel == self.channel:
            self.channel = None
            raise self.error
        return super().post_to_channel(channel, message)


class Clock:
    """The runner's clock, moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_refused_reminder_is_given_back_and_retried_once_without_resending_the_others(work):
    # The retry is a recorded pending message, not a job timed against the machine's clock:
    # a job planned for the test's time was already past for APScheduler's own clock, which
    # dropped it as missed whenever its thread ran before the assertion (on a busy machine).
    settings, _ = work
    notifier = FailingOnceNotifier("C0KIKI", RuntimeError("chat.postMessage failed"))
    clock = Clock(jst(2026, 11, 26, 17, 0, 5))
    runner = SchedulerRunner(settings, notifier, clock=clock)
    with session_scope(settings) as db:
        job = _job(db, ReminderKind.DEADLINE_EVE)
    runner.fire(job)
    assert sorted(c for c, _ in notifier.posts) == ["C0GAKU", "C0SOMU"]
    runner.send_pending()
    assert len(notifier.posts) == 2  # not before the retry delay
    clock.now += RETRY_DELAY
    runner.send_pending()  # the retry
    runner.fire(job)  # the job fired again sends nothing twice
    assert sorted(c for c, _ in notifier.posts) == ["C0GAKU", "C0KIKI", "C0SOMU"]
    with session_scope(settings) as db:
        assert (
            db.scalar(select(func.count()).select_from(SentNotification).where(SentNotification.sent_at.is_not(None)))
            == 3
        )


def test_a_run_the_leader_dies_in_is_finished_by_the_next_leader_each_message_once(work, monkeypatch):
    settings, _ = work
    # APScheduler's thread reads the machine's clock, not the test's: keep it from running jobs.
    monkeypatch.setattr(
        scheduler_module, "jobstore_scheduler", lambda cfg, paused: jobstore_scheduler(cfg, paused=True)
    )
    clock = Clock(jst(2026, 11, 26, 17, 0, 5))
    dying = SchedulerRunner(settings, FailingOnceNotifier("C0GAKU", KeyboardInterrupt("killed")), clock=clock)
    with session_scope(settings) as db:
        job = _job(db, ReminderKind.DEADLINE_EVE)
    with pytest.raises(KeyboardInterrupt):
        dying.fire(job)  # sent to 危機管理課, died while sending to 学校教育課; 総務課 not reached
    assert [c for c, _ in dying.notifier.posts] == ["C0KIKI"]

    with open_schedule(settings) as scheduler, session_scope(settings) as db:
        sessions, _ = list_jobs(scheduler, db, now=clock.now, tz=TZ)
        runs = unfinished_runs(db, now=clock.now, live_holder=None)
    state = next(j.state for j in sessions[0].jobs if j.job_id == job)
    assert state == "送信未完了（送信済 1件・送信待ち 1件・送信中に処理が中断し、届いたか不明 1件）"
    assert [(r.job_id, r.sent, r.waiting, r.in_doubt) for r in runs] == [(job, 1, 1, 1)]

    successor = RecordingNotifier()
    clock.now += dt.timedelta(seconds=40)  # the dead leader's lease has run out
    runner = SchedulerRunner(settings, successor, clock=clock)
    try:
        runner.tick()
        assert runner.is_leader
        assert [c for c, _ in successor.posts] == ["C0SOMU"]  # what was left, and only that
        runner.fire(job)  # fired again by the new leader: nothing twice
        runner.tick()
        assert len(successor.posts) == 1
    finally:
        runner.shutdown()
    with session_scope(settings) as db:
        assert (
            db.scalar(select(func.count()).select_from(SentNotification).where(SentNotification.sent_at.is_not(None)))
            == 2
        )
        assert [
            (r.sent, r.waiting, r.in_doubt) for r in unfinished_runs(db, now=clock.now, live_holder=runner.holder)
        ] == [(2, 0, 1)]
