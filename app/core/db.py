"""Database engine, binding, migrations and the one write-transaction helper.

Piccolo finds its engine through ``piccolo_conf.DB``; ``bind`` points that and every
registered table at one engine, so the app, the CLI and the tests all talk to the
database named by ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from app.settings import BASE_DIR

# piccolo_conf.py sits at the top of the checkout; Piccolo imports it by name.
os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

SQLITE_BUSY_TIMEOUT_S = 15
# Connections kept per server process: PostgreSQL's pool; on SQLite, the readers (one
# writer besides). DB_POOL_SIZE in the environment (app/settings.py).
DEFAULT_POOL_SIZE = 10

Q = TypeVar("Q")


def sqlite_path(url: str) -> Path:
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else BASE_DIR / path


def engine_from_url(url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """An engine for ``sqlite:///file`` or ``postgresql://...``.

    SQLite is opened read-write without create (``mode=rw``): a missing file is an
    error, never a silently created empty database; ``create_sqlite_file`` makes it.
    """
    if url.startswith("sqlite:"):
        return KeptSQLiteEngine(sqlite_path(url), readers=pool_size)
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
    """Close the engine's connections (a SQLite engine opens them again if used after)."""
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()
    if isinstance(engine, KeptSQLiteEngine):
        await asyncio.to_thread(engine.close)


# --- SQLite: connections kept open ------------------------------------------------------
#
# Piccolo's SQLiteEngine opens a connection for every query outside a transaction (a
# thread, the file, the schema parsed, PRAGMAs, a commit, a close): ~2 ms of CPU for a
# query SQLite answers in microseconds. Here, queries outside a transaction go to a few
# reader connections kept open, each in a thread of its own (in WAL mode readers never
# wait for the writer), and ``write_transaction`` uses one writer connection per event
# loop, opened once, before its lock is taken. Each runs a statement and fetches its
# rows in one hop to its thread. A kept connection whose file was replaced or removed
# (a restore, an outage: tests/integration/test_resilience.py) is closed and opened
# again, so the database being gone still shows, and comes back by itself.


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


