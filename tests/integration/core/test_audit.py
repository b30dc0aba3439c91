"""The audit trail on a real database: the chain, tampering, concurrency, rollback, the
audit key, and the checkpoints kept outside the database.

Tests that damage the chain repair it before they end: the module shares one database.
"""

import asyncio
import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from app.accounts.tables import User
from app.core import audit, db
from app.core.audit_checkpoints import (
    latest_checkpoint,
    make_line,
    verify,
    verify_command,
    write_checkpoint,
)
from app.core.db import write_transaction
from app.core.tables import AuditEntry
from tests.factories import make_user, run, sign_in, sign_out, text_of


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
        await audit.record("tests.role_granted", actor_id=actor["id"], object_type="user")
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


def test_verify_command_reports_intact_and_broken(client, settings, tmp_path, capsys):
    path = tmp_path / "checkpoints.jsonl"

    async def scenario():
        intact = await verify_command(path, settings.audit_key)
        await audit.record("tests.cli")
        target = (await newest())[0]
        await AuditEntry.raw(
            "UPDATE audit_entry SET action = {} WHERE id = {}", "tests.forged", target["id"]
        )
        broken = await verify_command(path, settings.audit_key)
        await AuditEntry.raw(
            "UPDATE audit_entry SET action = {} WHERE id = {}", "tests.cli", target["id"]
        )
        return intact, broken, target["id"]

    intact, broken, target_id = run(client, scenario)
    out = capsys.readouterr().out.splitlines()
    assert intact == 0 and out[0].startswith("audit chain intact: ")
    assert out[0].endswith(" entries")
    assert out[1].startswith("keyed (HMAC) from entry #")
    assert out[3].startswith("no checkpoint yet in ")
    assert out[4] == "audit verify: OK"
    assert broken == 1
    assert out[-2] == (
        f"PROBLEM: audit chain broken at entry #{target_id}: content changed (hash mismatch)"
    )
    assert out[-1] == "audit verify: FAILED"


async def rewrite_from(first: int, *, version: int, key: bytes | None, **changes) -> list[dict]:
    """What someone who can write to the database but lacks the key does: change entry
    ``first`` and recompute every later hash (``version``, ``key``); returns the rows
    as they were, for ``restore``."""
    rows = await AuditEntry.select().where(AuditEntry.id >= first).order_by(AuditEntry.id)
    prev = (await AuditEntry.select(AuditEntry.prev_hash).where(AuditEntry.id == first))[0]
    prev = prev["prev_hash"]
    for row in rows:
        forged = {**row, **(changes if row["id"] == first else {})}
        new_hash = audit.entry_hash(
            prev,
            version=version,
            key=key,
            created_at=forged["created_at"],
            actor_ref=forged["actor_ref"],
            actor_digest=forged["actor_digest"],
            action=forged["action"],
            object_type=forged["object_type"],
            object_id=forged["object_id"],
            summary=forged["summary"],
        )
        await AuditEntry.raw(
            "UPDATE audit_entry SET summary = {}, prev_hash = {}, hash = {}, hash_version = {} "
            "WHERE id = {}",
            forged["summary"],
            prev,
            new_hash,
            version,
            row["id"],
        )
        prev = new_hash
    return rows


async def restore(rows: list[dict]) -> None:
    for row in rows:
        await AuditEntry.raw(
            "UPDATE audit_entry SET summary = {}, prev_hash = {}, hash = {}, hash_version = {} "
            "WHERE id = {}",
            row["summary"],
            row["prev_hash"],
            row["hash"],
            row["hash_version"],
            row["id"],
        )


@pytest.mark.parametrize(
    ("version", "key", "expected"),
    [
        (audit.UNKEYED, None, "downgraded"),  # plain SHA-256, as before the key
        (audit.KEYED, b"not-the-audit-key-but-32-bytes-!", "hash mismatch"),
        (audit.KEYED, b"test-secret-key-" + b"x" * 32, "hash mismatch"),  # the raw SECRET_KEY
    ],
    ids=["sha256", "hmac-wrong-key", "hmac-secret-key"],
)
def test_a_rewrite_with_every_later_hash_recomputed_without_the_key_is_detected(
    client, settings, tmp_path, version, key, expected
):
    async def scenario():
        for n in range(4):
            await audit.record("tests.rehashed", summary={"cents": 100 * n})
        target = (await newest(4))[1]
        saved = await rewrite_from(
            target["id"], version=version, key=key, summary='{"cents":99999999}'
        )
        broken = await verify(tmp_path / "none.jsonl", settings.audit_key)
        await restore(saved)
        return target["id"], broken, await verify(tmp_path / "none.jsonl", settings.audit_key)

    target_id, broken, repaired = run(client, scenario)
    assert not broken.ok and broken.chain.first_broken_id == target_id
    assert expected in broken.chain.reason
    assert repaired.ok, repaired.problems


