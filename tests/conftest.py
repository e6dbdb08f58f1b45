"""Shared fixtures: a fresh SQLite database, index and export folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from councilbot.services.org import load_org
from councilbot.settings import Settings
from councilbot.storage.db import ensure_schema, session_scope

# Fixtures and hooks kept beside what they serve: PostgreSQL databases (with the line at the
# end of every run saying whether those tests ran) and the Slack app over HTTP.
pytest_plugins = ("tests.pg", "tests.slack_helpers")

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parent.parent / "councilbot" / "sample_data"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    cfg = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path}/councilbot.db",
        INDEX_DIR=tmp_path / "index",
        EXPORT_DIR=tmp_path / "exports",
        LLM_PROVIDER="offline",
    )
    ensure_schema(cfg)
    return cfg


@pytest.fixture
def org(settings: Settings) -> Settings:
    """The small test organisation loaded; returns the settings."""
    with session_scope(settings) as db:
        load_org(db, DATA / "org_small.yaml", actor="test")
    return settings


@pytest.fixture
def db(org: Settings) -> Iterator[Session]:
    """One open transaction on the loaded organisation (committed at the end)."""
    with session_scope(org) as session:
        yield session

