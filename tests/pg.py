"""PostgreSQL for the tests: a fresh temporary database per test on the local server.

The server is the one this machine runs (127.0.0.1:5432, trust auth) unless
TEST_POSTGRES_URL names another maintenance database. When it cannot be
reached, PostgreSQL tests are skipped with the reason, and the end of the run
says so (see ``terminal_summary``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from councilbot.settings import Settings
from councilbot.storage.db import make_engine
from tests.support import load_small_org, workspace_settings

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _conninfo(url: str) -> str:
    u = make_url(url)
    parts = {"host": u.host, "port": u.port, "user": u.username, "password": u.password, "dbname": u.database}
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


@lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when the server answers; otherwise why not, in one line."""
    try:
        with psycopg.connect(_conninfo(ADMIN_URL), connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: no PostgreSQL for this run
        return f"PostgreSQL not reachable at {make_url(ADMIN_URL).render_as_string(hide_password=True)}: {str(exc).strip().splitlines()[0]}"


@contextmanager
def temporary_database() -> Iterator[str]:
    """Create ``cb_test_<random>``, yield its SQLAlchemy URL, drop it afterwards."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    name = f"cb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        make_engine(url).dispose()
        with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings on a brand-new PostgreSQL database at the current schema."""
    with temporary_database() as url:
        yield workspace_settings(url, tmp_path)


@pytest.fixture
def pg_org(pg_settings: Settings) -> Settings:
    """The small test organisation loaded into a PostgreSQL database."""
    return load_small_org(pg_settings)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Say at the end of every run whether the PostgreSQL tests ran."""
    counts = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        reports = [r for r in terminalreporter.stats.get(outcome, []) if "postgres" in getattr(r, "keywords", {})]
        counts[outcome] = len({r.nodeid for r in reports})
    if not any(counts.values()):
        return
    terminalreporter.section("PostgreSQL")
    ran = counts["passed"] + counts["failed"] + counts["error"]
    terminalreporter.write_line(
        f"PostgreSQL tests: {ran} ran ({counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors), "
        f"{counts['skipped']} skipped."
    )
    if counts["skipped"]:
        reason = unavailable_reason() or "skipped by the tests themselves (see -rs)"
        terminalreporter.write_line(f"PostgreSQL tests did NOT run: {reason}", yellow=True, bold=True)


def wait_for_lock_waiters(url: str, count: int = 1, *, attempts: int = 500) -> None:
    """Poll until ``count`` sessions of this database wait on a lock (another transaction holds it)."""
    name = make_url(url).database
    with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as conn:
        for _ in range(attempts):
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (name,)
            ).fetchone()[0]
            if waiting >= count:
                return
            conn.execute("SELECT pg_sleep(0.01)")
    raise AssertionError(f"no session of {name} came to wait on a lock")
