"""Data versions: counters the database moves in the same transaction as a write.

A page part kept rendered (``core.web.kept_part``) is keyed by the versions of what it
shows; reading them is one query on a primary key, so a request whose data has not
changed since the last render skips the queries and the rendering. Triggers move the
versions, not the services: no write path (a service, a bulk insert, the demo, the
command line, a migration) can forget one, and the new version is visible exactly when
the write is (same transaction). What moves which version is data, ``Tracked`` rows
listed in ``app/versions.py``; ``install`` turns them into triggers (by migration), and
``installed`` reads back what the database holds, which a test compares with the list.

A version is named ``name`` (one for the whole table) or ``name:value`` (one per value
of a column of the written row: a call's files move « files:7 »). The value may be read
through a foreign key (a review's file's call). On SQLite every trigger is per row; on
PostgreSQL a version of a whole table moves once per statement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from piccolo.engine.postgres import PostgresEngine

from app.core.db import Param, current_engine, prepared
from app.core.tables import DataVersion

_NAME = re.compile(r"[a-z][a-z_]{0,30}")
PREFIX = "dv_"  # every trigger (and PostgreSQL function) made here, and only those


@dataclass(frozen=True, slots=True)
class Tracked:
    """Writes to ``table`` move the version ``name``.

    ``per``: one version per value of this column of the written row (``name:value``);
    with ``via`` = (a column of ``table``, the table it points to), ``per`` is a column
    of that other table, read through the link. ``columns``: an update moves the version
    only when one of these columns changes (inserts and deletes always do). ``only`` =
    (a column, a value): only rows holding that value count."""

    name: str
    table: str
    per: str | None = None
    via: tuple[str, str] | None = None
    columns: tuple[str, ...] = ()
    only: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        words = [self.name, self.table, self.per or "x", *(self.via or ()), *self.columns]
        words += self.only or ()
        if not all(_NAME.fullmatch(word) for word in words):
            raise ValueError(f"not a plain name in {self}")  # they go into SQL as they are

    @property
    def trigger(self) -> str:
        # PostgreSQL fires a table's triggers in the order of their names: the versions
        # shared by more rows first (the table's, then one per call, then the row's
        # own), so that two transactions writing rows of one table (a bulk action, a
        # single one) take the version rows in the same order and never deadlock.
        order = 0 if self.per is None else 2 if self.per == "id" and not self.via else 1
        return f"{PREFIX}{order}_{self.name}__{self.table}"

    def value(self, row: str) -> str | None:
        """The SQL of the ``per`` value for ``row`` (NEW or OLD), None for one version."""
        if self.per is None:
            return None
        if self.via is None:
            return f'{row}."{self.per}"'
        column, table = self.via
        # Names checked by __post_init__ (plain lower-case words), not user input.
        return f'(SELECT "{self.per}" FROM "{table}" WHERE id = {row}."{column}")'  # noqa: S608  # nosec B608

    def bump(self, row: str, *, unlike: str = "") -> str:
        """The statement moving the version for ``row``: made at its first write (an
        upsert); nothing when the row has no ``per`` value. With ``unlike`` (an update's
        OLD row), nothing either when NEW has the same value: NEW's statement moves it."""
        value = self.value(row)
        name, where = f"'{self.name}'", "true"
        if value is not None:
            name, where = f"'{self.name}:' || {value}", f"{value} IS NOT NULL"
            if unlike:
                where += f" AND {value} {unlike} {self.value('NEW')}"
        return (  # from the checked names only
            f"INSERT INTO data_version (name, version) SELECT {name}, 1 WHERE {where} "  # nosec B608
            "ON CONFLICT (name) DO UPDATE SET version = data_version.version + 1;"
        )

    def when(self, operation: str, unlike: str) -> str:
        """The condition for a row trigger after ``operation`` to count ("": always):
        ``only``, and for an update a change of one of ``columns``."""
        row = "OLD" if operation == "DELETE" else "NEW"
        conditions = [f"{row}.\"{self.only[0]}\" = '{self.only[1]}'"] if self.only else []
        if operation == "UPDATE" and self.columns:
            conditions.append(f"({self.changed(unlike)})")
        return " AND ".join(conditions)

    def changed(self, unlike: str) -> str:
        """The condition of an update that counts (``unlike``: SQL's IS NOT or IS
        DISTINCT FROM)."""
        return " OR ".join(f'OLD."{c}" {unlike} NEW."{c}"' for c in self.columns)


def sqlite_ddl(tracked: Tracked) -> list[str]:
    """Three row triggers: after an insert (NEW), a delete (OLD), an update (both)."""
    statements = []
    for operation in ("INSERT", "DELETE", "UPDATE"):
        when = tracked.when(operation, "IS NOT")
        when = f" WHEN {when}" if when else ""
        body = tracked.bump("OLD" if operation == "DELETE" else "NEW")
        if operation == "UPDATE" and tracked.per:  # the row may have moved (another call)
            body = tracked.bump("OLD", unlike="IS NOT") + " " + body
        statements.append(
            f"CREATE TRIGGER {tracked.trigger}__{operation.lower()} AFTER {operation} "
            f'ON "{tracked.table}"{when} BEGIN {body} END'
        )
    return statements


