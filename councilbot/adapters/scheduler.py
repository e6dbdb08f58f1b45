"""The reminder scheduler: APScheduler 3 on the bot's database, run by one process at a time.

Every ``councilbot serve`` process starts a ``SchedulerRunner``. Each tick it
tries to take or renew the scheduler lease (services/leader.py); the process
that holds it runs a BackgroundScheduler whose jobs live in the database
(SQLAlchemyJobStore on DATABASE_URL), brings the jobs in line with the
sessions, and wakes the scheduler so changes made elsewhere take effect. A
process that loses the lease stops its scheduler at once; when the leader
stops, another takes over once the lease has run out (at once, after a clean
shutdown, which gives the lease back).

A firing job re-reads the database (services/reminders.compose) and records
every message of the run (one unique row each) before sending any; each is
then taken by one conditional UPDATE, sent and marked sent, so a message goes
out once even if, across a take-over, two processes fire the same job. Every
tick the leader also sends what is recorded and still unsent: a run its dead
predecessor left half done, or a message the chat tool refused (tried again
after ``RETRY_DELAY`` while it is still due). A message whose process died
while sending it is in doubt and not sent again; ``councilbot jobs`` shows it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from councilbot.services import leader
from councilbot.services.reminders import (
    Notifier,
    SyncReport,
    compose,
    give_back,
    mark_sent,
    pending_messages,
    record_run,
    start_sending,
    sync_jobs,
)
from councilbot.settings import Settings
from councilbot.storage.db import make_engine, session_scope

log = logging.getLogger(__name__)

LEASE_TTL = dt.timedelta(seconds=30)  # a stopped leader is replaced within this time
TICK_SECONDS = 5.0  # lease renewal and job sync; well inside the lease
JOB_FUNC = "councilbot.adapters.scheduler:run_job"  # persisted jobs name their function by reference
EXECUTOR_THREADS = 4
RETRY_DELAY = dt.timedelta(minutes=5)  # a refused reminder is tried again this much later

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# The runner of this process, for the persisted jobs (which can name a function, not an object).
_active_runner: SchedulerRunner | None = None


def run_job(job_id: str) -> None:
    """Entry point of every persisted job."""
    if _active_runner is None:
        log.warning("job %s fired with no scheduler runner in this process", job_id)
        return
    _active_runner.fire(job_id)


def jobstore_scheduler(settings: Settings, *, paused: bool) -> BackgroundScheduler:
    """A started scheduler on the database's job store; a paused one runs nothing."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=make_engine(settings.database_url))},
        executors={"default": ThreadPoolExecutor(EXECUTOR_THREADS)},
        timezone=ZoneInfo(settings.tz_name),
    )
    scheduler.start(paused=paused)
    return scheduler


@contextmanager
def open_schedule(settings: Settings) -> Iterator[BackgroundScheduler]:
    """The persisted jobs, to read or change from the command line without running any."""
    scheduler = jobstore_scheduler(settings, paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)


def sync(settings: Settings, scheduler: BackgroundScheduler, now: dt.datetime) -> SyncReport:
    with session_scope(settings) as db:
        return sync_jobs(scheduler, db, now=now, tz=ZoneInfo(settings.tz_name), func=JOB_FUNC)


class SchedulerRunner:
    """Competes for the lease and, while holding it, runs the scheduler. ``shutdown()`` stops it cleanly."""

    def __init__(
        self,
        settings: Settings,
        notifier: Notifier,
        *,
        clock: Clock = system_clock,
        tick_seconds: float = TICK_SECONDS,
        lease_ttl: dt.timedelta = LEASE_TTL,
    ) -> None:
        self.settings = settings
        self.notifier = notifier
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.lease_ttl = lease_ttl
        self.holder = leader.new_holder_id()
        self._tz = ZoneInfo(settings.tz_name)
        self._scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="councilbot-scheduler", daemon=True)

    @property
    def is_leader(self) -> bool:
        return self._scheduler is not None

    def start(self) -> SchedulerRunner:
        global _active_runner
        if _active_runner is not None:
            raise RuntimeError("a scheduler runner is already running in this process")
        _active_runner = self
        self._thread.start()
        return self

    def shutdown(self) -> None:
        global _active_runner
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._scheduler is not None:
            self._stop_scheduler()
            with session_scope(self.settings) as db:
                leader.release(db, leader.SCHEDULER_LEASE, self.holder, now=self.clock())
        _active_runner = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.tick_seconds)

    def tick(self) -> None:
        now = self.clock()
        try:
            with session_scope(self.settings) as db:
                held = leader.try_acquire(db, leader.SCHEDULER_LEASE, self.holder, now=now, ttl=self.lease_ttl)
        except Exception:  # the database is out of reach: the lease cannot be trusted any more
            log.exception("scheduler lease could not be renewed")
            held = False
        if not held:
            if self._scheduler is not None:
                log.warning("scheduler lease lost; stopping the scheduler in %s", self.holder)
                self._stop_scheduler()
            return
        try:
            if self._scheduler is None:
                log.info("scheduler lease taken by %s", self.holder)
                self._scheduler = jobstore_scheduler(self.settings, paused=False)
            report = sync(self.settings, self._scheduler, now)
            if report.added or report.moved or report.removed:
                log.info("reminder jobs: added %s, moved %s, removed %s", report.added, report.moved, report.removed)
            self._scheduler.wakeup()  # look at the job store again: other processes may have changed it
        except Exception:
            log.exception("reminder jobs could not be brought up to date")
        try:
            self.send_pending(left_over=True)
        except Exception:
            log.exception("pending reminders could not be sent")

    def _stop_scheduler(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)

    def fire(self, job_id: str) -> None:
        """Send what ``job_id`` has to say now; each message at most once across all processes."""
        with session_scope(self.settings) as db:
            record_run(db, compose(db, job_id, now=self.clock(), tz=self._tz), self.holder)
        self.send_pending(job_id)

    def send_pending(self, job_id: str | None = None, *, left_over: bool = False) -> None:
        """Send the recorded messages nobody has started sending: of ``job_id``, or of every run.

        ``left_over``: only those no run of this process is sending (a dead leader's, refused ones).
        """
        with session_scope(self.settings) as db:
            todo = pending_messages(db, now=self.clock(), job_id=job_id, left_for=self.holder if left_over else None)
        for pending in todo:
            with session_scope(self.settings) as db:
                if not start_sending(db, pending.row_id, self.holder, self.clock()):
                    continue
            try:
                pending.message.send(self.notifier)
            except Exception:
                # The chat client has already retried; give the message back for a later tick.
                log.exception("reminder %s could not be delivered", pending.message.key)
                with session_scope(self.settings) as db:
                    give_back(db, pending.row_id, retry_at=self.clock() + RETRY_DELAY)
                continue
            with session_scope(self.settings) as db:
                mark_sent(db, pending.row_id, self.clock())


def start_scheduler(settings: Settings, notifier: Notifier) -> SchedulerRunner:
    """For ``councilbot serve``: compete for the scheduler and run it while leader; call ``.shutdown()`` on exit."""
    return SchedulerRunner(settings, notifier).start()
