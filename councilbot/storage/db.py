"""Engine, sessions, units of work and schema checks.

One ``Session`` per use case, opened by the service layer's callers through
``session_scope``, which runs it as a :class:`UnitOfWork`: committed when the
block succeeds and rolled back otherwise, so a refused action leaves the
database as it was. Services never commit or roll back themselves.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Executable, Insert, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from councilbot.errors import CouncilbotError
from councilbot.fsutil import make_private_file
from councilbot.settings import Settings

if TYPE_CHECKING:  # alembic costs more to import than a whole search: loaded only to migrate
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _enable_sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one process writes; the busy timeout makes
    # a second writer wait instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


@lru_cache(maxsize=8)
def make_engine(database_url: str) -> Engine:
    # hide_parameters: a database error's text (logged with its traceback) leaves out the values,
    # which are questions and answers.
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            path = Path(url.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Owner-only like the exports; SQLite gives its -wal and -shm files the database's permissions.
            make_private_file(path)
            for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                if companion.exists():
                    make_private_file(companion)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


@lru_cache(maxsize=8)
def _session_factory(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=make_engine(database_url), expire_on_commit=False)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A use case's unit of work: commit on success (then its after-commit work), roll back on any exception."""
    session = _session_factory(settings.database_url)()
    unit = UnitOfWork(session)
    try:
        yield session
        unit.checkpoint()
    except BaseException:
        unit.discard()
        raise
    finally:
        session.close()


AfterCommit = Callable[[], object]
_UNIT = "councilbot.unit_of_work"


class UnitOfWork:
    """The transactions of one use case on one Session, and the work that waits for their commit.

    ``session_scope`` commits the unit when the use case ends and rolls it back when it raises.
    A use case that needs more than one transaction (drafting: the slow model call between a read
    and a write phase; leader election; a batch that must be kept however the next one ends) says
    so through :meth:`checkpoint` (keep what was done, go on in a new transaction) or
    :meth:`discard` (drop it, go on), never by committing the Session itself.

    Work that must follow a commit (index writes, vector writes) is queued with :meth:`after_commit`.
    It runs once the transaction has committed and ended, whoever commits the Session, and is
    dropped when the transaction ends any other way; a savepoint's end changes nothing (work queued
    within one that rolls back still runs: it reads committed state). It runs on its own
    connections, never this Session's. Its failure is logged, never raised: the commit stands, and
    the database says what is left to do (``index_queue``, answers without a vector).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._queued: dict[Hashable, AfterCommit] = {}
        self._due: list[AfterCommit] = []
        session.info[_UNIT] = self
        event.listen(session, "after_commit", self._committed)
        event.listen(session, "after_transaction_end", self._ended)

    def after_commit(self, work: AfterCommit, *, key: Hashable | None = None) -> None:
        """Run ``work`` once the open transaction commits; with ``key``, once per transaction
        however often it is queued (the first one queued runs)."""
        self._queued.setdefault(object() if key is None else key, work)

    def checkpoint(self) -> None:
        """Commit the work so far and run what waits for it; the next statement begins a new transaction."""
        self.session.commit()

    def discard(self) -> None:
        """Roll back the work since the last checkpoint and drop what waited for its commit."""
        self.session.rollback()

    def _committed(self, session: Session) -> None:
        if not session.in_nested_transaction():  # not a savepoint released within the transaction
            self._due = list(self._queued.values())

    def _ended(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None:  # a savepoint: the transaction goes on
            return
        # Run once the Session has finished the transaction (connection returned), so that a
        # failure here cannot leave it half-committed.
        due, self._due = self._due, []
        self._queued.clear()
        for work in due:
            try:
                work()
            except Exception as exc:  # the commit stands; what is left is recorded in the database
                name = getattr(getattr(work, "func", work), "__name__", "work")
                log.warning("%s after commit failed (%r); the commit stands", name, exc)


def unit_of_work(db: Session) -> UnitOfWork:
    """The unit of work ``db`` runs in (a Session opened without ``session_scope`` gets one)."""
    unit = db.info.get(_UNIT)
    return unit if isinstance(unit, UnitOfWork) else UnitOfWork(db)


def affected_rows(db: Session, statement: Executable) -> int:
    """Rows an INSERT, UPDATE or DELETE changed (``Session.execute`` is typed as a plain Result)."""
    return cast("CursorResult[Any]", db.execute(statement)).rowcount


def insert_unless_present(db: Session, table: Any, *key: str) -> Insert:
    """An INSERT that skips rows whose ``key`` is taken (ON CONFLICT DO NOTHING): a row another
    transaction wrote first is not an error. On PostgreSQL it waits for that transaction to end,
    and skips the row if it committed."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=list(key))
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert  # the only other database councilbot runs on

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(key))


