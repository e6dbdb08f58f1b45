"""Shared fixtures: a fresh SQLite database, index and export folder per test."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from councilbot.adapters.cli import main
from councilbot.app_context import build_context
from councilbot.services.context import AppContext, install
from councilbot.settings import Settings, get_settings
from councilbot.storage.db import session_scope
from tests.support import SAMPLE, load_small_org, workspace_settings  # noqa: F401 (SAMPLE: used by fixture modules)

# Fixtures and hooks kept beside what they serve: PostgreSQL databases (with the line at the
# end of every run saying whether those tests ran) and the Slack app over HTTP.
pytest_plugins = ("tests.pg", "tests.slack_helpers")


@pytest.fixture(autouse=True)
def app_context() -> Iterator[AppContext]:
    """Each test its own application context (caches, the embedding thread), finished at its end."""
    context = build_context()
    previous = install(context)
    yield context
    context.close()
    install(previous)


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


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``cli(settings)`` gives ``call(*args)``: ``councilbot ARGS…`` run in this process, through the
    console script's own ``main()``, on those settings; returns a CompletedProcess."""

    def bind(cfg: Settings):  # type: ignore[no-untyped-def]
        env = {
            "DATABASE_URL": cfg.database_url,
            "INDEX_DIR": str(cfg.index_dir),
            "EXPORT_DIR": str(cfg.export_dir),
            "LLM_PROVIDER": cfg.llm_provider,
            "EMBEDDINGS_PROVIDER": cfg.embeddings_provider,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

        def call(*args: str) -> subprocess.CompletedProcess[str]:
            capsys.readouterr()
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
            out = capsys.readouterr()
            return subprocess.CompletedProcess(args, code, out.out, out.err)

        return call

    yield bind
    get_settings.cache_clear()
