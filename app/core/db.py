"""Database engine, binding, migrations and the one write-transaction helper.

Piccolo finds its engine through ``piccolo_conf.DB``; ``bind`` points that and every
registered table at one engine, so the app, the CLI and the tests all talk to the
database named by ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from app.settings import BASE_DIR

# piccolo_conf.py sits at the top of the checkout; Piccolo imports it by name.
os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

SQLITE_BUSY_TIMEOUT_S = 15

Q = TypeVar("Q")


def sqlite_path(url: str) -> Path:
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else BASE_DIR / path


def engine_from_url(url: str) -> Engine:
    """An engine for ``sqlite:///file`` or ``postgresql://...``.

    SQLite is opened read-write without create (``mode=rw``): a missing file is an
    error, never a silently created empty database; ``create_sqlite_file`` makes it.
    """
    if url.startswith("sqlite:"):
        path = sqlite_path(url)
        return SQLiteEngine(
            path=f"file:{path}?mode=rw",
            uri=True,
            timeout=SQLITE_BUSY_TIMEOUT_S,
        )
    return PostgresEngine(config={"dsn": url})


def create_sqlite_file(url: str) -> None:
    """Create the SQLite file (WAL mode, persistent) if it does not exist yet."""
    path = sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def registered_tables() -> list[type]:
    tables: list[type] = []
    for app_config in Finder().get_app_registry().app_configs.values():
        tables.extend(app_config.table_classes)
    return tables


def bind(engine: Engine) -> Engine:
    """Make ``engine`` the one every table and Piccolo's migrations use."""
    import piccolo_conf

    piccolo_conf.DB = engine
    for table in [*registered_tables(), Migration]:
        table._meta.db = engine
    return engine


def current_engine() -> Engine:
    return Migration._meta.db


def is_sqlite() -> bool:
    return current_engine().engine_type == "sqlite"


async def start(engine: Engine, pool_size: int) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=pool_size)


async def stop(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


async def migrate() -> None:
    """Apply every pending migration of every registered app (Piccolo's forwards)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


# SQLite errors that say the database cannot be reached right now (a lock held longer
# than the busy timeout, the file gone or unreadable), not that a query is wrong.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)


def is_unavailable(exc: BaseException) -> bool:
    """The database (or the way to it) is down, not the request or the code: the
    connection is refused, lost or timed out; PostgreSQL is shutting down, starting or
    out of connections; SQLite's file is locked or gone. Followed through the causes."""
    import asyncpg

    seen = 0
    while exc is not None and seen < 5:
        if isinstance(
            exc,
            (
                ConnectionError,  # refused, reset, aborted, broken pipe
                TimeoutError,
                asyncpg.PostgresConnectionError,
                asyncpg.CannotConnectNowError,
                asyncpg.AdminShutdownError,
                asyncpg.CrashShutdownError,
                asyncpg.TooManyConnectionsError,
            ),
        ):
            return True
        if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
            return True
        if isinstance(exc, OSError) and str(exc).startswith("Multiple exceptions: [Errno 111]"):
            return True  # refused on every address of the host (asyncio's message)
        if isinstance(exc, sqlite3.OperationalError) and str(exc).lower().startswith(
            _SQLITE_UNAVAILABLE
        ):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


async def ping() -> None:
    """Raise unless the migrated database answers (used by /healthz)."""
    await Migration.count().run()


def write_transaction() -> AbstractAsyncContextManager[Any]:
    """The one way to open a transaction that writes.

    SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers never
    both read-then-write and one never fails half-way with "database is locked".
    PostgreSQL: a plain transaction; rows read for update go through ``for_update``.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return _sqlite_write(engine)
    return engine.transaction()


# One per event loop (a process has one; the test client runs the app in another).
_sqlite_writers: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()


@asynccontextmanager
async def _sqlite_write(engine: SQLiteEngine) -> AsyncIterator[Any]:
    """The process's writers queue on an asyncio lock before ``BEGIN IMMEDIATE``: a
    surge of them (2 000 submissions in a minute, bench/surge.py) would otherwise all
    poll SQLite's file lock at once and the later ones fail with "database is locked"
    when their wait passes the busy timeout. The busy timeout is then left for
    writers of other processes (the CLI). A nested write joins its outer transaction."""
    if engine.current_transaction.get() is not None:
        async with engine.transaction(transaction_type=TransactionType.immediate) as inner:
            yield inner
        return
    loop = asyncio.get_running_loop()
    lock = _sqlite_writers.get(loop)
    if lock is None:
        lock = _sqlite_writers[loop] = asyncio.Lock()
    async with lock, engine.transaction(transaction_type=TransactionType.immediate) as outer:
        yield outer


def for_update(query: Q) -> Q:
    """Lock the selected rows until commit on PostgreSQL; on SQLite the IMMEDIATE
    transaction already serialises writers, and Piccolo's ``lock_rows`` is refused."""
    if isinstance(current_engine(), PostgresEngine):
        return query.lock_rows()  # type: ignore[attr-defined]
    return query