def postgres_ddl(tracked: Tracked) -> list[str]:
    """A function and its triggers: once per statement for one version of the whole
    table, else per row (NEW after an insert or an update, OLD after a delete or an
    update that moved the row), one trigger per operation when a condition applies."""
    if tracked.per is None and not tracked.columns and not tracked.only:
        return [
            f"CREATE OR REPLACE FUNCTION {tracked.trigger}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {tracked.bump('')} RETURN NULL; END $$",
            f"CREATE TRIGGER {tracked.trigger} AFTER INSERT OR UPDATE OR DELETE "
            f'ON "{tracked.table}" FOR EACH STATEMENT EXECUTE FUNCTION {tracked.trigger}()',
        ]
    moved = tracked.bump("OLD", unlike="IS DISTINCT FROM") if tracked.per else "NULL;"
    body = (
        f"IF TG_OP = 'DELETE' THEN {tracked.bump('OLD')} END IF; "
        f"IF TG_OP = 'UPDATE' THEN {moved} END IF; "
        f"IF TG_OP <> 'DELETE' THEN {tracked.bump('NEW')} END IF;"
    )
    statements = [
        f"CREATE OR REPLACE FUNCTION {tracked.trigger}() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$ BEGIN {body} RETURN NULL; END $$"
    ]
    for operation in ("INSERT", "DELETE", "UPDATE"):
        when = tracked.when(operation, "IS DISTINCT FROM")
        statements.append(
            f"CREATE TRIGGER {tracked.trigger}__{operation.lower()} AFTER {operation} "
            f'ON "{tracked.table}" FOR EACH ROW{f" WHEN ({when})" if when else ""} '
            f"EXECUTE FUNCTION {tracked.trigger}()"
        )
    return statements


def _postgres() -> bool:
    return isinstance(current_engine(), PostgresEngine)


async def installed() -> set[tuple[str, str]]:
    """(trigger, table) of every trigger made here that the database holds."""
    if _postgres():
        rows = await DataVersion.raw(
            "SELECT tgname AS name, tgrelid::regclass::text AS tbl FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgname LIKE {}",
            PREFIX + "%",
        )
    else:
        rows = await DataVersion.raw(
            "SELECT name, tbl_name AS tbl FROM sqlite_master "
            "WHERE type = 'trigger' AND name LIKE {}",
            PREFIX + "%",
        )
    return {(r["name"], r["tbl"].strip('"')) for r in rows}


def digest(tracked: Iterable[Tracked]) -> str:
    """A short fingerprint of a list: the migration installing it says it (INSTALLS),
    and a test finds that the latest one installs the list as it is."""
    return hashlib.sha256(repr(tuple(tracked)).encode()).hexdigest()[:16]


def expected(tracked: Iterable[Tracked], *, postgres: bool) -> set[tuple[str, str]]:
    """(trigger, table) that ``install`` makes for ``tracked``."""
    found = set()
    for t in tracked:
        for statement in (postgres_ddl if postgres else sqlite_ddl)(t):
            if statement.startswith("CREATE TRIGGER"):
                found.add((statement.split()[2], t.table))
    return found


async def install(tracked: Sequence[Tracked]) -> None:
    """Make the triggers of ``tracked``, dropping every one made here before (run by a
    migration each time the list changes)."""
    names = [t.trigger for t in tracked]
    if len(set(names)) != len(names):
        raise ValueError("two Tracked rows for one version and one table")
    postgres = _postgres()
    for trigger, table in sorted(await installed()):
        on = f' ON "{table}"' if postgres else ""
        await DataVersion.raw(f"DROP TRIGGER IF EXISTS {trigger}{on}")
    if postgres:
        for row in await DataVersion.raw(
            "SELECT proname FROM pg_proc WHERE proname LIKE {}", PREFIX + "%"
        ):
            await DataVersion.raw(f"DROP FUNCTION IF EXISTS {row['proname']}()")
    for t in tracked:
        for statement in (postgres_ddl if postgres else sqlite_ddl)(t):
            await DataVersion.raw(statement)


@dataclass(frozen=True, slots=True)
class Seen:
    """Versions as one query read them: what a page part is kept under."""

    names: tuple[str, ...]
    values: tuple[int, ...]


async def seen(names: Sequence[str]) -> Seen:
    """The current value of each version (0: never moved), in one query."""
    query = prepared(
        (seen, len(names)),
        lambda **_names: DataVersion.select(DataVersion.name, DataVersion.version).where(
            DataVersion.name.is_in([Param(f"n{i}") for i in range(len(names))])
        ),
        names=[f"n{i}" for i in range(len(names))],
    )
    rows = await query.run(**{f"n{i}": name for i, name in enumerate(names)})
    found = {r["name"]: r["version"] for r in rows}
    return Seen(tuple(names), tuple(found.get(name, 0) for name in names))