class _KeptConnection:
    """A sqlite3 connection with the file it was opened on; used by one thread at a time."""

    def __init__(self, path: Path, connect: Callable[[], sqlite3.Connection]):
        self.path = path
        self._connect = connect
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None

    def run(self, sql: str, args: list[Any] | tuple[Any, ...]) -> list[dict]:
        conn = self._conn
        if conn is None or (
            not conn.in_transaction and _file_identity(self.path) != self._identity
        ):
            self.close()
            self._identity = _file_identity(self.path)
            conn = self._conn = self._connect()
        cursor = conn.execute(sql, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None and self._conn.in_transaction

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class _Writer:
    """The connection of a loop's write transactions, in a thread of its own. Piccolo's
    transaction calls ``execute`` for BEGIN, each statement, COMMIT or ROLLBACK."""

    def __init__(self, connection: _KeptConnection):
        self.connection = connection
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")

    async def execute(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[dict]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self.connection.run, sql, args)

    async def end_failed(self) -> None:
        """After a COMMIT or ROLLBACK that failed: never leave a transaction open on the
        kept connection (the next BEGIN would fail): close it, it opens again."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close_if_in_transaction)

    def _close_if_in_transaction(self) -> None:
        if self.connection.in_transaction:
            self.connection.close()

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self.connection.close()


class _KeptTransaction(SQLiteTransaction):
    """Piccolo's transaction on the loop's kept writer, which it does not close."""

    def __init__(self, engine: KeptSQLiteEngine, writer: _Writer, transaction_type):
        super().__init__(engine, transaction_type=transaction_type)
        self._writer = writer

    async def get_connection(self):
        return self._writer

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            await self._writer.end_failed()
            raise
        finally:
            self.engine.current_transaction.reset(self.context)
        return exception is None


class KeptSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with its connections kept open (see above)."""

    def __init__(self, path: Path, *, readers: int, timeout: float = SQLITE_BUSY_TIMEOUT_S):
        super().__init__(path=f"file:{path}?mode=rw", uri=True, timeout=timeout)
        self.file = path
        self._readers_size = readers
        self._readers: ThreadPoolExecutor | None = None
        self._reader_local = threading.local()
        self._opened: list[_KeptConnection] = []
        self._writers: WeakKeyDictionary[asyncio.AbstractEventLoop, _Writer] = WeakKeyDictionary()
        self._guard = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(**self.connection_kwargs, check_same_thread=False)
        conn.row_factory = dict_factory
        conn.execute("PRAGMA foreign_keys = 1")
        return conn

    def _kept(self) -> _KeptConnection:
        connection = _KeptConnection(self.file, self._connect)
        with self._guard:
            self._opened.append(connection)
        return connection

    # Queries outside a transaction (Piccolo's hook): on a reader.

    def _read(self, sql: str, args: list[Any]) -> list[dict]:
        connection = getattr(self._reader_local, "connection", None)
        if connection is None:
            connection = self._reader_local.connection = self._kept()
        try:
            return connection.run(sql, args)
        finally:
            if connection.in_transaction:  # a statement that opened one (not ours): end it
                connection.close()

    async def _run_in_new_connection(self, query, args=None, query_type="generic", table=None):
        with self._guard:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(self._readers_size, "sqlite-reader")
            readers = self._readers
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(readers, self._read, query, args or [])

    async def _run_in_existing_connection(
        self, connection, query, args=None, query_type="generic", table=None
    ):
        if isinstance(connection, _Writer):
            return await connection.execute(query, args or [])
        return await super()._run_in_existing_connection(
            connection, query, args, query_type=query_type, table=table
        )

    # Write transactions: on the loop's writer.

    async def writer(self) -> _Writer:
        loop = asyncio.get_running_loop()
        writer = self._writers.get(loop)
        if writer is None:
            # Not among the readers' connections: a writer goes with its loop.
            writer = self._writers[loop] = _Writer(_KeptConnection(self.file, self._connect))
            await writer.execute("SELECT 1")  # opened now, outside the write lock
        return writer

    def write(self, writer: _Writer) -> SQLiteTransaction:
        return _KeptTransaction(self, writer, TransactionType.immediate)

    def close(self) -> None:
        """Close every kept connection (the threads finish what they run first)."""
        with self._guard:
            readers, self._readers = self._readers, None
            writers = list(self._writers.values())
            self._writers = WeakKeyDictionary()
        if readers is not None:
            readers.shutdown(wait=True)
        for writer in writers:
            writer.close()
        with self._guard:
            opened, self._opened = self._opened, []
            self._reader_local = threading.local()
        for connection in opened:
            connection.close()


def within(query, column, ids):
    """``query`` narrowed to rows whose ``column`` is one of ``ids``; None leaves it
    whole (every funder, say), an empty set keeps nothing (ids start at 1)."""
    if ids is None:
        return query
    return query.where(column.is_in(sorted(ids)) if ids else column == 0)


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
    writers of other processes (the CLI). A nested write joins its outer transaction.
    On a ``KeptSQLiteEngine`` the loop's writer connection is opened before the lock."""
    if engine.current_transaction.get() is not None:
        async with engine.transaction(transaction_type=TransactionType.immediate) as inner:
            yield inner
        return
    loop = asyncio.get_running_loop()
    lock = _sqlite_writers.get(loop)
    if lock is None:
        lock = _sqlite_writers[loop] = asyncio.Lock()
    if isinstance(engine, KeptSQLiteEngine):
        writer = await engine.writer()
        async with lock, engine.write(writer) as outer:
            yield outer
        return
    async with lock, engine.transaction(transaction_type=TransactionType.immediate) as outer:
        yield outer


class Param:
    """A named value of a ``Prepared`` query, given at each run."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class Prepared:
    """A Piccolo query whose SQL is built once per engine type, then run with new values.

    Piccolo builds a query's SQL again at each run: for a select along join paths
    (``Application.call.funder.name``) that is milliseconds of CPU, more than the
    database takes to answer. ``build`` makes the query from ``Param`` placeholders,
    one per keyword argument; ``run(**values)`` puts the values in their places and
    gives Piccolo's rows (``output(load_json=True)`` included; ``first`` for a query
    built with ``limit(1)``).
    Relies on two details of Piccolo 1.38 (a query string's frozen SQL, the query's
    result processing), checked by tests/integration/core/test_prepared.py."""

    def __init__(self, build: Callable[..., Any], names: Iterable[str] | None = None):
        self._build = build
        self._names = list(inspect.signature(build).parameters if names is None else names)
        self._compiled: dict[str, tuple[Any, Any, str, list[Any]]] = {}

    def _for(self, engine_type: str) -> tuple[Any, Any, str, list[Any]]:
        compiled = self._compiled.get(engine_type)
        if compiled is None:
            query = self._build(**{name: Param(name) for name in self._names})
            (querystring,) = query.querystrings
            sql, args = querystring.compile_string(engine_type=engine_type)
            compiled = self._compiled[engine_type] = (query, querystring, sql, args)
        return compiled

    async def run(self, **values: Any) -> Any:
        engine = current_engine()
        query, querystring, sql, args = self._for(engine.engine_type)
        bound = copy.copy(querystring)
        bound._frozen_compiled_strings = (
            sql,
            [values[arg.name] if isinstance(arg, Param) else arg for arg in args],
        )
        rows = await engine.run_querystring(bound, in_pool=True)
        return await query._process_results(rows)

    async def first(self, **values: Any) -> Any:
        rows = await self.run(**values)
        return rows[0] if rows else None


# Prepared queries by key (``prepared``): the least recently used go beyond this many.
PREPARED_KEPT = 1024
_by_key: OrderedDict[Hashable, Prepared] = OrderedDict()


def prepared(
    key: Hashable, build: Callable[..., Any], names: Iterable[str] | None = None
) -> Prepared:
    """The ``Prepared`` query of ``key``, made from ``build`` at the key's first use.

    For a query whose form depends on a few values (a person's funders, a call, a page
    of a list): ``key`` holds every value ``build`` puts in the query as a constant, so
    one key always means one SQL; values that vary widely (a person's id, a date) are
    ``Param``s of ``build`` instead, given to ``run`` (named by ``names``, else by
    ``build``'s parameters)."""
    found = _by_key.get(key)
    if found is None:
        found = _by_key[key] = Prepared(build, names)
        if len(_by_key) > PREPARED_KEPT:
            _by_key.popitem(last=False)
    else:
        _by_key.move_to_end(key)
    return found


def for_update(query: Q) -> Q:
    """Lock the selected rows until commit on PostgreSQL; on SQLite the IMMEDIATE
    transaction already serialises writers, and Piccolo's ``lock_rows`` is refused."""
    if isinstance(current_engine(), PostgresEngine):
        return query.lock_rows()  # type: ignore[attr-defined]
    return query
