"""The database's own promises: owner-only files, and a clear line when it cannot be reached."""

from __future__ import annotations

import os
import stat

from councilbot.services.archive import import_records
from councilbot.storage.db import session_scope
from tests.support import workspace_settings


def test_the_sqlite_database_is_readable_by_its_owner_only_like_the_exports(tmp_path):
    previous = os.umask(0o022)
    try:
        cfg = workspace_settings(f"sqlite:///{tmp_path}/data/councilbot.db", tmp_path)
        with session_scope(cfg) as db:
            import_records(
                db, cfg, [{"ref": "R-1", "question": "避難所について伺う。", "answer": "運営しております。"}]
            )
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "data").iterdir()]
    assert {p.name for p in files} >= {"councilbot.db", "councilbot.db-wal"}
    assert {p.name: stat.filemode(p.stat().st_mode) for p in files if p.stat().st_mode & 0o077} == {}


def test_an_existing_database_readable_by_everyone_is_made_owner_only(tmp_path):
    from councilbot.storage.db import make_engine

    path = tmp_path / "old.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_unreachable_database_gets_its_own_line_naming_it_without_the_password(cli, tmp_path, monkeypatch):
    from councilbot.settings import Settings

    # Port 1 on this machine: nothing listens, the connection is refused at once.
    cfg = Settings(
        DATABASE_URL="postgresql://councilbot:s3cret@127.0.0.1:1/councilbot",
        INDEX_DIR=tmp_path / "index",
        EXPORT_DIR=tmp_path / "exports",
        EMBEDDINGS_PROVIDER="none",
    )
    result = cli(cfg)("search", "避難所")
    assert result.returncode == 1
    assert "データベース" in result.stderr and "127.0.0.1:1/councilbot" in result.stderr
    assert "s3cret" not in result.stderr and "予期しない" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_database_file_that_cannot_be_opened_gets_the_same_line(cli, tmp_path):
    from councilbot.settings import Settings

    (tmp_path / "a-folder.db").mkdir()
    cfg = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path}/a-folder.db",
        INDEX_DIR=tmp_path / "index",
        EXPORT_DIR=tmp_path / "exports",
        EMBEDDINGS_PROVIDER="none",
    )
    result = cli(cfg)("search", "避難所")
    assert result.returncode == 1
    assert "データベース" in result.stderr and "接続できない" in result.stderr and "予期しない" not in result.stderr
