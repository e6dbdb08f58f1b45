"""Shared fixtures: a fresh SQLite database, index and export folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from tests.support import SAMPLE, load_small_org, workspace_settings  # noqa: F401 (SAMPLE: used by fixture modules)

# Fixtures and hooks kept beside what they serve: PostgreSQL databases (with the line at the
# end of every run saying whether those tests ran) and the Slack app over HTTP.
pytest_plugins = ("tests.pg", "tests.slack_helpers")



@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return workspace_settings(f"sqlite:///{tmp_path}/councilbot.db", tmp_path)


@pytest.fixture
def org(settings: Settings) -> Settings:
    """The small test organisation loaded; returns the settings."""
    return load_small_org(settings)


@pytest.fixture
def db(org: Settings) -> Iterator[Session]:
    """One open transaction on the loaded organisation (committed at the end)."""
    with session_scope(org) as session:
        yield session

