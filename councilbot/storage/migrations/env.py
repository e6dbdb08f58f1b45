"""Alembic environment: runs on the connection handed over by councilbot.storage.db."""

from alembic import context
from alembic.runtime.environment import NameFilterType
from sqlalchemy import Connection, Table, create_engine
from sqlalchemy.schema import SchemaItem

from councilbot.storage.models import Base

config = context.config
target_metadata = Base.metadata

# Tables owned by libraries, not by the models: APScheduler's job store.
EXTERNAL_TABLES = frozenset({"apscheduler_jobs"})


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: NameFilterType,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    table = obj if type_ == "table" else getattr(obj, "table", None)
    owner = table.name if isinstance(table, Table) else name
    return owner is None or owner not in EXTERNAL_TABLES


def run_migrations() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Without a connection handed over (`alembic revision --autogenerate`): the URL alembic_config set.
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection and no sqlalchemy.url: build the config with storage.db.alembic_config")
    with create_engine(url).begin() as conn:
        _run(conn)


def _run(connection: Connection) -> None:
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