def test_removing_the_newest_entries_is_detected_by_the_checkpoint(
    client, settings, databases, tmp_path
):
    path = tmp_path / "audit" / "checkpoints.jsonl"

    async def scenario():
        for n in range(3):
            await audit.record("tests.truncated", summary={"n": n})
        checkpoint = await write_checkpoint(path, settings.audit_key)
        held = await verify(path, settings.audit_key)
        removed = await newest(2)
        await AuditEntry.delete().where(AuditEntry.id >= removed[0]["id"])
        truncated = await verify(path, settings.audit_key)
        # Then the trail goes on: the chain is valid again, the checkpoint still says no
        # (SQLite gives the removed ids again, PostgreSQL new ones).
        await audit.record("tests.after_truncation")
        await audit.record("tests.after_truncation")
        continued = await verify(path, settings.audit_key)
        await AuditEntry.delete().where(AuditEntry.action == "tests.after_truncation")
        for row in removed:
            await AuditEntry.insert(AuditEntry(**row))
        return checkpoint, held, truncated, continued, await verify(path, settings.audit_key)

    checkpoint, held, truncated, continued, repaired = run(client, scenario)
    assert held.ok and held.latest == checkpoint
    assert truncated.chain.ok and not truncated.ok  # a shorter chain verifies by itself
    assert truncated.problems[0].startswith("entries removed: ")
    assert f"#{checkpoint.last_id}" in truncated.problems[0]
    assert continued.chain.ok and not continued.ok
    assert f"entry #{checkpoint.last_id}" in continued.problems[0]
    expected = "is not the one" if databases.backend == "sqlite" else "missing from the trail"
    assert expected in continued.problems[0]
    assert repaired.ok, repaired.problems


def test_a_forged_checkpoint_line_is_flagged_and_not_trusted(client, settings, tmp_path):
    path = tmp_path / "checkpoints.jsonl"

    async def scenario():
        await audit.record("tests.checkpointed")
        genuine = await write_checkpoint(path, settings.audit_key)
        # Someone makes a line claiming fewer entries, to cover a truncation; without
        # the key the MAC cannot be made.
        head = genuine.head
        forged = make_line(
            type(head)(head.entries - 1, head.last_id - 1, head.last_hash),
            datetime.now(UTC),
            b"a guessed key of 32 bytes or more",
        )
        with path.open("a") as fh:
            fh.write(forged + "\n")
        return genuine, await verify(path, settings.audit_key)

    genuine, verdict = run(client, scenario)
    assert not verdict.ok
    assert verdict.problems == ("checkpoint line 2 is not genuine (its MAC does not match: "
                                "forged, altered, or another key)",)  # fmt: skip
    assert verdict.latest == genuine and verdict.chain.ok
    assert latest_checkpoint(path, settings.audit_key) == genuine


def test_an_unkeyed_entry_after_the_switch_over_is_refused(client, settings, tmp_path):
    async def scenario():
        await audit.record("tests.before_downgrade")
        last = (await newest())[0]
        created_at = datetime.now(UTC)
        fields = {
            "created_at": created_at,
            "actor_ref": None,
            "actor_digest": audit.actor_digest("0" * 32, "", None),
            "action": "tests.downgraded",
            "object_type": "",
            "object_id": "",
            "summary": "{}",
        }
        # Well chained, well hashed, as the code before the key would have written it.
        await AuditEntry.insert(
            AuditEntry(
                **fields,
                actor_label="",
                actor_salt="0" * 32,
                prev_hash=last["hash"],
                hash_version=audit.UNKEYED,
                hash=audit.entry_hash(last["hash"], version=audit.UNKEYED, key=None, **fields),
            )
        )
        inserted = (await newest())[0]
        broken = await verify(tmp_path / "none.jsonl", settings.audit_key)
        await AuditEntry.delete().where(AuditEntry.id == inserted["id"])
        return inserted["id"], broken, await verify(tmp_path / "none.jsonl", settings.audit_key)

    inserted_id, broken, repaired = run(client, scenario)
    assert broken.chain.first_broken_id == inserted_id
    assert broken.chain.reason == "downgraded (an unkeyed version 1 entry after keyed ones)"
    assert repaired.ok


