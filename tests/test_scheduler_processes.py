"""Two bot processes on one PostgreSQL database, a test-controlled clock, the fake Slack API.

Each reminder reaches Slack once and at its time while both processes run; when
the leader is killed, the other takes the scheduler over and goes on.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, inspect, select

from councilbot.services import assignment, intake, review
from councilbot.services.common import get_user
from councilbot.storage.db import make_engine, session_scope
from councilbot.storage.models import SchedulerLease, SentNotification
from tests.fake_slack import BOT_TOKEN, FakeSlack

pytestmark = pytest.mark.postgres

TZ = ZoneInfo("Asia/Tokyo")
ROOT = Path(__file__).parent.parent
SETTLE_SECONDS = 0.5  # ten scheduler ticks: long enough for a duplicate to show up


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


class Clock:
    def __init__(self, path: Path, start: dt.datetime) -> None:
        self.path = path
        self.set(start)

    def set(self, value: dt.datetime) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(value.isoformat(), encoding="utf-8")
        tmp.replace(self.path)  # the processes never read half a time
        self.now = value


def _prepare(settings) -> None:  # type: ignore[no-untyped-def]
    """危機管理課 drafting one answer, 学校教育課 with one at the 部長 stage (org_small: 締切 11/27 17:00, 検討会 11/30 10:00)."""
    with session_scope(settings) as db:
        ga = get_user(db, "UGA1")
        for seat, title in ((16, "避難所運営について"), (3, "不登校対策について")):
            data = intake.QuestionInput(
                session_name="令和8年12月定例会",
                seat=seat,
                question_type="一般質問",
                item_no="1",
                title=title,
                body=f"{title}伺う。",
            )
            intake.register_question(db, ga, data)
    for user, fn, key, args, kwargs in (
        ("UGA1", assignment.assign, "R8-12-16-1", ("危機管理課",), {}),
        ("UGA1", assignment.assign, "R8-12-3-1", ("学校教育課",), {}),
        ("UGK1", review.save_revision, "R8-12-3-1", (), {"answer": "お答えいたします。"}),
        ("UGK1", review.submit, "R8-12-3-1", (), {}),
        ("UGK2", review.approve, "R8-12-3-1", (), {}),
    ):
        with session_scope(settings) as db:
            fn(db, get_user(db, user), key, *args, **kwargs)


def _spawn(settings, slack: FakeSlack, clock: Clock) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "TZ_NAME": "Asia/Tokyo",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.scheduler_worker", str(clock.path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    proc.holder = proc.stdout.readline().strip()  # type: ignore[attr-defined]
    return proc


def _lease(settings) -> SchedulerLease | None:  # type: ignore[no-untyped-def]
    with session_scope(settings) as db:
        return db.get(SchedulerLease, "scheduler")


def _wait(predicate, what: str, attempts: int = 750):  # type: ignore[no-untyped-def]
    for _ in range(attempts):
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _leader_saw(settings, clock: Clock, holder: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Wait until the leader has renewed its lease at the clock's current time (it ticked with it)."""

    def seen() -> bool:
        lease = _lease(settings)
        return bool(
            lease
            and lease.expires_at == clock.now + dt.timedelta(seconds=30)
            and (holder is None or lease.holder == holder)
        )

    _wait(seen, f"the leader to see {clock.now}")


def _posts(slack: FakeSlack) -> list[tuple[str, str]]:
    return [(c.args.get("channel"), str(c.args.get("text"))) for c in slack.of("chat.postMessage")]


def _step(
    settings, slack: FakeSlack, clock: Clock, at: dt.datetime, expected: dict[str, str], holder: str | None = None
) -> None:  # type: ignore[no-untyped-def]
    """Move the clock to ``at``; exactly ``expected`` (channel → text marker) arrives, once each."""
    before = len(_posts(slack))
    clock.set(at)
    _leader_saw(settings, clock, holder)
    _wait(lambda: len(_posts(slack)) >= before + len(expected), f"{len(expected)} posts at {at}")
    time.sleep(SETTLE_SECONDS)
    new = _posts(slack)[before:]
    assert sorted(ch for ch, _ in new) == sorted(expected), new
    for channel, text in new:
        assert expected[channel] in text, (channel, text)


