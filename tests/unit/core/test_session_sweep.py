"""The file store's sweep: expired sessions go at start-up and every interval; live
ones, writes in progress and files that are no session stay."""

import asyncio
from types import SimpleNamespace

from litestar.stores.file import FileStore

from app.core.periodic import background
from app.core.security import session_sweep_job, sweep_expired_sessions


def test_the_sweep_runs_at_start_up_and_deletes_only_expired_sessions(tmp_path):
    store = FileStore(tmp_path / "sessions", create_directories=True)

    async def main():
        await store.set("outlived", b"{}", expires_in=-1)
        await store.set("alive", b"{}", expires_in=3600)
        (tmp_path / "sessions" / "abc.tmp1234").write_bytes(b"\x92half")  # being written
        (tmp_path / "sessions" / "stranger").write_bytes(b"not a session")
        async with background(SimpleNamespace(env="development"), [session_sweep_job(store)])():
            for _ in range(100):
                if not await store.exists("outlived"):
                    break
                await asyncio.sleep(0.01)
        return await store.exists("outlived"), await store.exists("alive")

    assert asyncio.run(main()) == (False, True)
    assert {p.name for p in (tmp_path / "sessions").iterdir()} >= {"abc.tmp1234", "stranger"}
    assert len(list((tmp_path / "sessions").iterdir())) == 3


def test_nothing_to_sweep_without_a_directory_or_in_redis(tmp_path):
    assert asyncio.run(sweep_expired_sessions(FileStore(tmp_path / "absent"))) == 0
    assert asyncio.run(sweep_expired_sessions(SimpleNamespace())) == 0