def test_the_unkeyed_chain_written_before_the_key_still_verifies(databases, settings, tmp_path):
    """A database of before the key: its entries (version 1 by the column's default, as
    the migration leaves them) verify, and the first keyed entry seals them."""
    path = tmp_path / "checkpoints.jsonl"
    audit.use_key(settings.audit_key)
    url = databases.fresh_url()
    previous = db.current_engine()
    db.bind(db.engine_from_url(url))

    async def insert_unkeyed(n: int, prev: str) -> str:
        fields = {
            "created_at": datetime(2026, 11, 26, 12, n, tzinfo=UTC),
            "actor_ref": None,
            "actor_digest": audit.actor_digest(f"{n:032x}", "", None),
            "action": "tests.before_the_key",
            "object_type": "call",
            "object_id": str(n),
            "summary": f'{{"n":{n}}}',
        }
        hash_ = audit.entry_hash(prev, version=audit.UNKEYED, key=None, **fields)
        # The columns the table had before the migration: hash_version is left out.
        await AuditEntry.raw(
            "INSERT INTO audit_entry (created_at, actor_ref, actor_label, actor_salt, "
            "actor_digest, action, object_type, object_id, summary, prev_hash, hash) "
            "VALUES ({}, NULL, '', {}, {}, {}, {}, {}, {}, {}, {})",
            fields["created_at"],
            f"{n:032x}",
            fields["actor_digest"],
            fields["action"],
            fields["object_type"],
            fields["object_id"],
            fields["summary"],
            prev,
            hash_,
        )
        return hash_

    async def scenario():
        prev = audit.GENESIS_HASH
        for n in range(3):
            prev = await insert_unkeyed(n, prev)
        old_part = await audit.verify_chain(key=settings.audit_key)
        await audit.record("tests.after_the_key")
        await audit.record("tests.after_the_key")
        both = await audit.verify_chain(key=settings.audit_key)
        versions = await AuditEntry.select(AuditEntry.hash_version).order_by(AuditEntry.id)
        rows = await AuditEntry.select().order_by(AuditEntry.id)
        await write_checkpoint(path, settings.audit_key)
        # An unkeyed entry rewritten, the unkeyed hashes after it recomputed, the keyed
        # entries kept (their HMAC cannot be made again) and linked to the forged part.
        saved = await rewrite_from(
            rows[1]["id"], version=audit.UNKEYED, key=None, summary='{"n":42}'
        )
        forged_link = (await AuditEntry.select().where(AuditEntry.id == rows[2]["id"]))[0]
        await restore(saved[2:])
        await AuditEntry.raw(
            "UPDATE audit_entry SET prev_hash = {} WHERE id = {}",
            forged_link["hash"],
            rows[3]["id"],
        )
        sealed = await audit.verify_chain(key=settings.audit_key)
        # Or the whole chain rewritten as unkeyed: valid by itself, not to the checkpoint.
        await rewrite_from(rows[1]["id"], version=audit.UNKEYED, key=None, summary='{"n":42}')
        downgraded = await verify(path, settings.audit_key)
        return old_part, both, versions, rows, sealed, downgraded

    try:
        old_part, both, versions, rows, sealed, downgraded = asyncio.run(scenario())
    finally:
        db.bind(previous)
        databases.drop(url)
    assert old_part.ok and old_part.checked == 3 and old_part.keyed_from is None
    assert [v["hash_version"] for v in versions] == [1, 1, 1, 2, 2]
    assert both.ok and both.checked == 5 and both.keyed_from == rows[3]["id"]
    assert sealed.first_broken_id == rows[3]["id"]
    assert sealed.reason.startswith(audit.HASH_MISMATCH)
    assert downgraded.chain.ok and downgraded.chain.keyed_from is None
    assert not downgraded.ok and "rewritten" in downgraded.problems[0]


def test_pseudonymising_keeps_the_keyed_chain_and_its_checkpoint(client, settings, tmp_path):
    leaving = make_user(client)
    path = tmp_path / "checkpoints.jsonl"

    async def scenario():
        await audit.record("tests.by_leaving", actor_id=leaving["id"], actor_label="x@y.fr")
        await write_checkpoint(path, settings.audit_key)
        await audit.pseudonymise_actor(leaving["id"])
        return await verify(path, settings.audit_key)

    verdict = run(client, scenario)
    assert verdict.ok, verdict.problems
    assert verdict.chain.keyed_from is not None


