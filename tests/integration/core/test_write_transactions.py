"""The write-transaction helper under a surge of writers in one process (SQLite)."""

import asyncio

import pytest
from piccolo.engine.sqlite import SQLiteEngine

from app.core import db
from app.funders.tables import Funder
from tests.conftest import PG_URL


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's file lock; PostgreSQL locks rows")
def test_many_writers_of_one_process_queue_instead_of_failing_locked(databases):
    """Twenty writers at once, each holding the write lock 50 ms, with a busy timeout
    of 0.2 s: polling SQLite's lock, most of them would fail with "database is
    locked"; queued in the process, every one commits."""
    url = databases.fresh_url()
    engine = SQLiteEngine(path=f"file:{db.sqlite_path(url)}?mode=rw", uri=True, timeout=0.2)
    previous = db.current_engine()

    async def write(n: int) -> None:
        async with db.write_transaction():
            await Funder.insert(Funder(name=f"Financeur {n}", slug=f"f-{n}", kind="commune"))
            await asyncio.sleep(0.05)

    async def surge() -> int:
        await asyncio.gather(*(write(n) for n in range(20)))
        return await Funder.count()

    db.bind(engine)
    try:
        assert asyncio.run(surge()) == 20
    finally:
        db.bind(previous)


def test_a_nested_write_joins_its_outer_transaction(databases):
    url = databases.fresh_url()
    engine = db.engine_from_url(url)
    previous = db.current_engine()

    async def nested() -> int:
        with pytest.raises(RuntimeError):
            async with db.write_transaction():
                await Funder.insert(Funder(name="Dehors", slug="dehors", kind="commune"))
                async with db.write_transaction():
                    await Funder.insert(Funder(name="Dedans", slug="dedans", kind="commune"))
                raise RuntimeError("the outer transaction fails")
        return await Funder.count()

    db.bind(engine)
    try:
        assert asyncio.run(nested()) == 0  # both rolled back, and no deadlock
    finally:
        db.bind(previous)
