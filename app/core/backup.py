"""Backups: a consistent copy of the database and of the data dir's files, and back.

A backup folder holds ``manifest.json``, the database (``database.sqlite3``, written
with SQLite's online backup API while the app runs, or ``database.dump`` from
``pg_dump --format=custom``, a consistent snapshot too) and ``files/``. Stored files
are written once under random ids and never changed, so copying them before and after
the database snapshot gives every file the snapshot names. Sessions, the outbox's .eml
copies and temporary files are not kept; ``secret_key`` is (CSRF tokens and the audit
trail's actor digests depend on it).

Restoring puts everything back into an empty database (``--force`` replaces a
database that holds data); stop the application first.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  # pg_dump, pg_restore, psql: fixed programs
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

FORMAT = 1


class BackupError(Exception):
    pass


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    return path


def _pg_env(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments; the password goes in the environment,
    never on the command line."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", parts.username]
    return [*args, "-d", parts.path.lstrip("/") or "postgres"], env


def _copy_files(source: Path, target: Path) -> int:
    """Copy the files ``target`` lacks (files are immutable: a present one is complete)."""
    copied = 0
    if not source.is_dir():
        return 0
    for path in source.rglob("*"):
        if path.is_file() and not path.name.endswith(".part"):
            destination = target / path.relative_to(source)
            if not destination.exists():
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)
                copied += 1
    return copied


def backup(database_url: str, data_dir: Path, destination: Path) -> dict:
    """Write a backup into ``destination`` (created; must not exist or be empty)."""
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty")
    destination.mkdir(parents=True, exist_ok=True)
    files = data_dir / "files"
    _copy_files(files, destination / "files")
    if database_url.startswith("sqlite"):
        from app.core.db import sqlite_path

        source = sqlite3.connect(f"file:{sqlite_path(database_url)}?mode=ro", uri=True)
        target = sqlite3.connect(destination / "database.sqlite3")
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        kind = "sqlite"
    else:
        args, env = _pg_env(database_url)
        result = subprocess.run(  # noqa: S603  # nosec B603  # fixed program, arguments from settings
            [
                _program("pg_dump"),
                "--format=custom",
                "--no-owner",
                "-f",
                str(destination / "database.dump"),
                *args,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
        kind = "postgresql"
    # Files written while the snapshot was taken.
    _copy_files(files, destination / "files")
    secret = data_dir / "secret_key"
    if secret.exists():
        shutil.copy2(secret, destination / "secret_key")
    manifest = {
        "format": FORMAT,
        "database": kind,
        "created_at": datetime.now(UTC).isoformat(),
        "files": sum(1 for p in (destination / "files").rglob("*") if p.is_file()),
    }
    (destination / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def _database_is_empty(database_url: str) -> bool:
    if database_url.startswith("sqlite"):
        from app.core.db import sqlite_path

        path = sqlite_path(database_url)
        if not path.exists():
            return True
        with sqlite3.connect(path) as conn:
            tables = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='guichet_user'"
            ).fetchall()
            return (
                not tables or conn.execute("SELECT COUNT(*) FROM guichet_user").fetchone()[0] == 0
            )
    args, env = _pg_env(database_url)

    def ask(query: str) -> str:
        result = subprocess.run(  # noqa: S603  # nosec B603  # fixed program and queries
            [_program("psql"), "-qtA", *args, "-c", query],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"cannot read the database: {result.stderr.strip()[:300]}")
        return result.stdout.strip()

    if ask("SELECT to_regclass('public.guichet_user') IS NULL") == "t":
        return True
    return ask("SELECT COUNT(*) FROM guichet_user") == "0"


def restore(source: Path, database_url: str, data_dir: Path, *, force: bool = False) -> dict:
    """Put a backup back. Refused into a database that holds data unless ``force``."""
    try:
        manifest = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError):
        raise BackupError(f"{source} is not a Guichet backup (no manifest.json)") from None
    if manifest.get("format") != FORMAT:
        raise BackupError("unknown backup format")
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    if manifest["database"] != kind:
        raise BackupError(f"this backup is of a {manifest['database']} database, not {kind}")
    if not force and not _database_is_empty(database_url):
        raise BackupError("the database holds data: restore into an empty one, or use --force")
    if kind == "sqlite":
        from app.core.db import sqlite_path

        target = sqlite_path(database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        with sqlite3.connect(source / "database.sqlite3") as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    else:
        args, env = _pg_env(database_url)
        result = subprocess.run(  # noqa: S603  # nosec B603  # fixed program, arguments from settings
            [
                _program("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                *args,
                str(source / "database.dump"),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")
    data_dir.mkdir(parents=True, exist_ok=True)
    _copy_files(source / "files", data_dir / "files")
    if (source / "secret_key").exists():
        shutil.copy2(source / "secret_key", data_dir / "secret_key")
    return manifest