def test_the_periodic_writer_appends_only_when_the_head_moved(client, settings, tmp_path):
    path = tmp_path / "checkpoints.jsonl"

    async def scenario():
        first = await write_checkpoint(path, settings.audit_key, only_if_moved=True)
        same = await write_checkpoint(path, settings.audit_key, only_if_moved=True)
        await audit.record("tests.moved")
        moved = await write_checkpoint(path, settings.audit_key, only_if_moved=True)
        forced = await write_checkpoint(path, settings.audit_key)  # the command always writes
        last = (await newest())[0]
        return first, same, moved, forced, last, await AuditEntry.count()

    first, same, moved, forced, last, count = run(client, scenario)
    assert first is not None and same is None
    assert moved.head == forced.head
    assert (moved.last_id, moved.last_hash, moved.entries) == (last["id"], last["hash"], count)
    assert len(path.read_text().splitlines()) == 3


def test_no_entry_is_written_without_an_audit_key(client, monkeypatch):
    monkeypatch.setattr(audit, "_key", None)

    async def scenario():
        before = await AuditEntry.count()
        with pytest.raises(audit.AuditKeyMissing, match="use_key"):
            await audit.record("tests.keyless")
        return before, await AuditEntry.count()

    before, after = run(client, scenario)
    assert after == before


def test_the_journal_tells_admins_about_the_latest_checkpoint(client, settings):
    path = settings.audit_checkpoints_path
    officer = make_user(client, roles=["officer"])
    admin = make_user(client, roles=["admin"])
    sign_in(client, admin)
    try:
        before = text_of(client.get("/journal").text)
        written = run(client, write_checkpoint, path, settings.audit_key)
        after = text_of(client.get("/journal").text)
        sign_out(client)
        sign_in(client, officer)
        officer_sees = text_of(client.get("/journal").text)
    finally:
        sign_out(client)
        path.unlink(missing_ok=True)
    assert "Aucun point de contrôle du journal hors de la base de données" in before
    assert "Dernier point de contrôle conservé hors de la base de données" in after
    assert f"{written.entries} entrées jusqu’au n° {written.last_id}" in after
    assert "Journal d’audit" in officer_sees and "point de contrôle" not in officer_sees


def guichet(settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        **{k: v for k, v in os.environ.items() if k != "AUDIT_KEY"},
        "GUICHET_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "GUICHET_DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": settings.secret_key,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_cli_verify_and_checkpoint_exit_codes(client, settings, tmp_path):
    """`guichet audit verify` in a process of its own: the key from the settings."""
    run(client, audit.record, "tests.cli_verify")
    first = guichet(settings, "audit", "verify")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "no checkpoint yet" in first.stdout
    made = guichet(settings, "audit", "checkpoint")
    try:
        assert made.returncode == 0, made.stderr
        kept = tmp_path / "kept.jsonl"  # the head kept elsewhere (the e-mail)
        kept.write_text(made.stdout.splitlines()[1] + "\n")
        held = guichet(settings, "audit", "verify")
        assert held.returncode == 0 and "audit verify: OK" in held.stdout
        # SECRET_KEY rotated without AUDIT_KEY: nothing verifies any more...
        rotated = {"SECRET_KEY": "another-secret-key-" + "y" * 32}
        other = guichet(settings, "audit", "verify", **rotated)
        assert other.returncode == 1
        assert "not the key the keyed entries were written with" in other.stdout
        assert "checkpoint line 1 is not genuine" in other.stdout
        # ...unless AUDIT_KEY holds the old derived key, as docs/security.md says.
        kept_key = guichet(
            settings, "audit", "verify", AUDIT_KEY=settings.audit_key.decode(), **rotated
        )
        assert kept_key.returncode == 0, kept_key.stdout
        # The newest entry removed: only the checkpoints show it, the kept one too.
        last = run(client, newest)[0]
        run(client, lambda: AuditEntry.delete().where(AuditEntry.id == last["id"]))
        try:
            truncated = guichet(settings, "audit", "verify")
            against_kept = guichet(settings, "audit", "verify", "--checkpoints", str(kept))
        finally:
            run(client, lambda: AuditEntry.insert(AuditEntry(**last)))
        for result in (truncated, against_kept):
            assert result.returncode == 1
            assert "audit chain intact" in result.stdout
            assert "PROBLEM: entries removed" in result.stdout
        assert guichet(settings, "audit", "verify", "--checkpoints", str(kept)).returncode == 0
    finally:
        settings.audit_checkpoints_path.unlink(missing_ok=True)
