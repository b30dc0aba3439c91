"""Test databases: migrated once per run into a template, then copied fresh for each
test module (a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL).

Set TEST_DATABASE_URL=postgresql://user@host:port/dbname to run on PostgreSQL; the
databases made from it are dropped at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import hypothesis
import pytest

from app.core import db
from app.settings import Settings, load_settings

PG_URL = os.environ.get("TEST_DATABASE_URL", "")

# No time limit on a hypothesis example: a busy machine (CI, two workers) makes one slow
# now and then, and speed is measured in bench/, never in a test.
hypothesis.settings.register_profile("guichet", deadline=None)
hypothesis.settings.load_profile("guichet")
_counter = itertools.count()


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def in_own_loop(coroutine):
    """asyncio.run in a thread of its own: a browser test (Playwright's sync API) keeps
    an event loop running in the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def redis_answers() -> bool:
    """Redis listens on 127.0.0.1:6379 (tests that need it are skipped otherwise)."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _pg_admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    in_own_loop(run())


async def _migrate(url: str) -> None:
    engine = db.bind(db.engine_from_url(url))
    await db.migrate()
    await db.stop(engine)


class Databases:
    """Makes fresh, migrated databases for tests."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        if PG_URL:
            base = urlsplit(PG_URL).path.lstrip("/") or "postgres"
            self.prefix = f"{base}_{self.run_id}"
            self.template = f"{self.prefix}_tpl"
            _pg_admin(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
            asyncio.run(_migrate(_with_db(PG_URL, self.template)))
        else:
            self.template_url = f"sqlite:///{workdir / 'template.sqlite3'}"
            db.create_sqlite_file(self.template_url)
            asyncio.run(_migrate(self.template_url))

    @property
    def backend(self) -> str:
        return "postgres" if PG_URL else "sqlite"

    def fresh_url(self) -> str:
        n = next(_counter)
        if PG_URL:
            name = f"{self.prefix}_{n}"
            _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            self.created.append(name)
            return _with_db(PG_URL, name)
        path = self.workdir / f"db{n}.sqlite3"
        shutil.copyfile(self.workdir / "template.sqlite3", path)
        return f"sqlite:///{path}"

    def empty_url(self) -> str:
        """A database with nothing in it (not even migrations)."""
        n = next(_counter)
        if PG_URL:
            name = f"{self.prefix}_empty{n}"
            _pg_admin(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            return _with_db(PG_URL, name)
        return f"sqlite:///{self.workdir / f'empty{n}.sqlite3'}"

    def drop(self, url: str) -> None:
        if PG_URL:
            name = urlsplit(url).path.lstrip("/")
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)

    def close(self) -> None:
        for name in reversed(self.created):
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_collection_modifyitems(items):
    """Browser tests are marked e2e and run last: Playwright's sync API keeps an event
    loop in the main thread while it is open."""
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: "/e2e/" in str(item.fspath))


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.close()


@pytest.fixture(autouse=True)
def _each_test_starts_signed_out(request) -> Iterator[None]:
    """A module's tests share its client: whoever a test signed in as, even one that
    stopped half-way, is forgotten before the next test (cookies cleared)."""
    yield
    if "client" in request.fixturenames:
        request.getfixturevalue("client").cookies.clear()


def make_settings(database_url: str, data_dir: Path, **overrides: str) -> Settings:
    environ = {
        "GUICHET_ENV": "test",
        "DATABASE_URL": database_url,
        "GUICHET_DATA_DIR": str(data_dir),
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        **overrides,
    }
    return load_settings(environ)


@pytest.fixture(scope="module")
def settings(databases, tmp_path_factory) -> Settings:
    return make_settings(databases.fresh_url(), tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def app(settings):
    from app.main import create_app

    return create_app(settings)


@pytest.fixture(scope="module")
def client(app) -> Iterator:
    from litestar.testing import TestClient

    with TestClient(app=app) as test_client:
        yield test_client
