"""A bot process for the scheduler tests: the real scheduler runner and Slack notifier, on a shared test clock.

Usage: python -m tests.scheduler_worker CLOCK_FILE   (DATABASE_URL, SLACK_API_URL, SLACK_BOT_TOKEN from the environment)

The clock is an ISO time in CLOCK_FILE, moved by the test, read by every process.
APScheduler 3 reads ``datetime.now`` itself, so this test process points it at
the same clock; the product code takes its clock as an argument.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from pathlib import Path

import apscheduler.executors.base
import apscheduler.schedulers.base

from councilbot.adapters.scheduler import SchedulerRunner
from councilbot.adapters.slack.app import web_client
from councilbot.adapters.slack.notifier import ChatNotifier
from councilbot.settings import Settings

TICK_SECONDS = 0.05
LEASE_TTL = dt.timedelta(seconds=30)  # in test-clock time


def main(clock_file: Path) -> None:
    def clock() -> dt.datetime:
        return dt.datetime.fromisoformat(clock_file.read_text(encoding="utf-8").strip())

    class TestClockDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return clock().astimezone(tz) if tz else clock().replace(tzinfo=None)

    apscheduler.schedulers.base.datetime = TestClockDatetime  # type: ignore[misc]
    apscheduler.executors.base.datetime = TestClockDatetime  # type: ignore[misc]

    settings = Settings()
    runner = SchedulerRunner(
        settings, ChatNotifier(web_client(settings)), clock=clock, tick_seconds=TICK_SECONDS, lease_ttl=LEASE_TTL
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    runner.start()
    print(runner.holder, flush=True)
    stopped.wait()
    runner.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