def test_two_processes_deliver_each_reminder_once_on_time_and_take_over_when_the_leader_dies(pg_org, tmp_path):
    settings = pg_org
    _prepare(settings)
    clock = Clock(tmp_path / "clock", jst(2026, 11, 26, 16, 0))
    with FakeSlack() as slack:
        a = _spawn(settings, slack, clock)
        b = _spawn(settings, slack, clock)
        try:
            first = _wait(lambda: (lease := _lease(settings)) and lease.holder, "a leader")
            leader, follower = (a, b) if first == a.holder else (b, a)
            _wait(
                lambda: _count_jobs(settings) == 6, "the leader to schedule the session's jobs"
            )  # four session reminders, the digest, the weekly commitments reminder

            # Before its time nothing goes out; at its time, once, whichever processes run.
            clock.set(jst(2026, 11, 26, 16, 59, 59))
            _leader_saw(settings, clock, leader.holder)
            time.sleep(SETTLE_SECONDS)
            assert _posts(slack) == []
            eve = "答弁締切は明日 11月27日（金）17:00です"
            _step(
                settings,
                slack,
                clock,
                jst(2026, 11, 26, 17, 0, 1),
                {"C0KIKI": eve, "C0GAKU": eve, "C0SOMU": "未完了の状況です"},
                leader.holder,
            )

            # The leader dies without a word; its lease runs out and the other process takes over.
            leader.send_signal(signal.SIGKILL)
            leader.wait()
            clock.set(jst(2026, 11, 27, 8, 0))
            _wait(lambda: (lease := _lease(settings)) and lease.holder == follower.holder, "the take-over")

            digest = "【朝の進捗】11月27日（金）8:30時点"
            _step(
                settings,
                slack,
                clock,
                jst(2026, 11, 27, 8, 30, 1),
                {"C0KIKI": digest, "C0GAKU": digest, "C0SOMU": digest},
                follower.holder,
            )
            today = "答弁締切は本日 11月27日（金）17:00です"
            _step(
                settings,
                slack,
                clock,
                jst(2026, 11, 27, 9, 0, 1),
                {"C0KIKI": today, "C0GAKU": today, "C0SOMU": "未完了の状況です"},
                follower.holder,
            )
            meeting = "【答弁検討会のお知らせ】11月30日（月）10:00から"
            _step(
                settings,
                slack,
                clock,
                jst(2026, 11, 27, 16, 0, 1),
                {"C0KIKI": meeting, "C0GAKU": meeting},
                follower.holder,
            )
            _step(
                settings,
                slack,
                clock,
                jst(2026, 11, 27, 17, 0, 1),
                {"C0SOMU": "校了していない質問が2件"},
                follower.holder,
            )
        finally:
            for proc in (a, b):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)
    with session_scope(settings) as db:
        assert (
            db.scalar(select(func.count()).select_from(SentNotification).where(SentNotification.sent_at.is_not(None)))
            == 12
        )
    # A clean stop gives the lease back at once.
    assert _lease(settings).expires_at <= clock.now


def _count_jobs(settings) -> int:  # type: ignore[no-untyped-def]
    with make_engine(settings.database_url).connect() as conn:
        if not inspect(conn).has_table("apscheduler_jobs"):  # the leader's job store creates it
            return 0
        return conn.exec_driver_sql("SELECT count(*) FROM apscheduler_jobs").scalar_one()


def _jobs_report(settings) -> str:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": settings.database_url, "TZ_NAME": "Asia/Tokyo"}
    result = subprocess.run(
        [sys.executable, "-m", "councilbot", "jobs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_leader_killed_mid_run_leaves_the_rest_to_the_next_leader_and_jobs_shows_it(pg_org, tmp_path):
    settings = pg_org
    _prepare(settings)
    clock = Clock(tmp_path / "clock", jst(2026, 11, 26, 16, 0))
    with FakeSlack() as slack:
        # Slack takes its time over the 学校教育課 post: the leader is killed while waiting for it.
        slow = slack.hold("chat.postMessage", channel="C0GAKU")
        first = _spawn(settings, slack, clock)
        try:
            _wait(lambda: (lease := _lease(settings)) and lease.holder == first.holder, "a leader")
            _wait(lambda: _count_jobs(settings) == 6, "the leader to schedule the session's jobs")
            clock.set(jst(2026, 11, 26, 17, 0, 1))
            _wait(lambda: slack.of("chat.postMessage", channel="C0GAKU"), "the leader to be sending to 学校教育課")
            first.send_signal(signal.SIGKILL)
            first.wait()
            slow.set()  # Slack still delivers what it had received
            _wait(lambda: "C0GAKU" in dict(_posts(slack)), "Slack to deliver the held post")
            assert sorted(ch for ch, _ in _posts(slack)) == ["C0GAKU", "C0KIKI"]

            report = _jobs_report(settings)
            assert "答弁締切の前日通知（担当課あて）　送信未完了（送信済 1件" in report
            assert "届いたか不明 1件" in report and "送信が終わっていない通知があります" in report

            second = _spawn(settings, slack, clock)
            clock.set(jst(2026, 11, 26, 17, 0, 40))  # the dead leader's lease has run out
            _wait(lambda: (lease := _lease(settings)) and lease.holder == second.holder, "the take-over")
            _wait(lambda: len(_posts(slack)) == 3, "the rest of the run")
            time.sleep(SETTLE_SECONDS)
            posts = _posts(slack)
            assert sorted(ch for ch, _ in posts) == ["C0GAKU", "C0KIKI", "C0SOMU"]  # each once
            assert "未完了の状況です" in dict(posts)["C0SOMU"]
        finally:
            for proc in (first, locals().get("second")):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=30)
    report = _jobs_report(settings)
    assert "送信未完了（送信済 2件・送信中に処理が中断し、届いたか不明 1件）" in report
