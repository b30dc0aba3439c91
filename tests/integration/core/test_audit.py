"""The audit trail on a real database: the chain, tampering, concurrency, rollback.

Tests that damage the chain repair it before they end: the module shares one database.
"""

import asyncio
import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from app.accounts.tables import User
from app.core import audit
from app.core.db import write_transaction
from app.core.tables import AuditEntry
from tests.factories import make_user, run


class Boom(Exception):
    pass


@pytest.fixture(scope="module")
def actor(client) -> dict:
    return make_user(client)


async def newest(count: int = 1) -> list[dict]:
    rows = await AuditEntry.select().order_by(AuditEntry.id, ascending=False).limit(count)
    return rows[::-1]


def test_entries_chain_from_genesis_and_verify(client, actor):
    async def scenario():
        await audit.record(
            "tests.role_granted",
            actor_id=actor["id"],
            actor_label=actor["email"],
            ip="203.0.113.5",
            object_type="user",
            object_id=actor["id"],
            summary={"role": "officer"},
        )
        async with write_transaction():
            await audit.record(
                "tests.call_published",
                actor_id=actor["id"],
                object_type="call",
                object_id="42",
                summary={"from": "draft", "to": "published"},
            )
        first = await AuditEntry.select().order_by(AuditEntry.id).first()
        return first, await newest(2), await audit.verify_chain()

    first, (granted, published), result = run(client, scenario)
    assert first["prev_hash"] == audit.GENESIS_HASH
    assert published["prev_hash"] == granted["hash"]
    assert len(granted["hash"]) == 64 and granted["actor_label"] == actor["email"]
    assert result.ok and result.first_broken_id is None and result.reason == ""
    assert result.checked >= 2 and result.last_hash == published["hash"]


def test_search_filters_and_counts(client, actor):
    async def scenario():
        for n in range(3):
            await audit.record(
                "tests.searched", actor_id=actor["id"], object_type="file", object_id=n
            )
        return (
            await audit.search(action="tests.searched", limit=2),
            await audit.search(action="tests.searched", limit=2, offset=2),
            await audit.search(object_type="file", object_id=1),
            await audit.search(actor_id=actor["id"], action="tests.*", limit=100),
            await audit.search(action="tests.searched", since=datetime.now(UTC)),
            await audit.search(
                action="tests.searched", until=datetime.now(UTC) + timedelta(minutes=1)
            ),
        )

    page1, page2, one, by_actor, future, past = run(client, scenario)
    assert page1[1] == 3 and [e["object_id"] for e in page1[0]] == ["2", "1"]  # newest first
    assert [e["object_id"] for e in page2[0]] == ["0"]
    assert one[1] == 1 and one[0][0]["action"] == "tests.searched"
    assert one[0][0]["actor_id"] == actor["id"] and one[0][0]["summary"] == {}
    assert {e["action"] for e in by_actor[0]} >= {"tests.searched", "tests.role_granted"}
    assert future == ([], 0)
    assert past[1] == 3


def test_changed_summary_is_detected_and_named(client, actor):
    async def scenario():
        await audit.record("tests.grant_amount", actor_id=actor["id"], summary={"cents": 100})
        await audit.record("tests.after_it")
        target = (await newest(2))[0]
        await AuditEntry.raw(
            "UPDATE audit_entry SET summary = {} WHERE id = {}", '{"cents":10000000}', target["id"]
        )
        broken = await audit.verify_chain(batch_size=3)  # the walk crosses batches
        await AuditEntry.raw(
            "UPDATE audit_entry SET summary = {} WHERE id = {}", target["summary"], target["id"]
        )
        return target["id"], broken, await audit.verify_chain()

    target_id, broken, repaired = run(client, scenario)
    assert not broken.ok
    assert broken.first_broken_id == target_id
    assert "content changed" in broken.reason
    assert repaired.ok


def test_deleted_middle_entry_is_detected(client):
    async def scenario():
        for n in range(3):
            await audit.record("tests.to_delete", summary={"n": n})
        _, middle, last = await newest(3)
        await AuditEntry.delete().where(AuditEntry.id == middle["id"])
        broken = await audit.verify_chain()
        await AuditEntry.insert(AuditEntry(**middle))
        return last["id"], broken, await audit.verify_chain()

    last_id, broken, repaired = run(client, scenario)
    assert not broken.ok
    assert broken.first_broken_id == last_id
    assert "link broken" in broken.reason
    assert repaired.ok


def test_reattributed_or_relabelled_entry_is_detected(client, actor):
    other = make_user(client)

    async def scenario():
        await audit.record("tests.signed", actor_id=actor["id"], actor_label=actor["email"])
        target = (await newest())[0]
        results = []
        for column, value in (("actor", other["id"]), ("actor_label", other["email"])):
            await AuditEntry.raw(
                f"UPDATE audit_entry SET {column} = {{}} WHERE id = {{}}", value, target["id"]
            )
            results.append(await audit.verify_chain())
            await AuditEntry.raw(
                f"UPDATE audit_entry SET {column} = {{}} WHERE id = {{}}",
                target[column],
                target["id"],
            )
        return target["id"], results, await audit.verify_chain()

    target_id, (moved, relabelled), repaired = run(client, scenario)
    assert (moved.first_broken_id, relabelled.first_broken_id) == (target_id, target_id)
    assert "actor changed" in moved.reason
    assert "digest mismatch" in relabelled.reason
    assert repaired.ok