@contextmanager
def savepoint(db: Session) -> Iterator[None]:
    """A nested transaction, where the driver supports one inside the unit of work.

    pysqlite opens no transaction before a SAVEPOINT, so the savepoint would commit
    by itself and break the enclosing unit's all-or-nothing promise. Its own mode
    is kept because it lets concurrent writers queue on the busy timeout (reads run
    outside the write transaction); SQLite serialises writers anyway, so there the
    block simply runs in the enclosing transaction.
    """
    if db.get_bind().dialect.name == "sqlite":
        yield
        return
    with db.begin_nested():
        yield


@contextmanager
def without_waiting(db: Session) -> Iterator[None]:
    """SQLite: statements inside fail at once instead of waiting for another connection's write.

    For work done in passing (a search catching the index up) that must not stall a request.
    """
    if db.get_bind().dialect.name != "sqlite":
        yield
        return
    raw = db.connection().connection.driver_connection  # below SQLAlchemy: usable after a failed statement
    assert raw is not None  # an open connection has its driver's
    raw.execute("PRAGMA busy_timeout=0")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def supports_savepoint(db: Session) -> bool:
    return db.get_bind().dialect.name != "sqlite"


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(settings: Settings) -> None:
    """Apply every migration (``councilbot db upgrade``)."""
    from alembic import command

    cfg = alembic_config(settings.database_url)
    with make_engine(settings.database_url).begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


class DatabaseUnavailable(CouncilbotError):
    """The database cannot be reached or opened (server down, wrong address, unreadable file)."""

    def __init__(self, database_url: str) -> None:
        where = make_url(database_url).render_as_string(hide_password=True)
        super().__init__(
            f"データベース（{where}）に接続できないため処理を中止しました。"
            "データベースが起動しているか、DATABASE_URL の設定が正しいかをご確認ください。"
        )


def is_contention(exc: BaseException) -> bool:
    """A write that lost to a concurrent one (deadlock, serialization failure, SQLite busy): trying again works."""
    if not isinstance(exc, OperationalError):
        return False
    if getattr(exc.orig, "sqlstate", None) in ("40P01", "40001", "55P03"):
        return True
    return "database is locked" in str(exc.orig)


def _revisions(settings: Settings) -> tuple[str | None, str | None, bool]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    with _first_connection(settings) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        has_tables = bool(inspect(connection).get_table_names())
    return current, head, has_tables


@contextmanager
def _first_connection(settings: Settings) -> Iterator[Connection]:
    """The first connection of every command: failing here is reaching the database, not a defect."""
    try:
        with make_engine(settings.database_url).connect() as connection:
            yield connection
    except (OperationalError, InterfaceError, OSError) as exc:
        raise DatabaseUnavailable(settings.database_url) from exc


def ensure_schema(settings: Settings, *, create_if_empty: bool = True) -> None:
    """Refuse to run on a stale schema; create the schema in a brand-new database.

    An empty database is set up at once so that a first ``councilbot`` command
    just works; a database at an older migration is never changed behind the
    operator's back.
    """
    if _stored_revision(settings) == _head_on_disk():
        return  # the common case, answered without importing alembic
    current, head, has_tables = _revisions(settings)
    if current == head:
        return
    if current is None and not has_tables and create_if_empty:
        upgrade(settings)
        return
    raise CouncilbotError(
        "データベースの形式が古いため処理を中止しました。"
        "`councilbot db upgrade` を実行してから、もう一度お試しください。"
    )


_REVISION_LINE = re.compile(r"""^(down_)?revision\s*(?::[^=]*)?=\s*(?:['"]([^'"]+)['"]|None)\s*$""", re.M)


@lru_cache(maxsize=1)
def _head_on_disk() -> str | None:
    """The single head of the migration files, read as text; None when that is not plain
    (a merge, an unusual file), and then alembic itself decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {bool(m.group(1)): m.group(2) for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8"))}
        if False not in found or True not in found or found[False] is None:
            return None
        revisions.add(found[False])
        if found[True] is not None:
            parents.add(found[True])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(settings: Settings) -> str | None:
    """The revision recorded in the database, or None (no table yet, or several heads)."""
    with _first_connection(settings) as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None
