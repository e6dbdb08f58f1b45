import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from councilbot.errors import CouncilbotError
from councilbot.settings import Settings
from councilbot.storage.db import ensure_schema, make_engine, upgrade
from councilbot.storage.models import Base


def test_upgrade_from_empty_matches_models(tmp_path):
    cfg = Settings(DATABASE_URL=f"sqlite:///{tmp_path}/m.db")
    upgrade(cfg)
    with make_engine(cfg.database_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diffs == []
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())


def test_brand_new_database_is_created_but_stale_schema_is_refused(tmp_path):
    cfg = Settings(DATABASE_URL=f"sqlite:///{tmp_path}/s.db")
    ensure_schema(cfg)  # empty → created
    with make_engine(cfg.database_url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(CouncilbotError) as err:
        ensure_schema(cfg)
    assert "councilbot db upgrade" in err.value.message


def test_database_with_foreign_tables_but_no_version_is_refused(tmp_path):
    cfg = Settings(DATABASE_URL=f"sqlite:///{tmp_path}/f.db")
    with make_engine(cfg.database_url).begin() as conn:
        conn.execute(text("CREATE TABLE questions (id INTEGER PRIMARY KEY)"))
    with pytest.raises(CouncilbotError):
        ensure_schema(cfg)