def test_concurrent_writers_still_form_one_chain(client, actor):
    async def one(n: int) -> None:
        async with write_transaction():
            await audit.record("tests.concurrent", actor_id=actor["id"], summary={"n": n})

    async def scenario():
        await asyncio.gather(*(one(n) for n in range(20)))
        return await audit.verify_chain(), await audit.search(action="tests.concurrent", limit=50)

    result, (entries, total) = run(client, scenario)
    assert result.ok, result
    assert total == 20
    assert sorted(e["summary"]["n"] for e in entries) == list(range(20))


@pytest.mark.parametrize(
    "summary",
    [
        {"password": "hunter2"},
        {"reset_token": "abc"},
        {"totp_secret": "JBSWY3DP"},
        {"recovery_codes": ["a", "b"]},
        {"bank": {"iban": "FR76..."}},
        {"note": "FR76 3000 6000 0112 3456 7890 189"},
    ],
)
def test_secrets_are_refused_and_nothing_is_written(client, summary):
    async def scenario():
        before = await AuditEntry.count()
        with pytest.raises(ValueError):
            await audit.record("tests.secret", summary=summary)
        return before, await AuditEntry.count()

    before, after = run(client, scenario)
    assert after == before


def test_entry_rolls_back_with_its_transaction(client, actor):
    async def scenario():
        before = await AuditEntry.count()
        with pytest.raises(Boom):
            async with write_transaction():
                await audit.record("tests.rolled_back", actor_id=actor["id"])
                raise Boom
        exists = await AuditEntry.exists().where(AuditEntry.action == "tests.rolled_back")
        return before, await AuditEntry.count(), exists, await audit.verify_chain()

    before, after, exists, result = run(client, scenario)
    assert after == before and not exists
    assert result.ok


def test_pseudonymising_and_deleting_people_keep_the_chain(client, actor):
    leaving = make_user(client)
    deleted = make_user(client)

    async def scenario():
        await audit.record(
            "tests.by_leaving", actor_id=leaving["id"], actor_label=leaving["email"], ip="::1"
        )
        await audit.record("tests.by_deleted", actor_id=deleted["id"], actor_label="x@y.fr")
        changed = await audit.pseudonymise_actor(leaving["id"], by_actor_id=actor["id"])
        await User.delete().where(User.id == deleted["id"])
        return (
            changed,
            await audit.search(actor_id=leaving["id"], action="tests.by_leaving"),
            await audit.search(actor_id=deleted["id"], action="tests.by_deleted"),
            await audit.search(action="audit.actor_pseudonymised", object_id=leaving["id"]),
            await AuditEntry.select(AuditEntry.actor).where(
                AuditEntry.action == "tests.by_deleted"
            ),
            await audit.verify_chain(),
        )

    changed, mine, theirs, erasure, deleted_rows, result = run(client, scenario)
    assert changed >= 1
    entry = mine[0][0]
    assert entry["actor_id"] == leaving["id"]  # still found by id
    assert (entry["actor_label"], entry["ip"]) == (audit.PSEUDONYMISED_LABEL, None)
    assert erasure[1] == 1 and erasure[0][0]["summary"] == {"entries": changed}
    assert theirs[1] == 1 and deleted_rows == [{"actor": None}]  # ON DELETE SET NULL
    assert result.ok, result


def test_export_streams_in_batches_as_csv(client):
    async def scenario():
        for n in range(5):
            await audit.record("tests.exported", object_type="export", object_id=f"=n{n}")
        streamed = [e async for e in audit.iter_entries(action="tests.exported", batch_size=2)]
        lines = [line async for line in audit.stream_csv(action="tests.exported", batch_size=2)]
        return streamed, lines

    streamed, lines = run(client, scenario)
    assert [e["object_id"] for e in streamed] == [f"=n{n}" for n in range(5)]
    assert [e["id"] for e in streamed] == sorted(e["id"] for e in streamed)
    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    assert [r["object_id"] for r in rows] == [f"'=n{n}" for n in range(5)]
    assert list(audit.csv_rows(streamed)) == lines


def test_verify_command_reports_intact_and_broken(client, capsys):
    async def scenario():
        intact = await audit.verify_command()
        await audit.record("tests.cli")
        target = (await newest())[0]
        await AuditEntry.raw(
            "UPDATE audit_entry SET action = {} WHERE id = {}", "tests.forged", target["id"]
        )
        broken = await audit.verify_command()
        await AuditEntry.raw(
            "UPDATE audit_entry SET action = {} WHERE id = {}", "tests.cli", target["id"]
        )
        return intact, broken, target["id"]

    intact, broken, target_id = run(client, scenario)
    out = capsys.readouterr().out.splitlines()
    assert intact == 0 and out[0].startswith("audit chain intact: ")
    assert out[0].endswith(" entries")
    assert broken == 1
    assert out[2] == f"audit chain broken at entry #{target_id}: content changed (hash mismatch)"


def test_cli_verify_runs_on_a_bound_engine(settings):
    """As `guichet audit verify` will: a fresh process binds the engine, then calls it."""
    code = (
        "from app.core import audit, db\n"
        f"db.bind(db.engine_from_url({settings.database_url!r}))\n"
        "raise SystemExit(audit.cli_verify())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("audit chain intact: ")
