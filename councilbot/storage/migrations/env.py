"""Alembic environment: runs on the connection handed over by councilbot.storage.db."""

from alembic import context
from sqlalchemy import create_engine

from councilbot.storage.models import Base

config = context.config
target_metadata = Base.metadata

# Tables owned by libraries, not by the models: APScheduler's job store.
EXTERNAL_TABLES = frozenset({"apscheduler_jobs"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return (table.name if table is not None else name) not in EXTERNAL_TABLES


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _run(conn)
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
