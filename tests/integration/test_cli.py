"""The `guichet` command on an empty database: migrate, demo, create-admin, --help."""

import json
import os
import subprocess
import sys

import pytest


def guichet(*args, env=None, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=600,  # a bound for a hung command: loading the demo takes minutes on a busy machine
        check=False,
    )


@pytest.fixture
def empty_env(databases, tmp_path):
    """An empty database of the test's own (not even migrated)."""
    return {
        "DATABASE_URL": databases.empty_url(),
        "GUICHET_DATA_DIR": str(tmp_path),
        "GUICHET_ENV": "development",
    }


@pytest.fixture
def migrated_env(databases, tmp_path):
    """A migrated database of the test's own, with nothing in it."""
    return {
        "DATABASE_URL": databases.fresh_url(),
        "GUICHET_DATA_DIR": str(tmp_path),
        "GUICHET_ENV": "development",
    }


@pytest.mark.parametrize(
    "command", ["serve", "migrate", "demo", "create-admin", "backup", "restore", "finance"]
)
def test_every_command_has_help(command):
    result = guichet(command, "--help")
    assert result.returncode == 0
    assert "usage: guichet " + command in result.stdout


def test_migrate_then_demo_on_an_empty_database(empty_env):
    first = guichet("migrate", env=empty_env)
    assert first.returncode == 0, first.stderr
    again = guichet("migrate", env=empty_env)  # idempotent
    assert again.returncode == 0, again.stderr

    demo = guichet("demo", "--if-empty", env=empty_env)
    assert demo.returncode == 0, demo.stderr
    assert "admin@demo.guichet.test" in demo.stdout
    assert "demo-guichet-2026" in demo.stdout

    second = guichet("demo", "--if-empty", env=empty_env)
    assert "already holds data" in second.stdout


def test_create_admin(migrated_env):
    result = guichet(
        "create-admin",
        "--email",
        "Chef@Example.fr",
        "--name",
        "Chef Test",
        "--password-stdin",
        env=migrated_env,
        stdin="a long enough password\n",
    )
    assert result.returncode == 0, result.stderr
    duplicate = guichet(
        "create-admin",
        "--email",
        "chef@example.fr",
        "--name",
        "Chef Test",
        "--password-stdin",
        env=migrated_env,
        stdin="a long enough password\n",
    )
    assert duplicate.returncode == 1 and "email_taken" in duplicate.stderr
    short = guichet(
        "create-admin",
        "--email",
        "x@example.fr",
        "--name",
        "X",
        "--password-stdin",
        env=migrated_env,
        stdin="short\n",
    )
    assert short.returncode == 1 and "password_too_short" in short.stderr


def test_demo_is_refused_in_production(empty_env):
    env = {
        **empty_env,
        "GUICHET_ENV": "production",
        "SECRET_KEY": "p" * 40,
        "ALLOWED_HOSTS": "x.fr",
        "GUICHET_BASE_URL": "https://x.fr",
    }
    result = guichet("demo", env=env)
    assert result.returncode == 2
    assert "refusing" in result.stderr


