"""SQLite's connections kept open (core/db.py): reads on a few readers, writes on one
writer per loop, the file's replacement noticed, everything closed at the end."""

import asyncio
import sqlite3

import pytest

from app.core import db
from app.funders.tables import Funder
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own connections")


def with_engine(url, work, **kwargs):
    engine = db.engine_from_url(url, **kwargs)
    previous = db.current_engine()
    db.bind(engine)
    try:
        return asyncio.run(work(engine))
    finally:
        engine.close()
        db.bind(previous)


def test_queries_reuse_a_few_connections_and_stop_closes_them(databases):
    async def work(engine):
        for _ in range(50):
            await Funder.count()
        await asyncio.gather(*(Funder.count() for _ in range(20)))
        for n in range(5):
            async with db.write_transaction():
                await Funder.insert(Funder(name=f"F {n}", slug=f"f-{n}", kind="commune"))
        opened = list(engine._opened)
        writer = await engine.writer()
        assert 1 <= len(opened) <= 3  # 70 reads, at most the pool's size of connections
        assert await Funder.count() == 5
        await db.stop(engine)
        assert engine._opened == [] and engine._writers.get(asyncio.get_running_loop()) is None
        for connection in [*opened, writer.connection]:
            assert connection._conn is None
        # Used again after stop: opened again.
        assert await Funder.count() == 5

    with_engine(databases.fresh_url(), work, pool_size=3)


def test_a_failed_commit_leaves_no_transaction_open_on_the_writer(databases):
    """A write whose COMMIT fails (a deferred foreign key: SQLite keeps the transaction
    open then) is given up, and the kept writer serves the next write: never « cannot
    start a transaction within a transaction »."""

    async def work(engine):
        with pytest.raises(sqlite3.IntegrityError):
            async with db.write_transaction():
                await Funder.raw("PRAGMA defer_foreign_keys = ON")
                await Funder.insert(Funder(name="A", slug="a", kind="commune"))
                await Funder.raw(
                    """INSERT INTO role_grant ("user", role) VALUES (424242, 'officer')"""
                )
        async with db.write_transaction():
            await Funder.insert(Funder(name="B", slug="b", kind="commune"))
        return [r["name"] for r in await Funder.select(Funder.name)]

    assert with_engine(databases.fresh_url(), work) == ["B"]


def test_a_database_file_gone_shows_and_comes_back(databases, tmp_path):
    """Kept connections would go on reading a file that was moved away (an outage, a
    restore): the file is checked before each statement outside a transaction."""
    url = databases.fresh_url()
    path = db.sqlite_path(url)
    away = tmp_path / "away.sqlite3"

    async def work(engine):
        async with db.write_transaction():
            await Funder.insert(Funder(name="Avant", slug="avant", kind="commune"))
        assert await Funder.count() == 1
        path.rename(away)
        with pytest.raises(sqlite3.OperationalError, match="unable to open"):
            await Funder.count()
        with pytest.raises(sqlite3.OperationalError, match="unable to open"):
            async with db.write_transaction():
                await Funder.insert(Funder(name="Pendant", slug="pendant", kind="commune"))
        away.rename(path)
        async with db.write_transaction():
            await Funder.insert(Funder(name="Après", slug="apres", kind="commune"))
        return sorted(r["name"] for r in await Funder.select(Funder.name))

    assert with_engine(url, work) == ["Après", "Avant"]
