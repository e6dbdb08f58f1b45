"""Helpers shared by fixtures: a fresh workspace's settings and the small test organisation."""

from __future__ import annotations

from pathlib import Path

from councilbot.services.org import load_org
from councilbot.settings import Settings
from councilbot.storage.db import ensure_schema, session_scope

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parent.parent / "councilbot" / "sample_data"


def workspace_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings on ``database_url`` at the current schema, with index and exports under ``tmp_path``."""
    cfg = Settings(
        DATABASE_URL=database_url,
        INDEX_DIR=tmp_path / "index",
        EXPORT_DIR=tmp_path / "exports",
        LLM_PROVIDER="offline",
        EMBEDDINGS_PROVIDER="none",  # tests of the semantic stage turn it on themselves
    )
    ensure_schema(cfg)
    return cfg


def load_small_org(settings: Settings) -> Settings:
    """Load ``tests/data/org_small.yaml``; returns the settings for chaining in fixtures."""
    with session_scope(settings) as db:
        load_org(db, DATA / "org_small.yaml", actor="test")
    return settings