def test_bad_configuration_stops_with_one_line(empty_env):
    result = guichet("migrate", env={**empty_env, "DATABASE_URL": "oracle://db"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DATABASE_URL" in result.stderr


def test_unreachable_database_is_one_clear_line(empty_env):
    env = {**empty_env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"}
    result = guichet("migrate", env=env)
    assert result.returncode == 1
    assert "migration failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_to_start_without_a_migrated_database(databases, tmp_path):
    env = {"DATABASE_URL": databases.empty_url(), "GUICHET_DATA_DIR": str(tmp_path), "PORT": "1"}
    result = guichet("serve", env=env)
    assert result.returncode == 1
    assert "guichet migrate" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_audit_verify_checks_the_chain(empty_env):
    assert guichet("migrate", env=empty_env).returncode == 0
    guichet("demo", "--if-empty", env=empty_env)
    result = guichet("audit", "verify", env=empty_env)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout
    assert guichet("audit", "--help").returncode == 0


def _query(url: str, statement: str) -> list[dict]:
    import asyncio
    import sqlite3

    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(statement).fetchall()]
    import asyncpg

    async def fetch() -> list[dict]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(row) for row in await conn.fetch(statement)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_audit_checkpoint_then_verify_sees_removed_entries(databases, tmp_path):
    url = databases.empty_url()
    env = {"DATABASE_URL": url, "GUICHET_DATA_DIR": str(tmp_path), "GUICHET_ENV": "development"}
    assert guichet("audit", "checkpoint", "--help").returncode == 0
    assert guichet("migrate", env=env).returncode == 0
    made = guichet(
        "create-admin", "--email", "chef@example.fr", "--name", "Chef", "--password-stdin",
        env=env, stdin="un mot de passe assez long\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = guichet("audit", "checkpoint", "--email", env=env)
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[1]
    assert json.loads(line)["entries"] >= 1
    assert "e-mailed to 1 administrators" in done.stdout
    assert (tmp_path / "audit" / "checkpoints.jsonl").read_text() == line + "\n"
    # The head went to the admin, in French, to keep out of reach of the database.
    sent = _query(
        url,
        "SELECT to_address, subject, body_text FROM outbox_message "
        "WHERE template = 'audit_checkpoint'",
    )
    assert [m["to_address"] for m in sent] == ["chef@example.fr"]
    assert sent[0]["subject"] == "Journal d’audit de Guichet : point de contrôle à conserver"
    assert line in sent[0]["body_text"] and "Conservez ce message" in sent[0]["body_text"]

    assert guichet("audit", "verify", env=env).returncode == 0
    _query(url, "DELETE FROM audit_entry WHERE id = (SELECT MAX(id) FROM audit_entry)")
    broken = guichet("audit", "verify", env=env)
    assert broken.returncode == 1
    assert "PROBLEM: entries removed" in broken.stdout
    assert broken.stdout.splitlines()[-1] == "audit verify: FAILED"


def test_reviews_remind_command(empty_env):
    assert guichet("migrate", env=empty_env).returncode == 0
    result = guichet("reviews", "remind", env=empty_env)
    assert result.returncode == 0 and "review reminders" in result.stdout


def test_finance_check_totals_names_a_difference_then_repairs_it(empty_env):
    """The sums kept for the finance dashboard equal the ledger's after the demo (its
    payments and recoveries went through the services); one changed behind the
    ledger's back is named, exit code 1, and --repair writes it again."""
    assert guichet("migrate", env=empty_env).returncode == 0
    guichet("demo", "--if-empty", env=empty_env)
    agreed = guichet("finance", "check-totals", env=empty_env)
    assert agreed.returncode == 0, agreed.stderr
    assert "equal the ledger" in agreed.stdout
    url = empty_env["DATABASE_URL"]
    grant = _query(url, 'SELECT MIN(id) AS id FROM "grant" WHERE paid_cents > 0')[0]["id"]
    _query(url, f'UPDATE "grant" SET paid_cents = paid_cents + 1 WHERE id = {grant}')
    _query(url, "UPDATE grant_call_totals SET to_pay_cents = to_pay_cents + 7")
    broken = guichet("finance", "check-totals", env=empty_env)
    assert broken.returncode == 1
    assert f"grant {grant}: kept paid" in broken.stderr and "to_pay kept" in broken.stderr
    repaired = guichet("finance", "check-totals", "--repair", env=empty_env)
    assert repaired.returncode == 0 and "repaired" in repaired.stdout
    assert guichet("finance", "check-totals", env=empty_env).returncode == 0
    # The same demo's agreements (Le PoleS's signed online): intact, until a byte changes.
    intact = guichet("agreements", "verify", env=empty_env)
    assert intact.returncode == 0 and "agreement files intact" in intact.stdout, intact.stderr
    from pathlib import Path

    signed = _query(
        url, "SELECT id, signed_file FROM grant_agreement WHERE signed_file IS NOT NULL"
    )
    stored = signed[0]["signed_file"]
    path = Path(empty_env["GUICHET_DATA_DIR"]) / "files" / stored[:2] / stored[2:4] / stored
    data = bytearray(path.read_bytes())
    data[100] ^= 0x20
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    altered = guichet("agreements", "verify", env=empty_env)
    assert altered.returncode == 1
    assert f"agreement {signed[0]['id']}: the signed file is altered" in altered.stderr


def _count_users(url: str) -> int:
    import asyncio
    import sqlite3

    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute("SELECT COUNT(*) FROM guichet_user").fetchone()[0]
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT COUNT(*) FROM guichet_user")
        finally:
            await conn.close()

    return asyncio.run(count())


def test_backup_then_restore_into_an_empty_database(databases, tmp_path):
    """guichet backup copies the database and the stored files consistently;
    guichet restore puts them back into an empty database, never over data."""
    from app.core.storage import FileStorage

    source = {
        "DATABASE_URL": databases.empty_url(),
        "GUICHET_DATA_DIR": str(tmp_path / "data"),
        "GUICHET_ENV": "development",
    }
    assert guichet("migrate", env=source).returncode == 0
    made = guichet(
        "create-admin", "--email", "chef@example.fr", "--name", "Chef", "--password-stdin",
        env=source, stdin="un mot de passe assez long\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    stored = FileStorage(tmp_path / "data" / "files").store_bytes(
        b"%PDF-1.4\n%%EOF\n", filename="statuts.pdf", kinds={"pdf"}
    )
    done = guichet("backup", str(tmp_path / "backup"), env=source)
    assert done.returncode == 0, done.stderr
    assert guichet("backup", str(tmp_path / "backup"), env=source).returncode == 1  # not empty

    target = {
        "DATABASE_URL": databases.empty_url(),
        "GUICHET_DATA_DIR": str(tmp_path / "restored"),
        "GUICHET_ENV": "development",
    }
    back = guichet("restore", str(tmp_path / "backup"), env=target)
    assert back.returncode == 0, back.stderr
    assert _count_users(target["DATABASE_URL"]) == 1
    restored = FileStorage(tmp_path / "restored" / "files").path_of(stored.storage_id)
    assert restored.read_bytes() == b"%PDF-1.4\n%%EOF\n"
    assert guichet("audit", "verify", env=target).returncode == 0
    # Restoring again over the data is refused unless asked.
    again = guichet("restore", str(tmp_path / "backup"), env=target)
    assert again.returncode == 1 and "holds data" in again.stderr
    assert guichet("restore", str(tmp_path / "backup"), "--force", env=target).returncode == 0
    assert _count_users(target["DATABASE_URL"]) == 1
