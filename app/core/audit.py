"""The audit trail: append-only, hash-chained, keyed, written in the caller's transaction.

Each entry's ``hash`` is ``HMAC-SHA256(audit key, prev_hash + canonical_json(fields))``;
the first entry's ``prev_hash`` is 64 zeros, and ``prev_hash`` is unique, so the entries
form one chain. Changing an entry breaks its own hash, deleting one breaks the next link;
``verify_chain`` names the first broken entry. The key is not in the database (it comes
from ``Settings.audit_key`` through ``use_key``), so someone who can write to the
database cannot rewrite an entry and recompute the hashes after it.

Entries written before the key existed carry ``hash_version`` 1 (plain
``sha256(prev_hash + canonical_json(fields))``) and still verify. The first keyed entry
(version 2) covers the last unkeyed hash, which seals the unkeyed part as of that
moment; an unkeyed entry after a keyed one is refused as a downgrade.

Removing the newest entries leaves a shorter valid chain: the head is therefore written
regularly to signed checkpoints outside the database (``core.audit_checkpoints``), and
``guichet audit verify`` compares the chain with them.

Who acted is personal data that must stay erasable (GDPR), so the hash covers it only
through ``actor_digest`` = sha256(random salt + label + ip). Erasing drops the salt
with the label and the ip (``pseudonymise_actor``): the chain still verifies, and the
digest alone no longer tells who it was. The hash also covers ``actor_ref``, the
account id at the time, so deleting an account (the ``actor`` link is then nulled by
the database) breaks nothing, while pointing an entry at someone else does.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import hmac
import io
import json
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from stdnum import iban

from app.core.db import is_sqlite, prepared, write_transaction
from app.core.exports import neutralise
from app.core.tables import AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something, for the audit trail (label: their e-mail at that time)."""

    user_id: int | None
    ip: str | None = None
    label: str = ""


SYSTEM = Actor(user_id=None)

GENESIS_HASH = "0" * 64
PSEUDONYMISED_LABEL = "[pseudonymised]"
UNKEYED = 1  # sha256, entries written before the audit key
KEYED = 2  # HMAC-SHA256 with the audit key
HASH_VERSION = KEYED  # what ``record`` writes
MIN_KEY_BYTES = 32
MAX_SUMMARY_CHARS = 4000
BATCH_SIZE = 500
# Any constant bigint works; this one is derived from a name so it does not clash by luck.
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"guichet.audit").digest()[:8], signed=True)

# Words that name secrets, matched against the parts of a key ("new_password",
# "resetToken", "recovery-codes"), plus substrings no innocent key contains.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "token", "secret", "totp", "otp", "iban", "code", "codes"}
    | {"cvv", "pin"}
)
_SECRET_SUBSTRINGS = (
    "password",
    "passwd",
    "secret",
    "token",
    "totp",
    "iban",
    "apikey",
    "privatekey",
)
_KEY_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_IBAN_START = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
# A SHA-256 digest as hashlib writes it: about one in 100 000 holds a run that passes
# an IBAN's checks, and a document's fingerprint is not a bank account.
_HEX_DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{64}(?![0-9A-Za-z])")
_SPACE_IN_NUMBER = re.compile(r"(?<=[A-Z0-9])[ \u00a0](?=[A-Z0-9])")

_ENTRY_COLUMNS = (
    AuditEntry.id,
    AuditEntry.created_at,
    AuditEntry.actor,
    AuditEntry.actor_ref,
    AuditEntry.actor_label,
    AuditEntry.ip,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.summary,
    AuditEntry.hash,
)


# --- The key ---------------------------------------------------------------------------


class AuditKeyMissing(RuntimeError):
    """An entry is written or checked before ``use_key`` was called."""


_key: bytes | None = None


def use_key(key: bytes) -> None:
    """Set the audit key for this process; called once where the settings are loaded
    (``create_app``, the ``guichet`` command) with ``Settings.audit_key``."""
    global _key
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the audit key must be at least {MIN_KEY_BYTES} bytes")
    _key = key


def current_key() -> bytes:
    if _key is None:
        raise AuditKeyMissing(
            "no audit key: call app.core.audit.use_key(settings.audit_key) where the "
            "settings are loaded (create_app and the guichet command do)"
        )
    return _key


# --- Pure functions --------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def looks_secret(key: str) -> bool:
    compact = re.sub(r"[^a-z0-9]", "", key.lower())
    if any(word in compact for word in _SECRET_SUBSTRINGS):
        return True
    parts = {p.lower() for p in _KEY_PARTS.findall(key)}
    return bool(parts & _SECRET_WORDS)


def _check_value(path: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit summary keys must be strings: {path}{key!r}")
            if looks_secret(key):
                raise ValueError(f"audit summary refuses secret-looking key {path}{key!r}")
            _check_value(f"{path}{key}.", item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_value(path, item)
    elif isinstance(value, str) and contains_iban(value):
        raise ValueError(f"audit summary refuses a full IBAN in {path.rstrip('.')!r}")


def contains_iban(text: str) -> bool:
    """A valid IBAN anywhere in the text, grouped by spaces or not (masked ones pass)."""
    compact = _SPACE_IN_NUMBER.sub("", _HEX_DIGEST.sub(" ", text).upper())
    for match in _IBAN_START.finditer(compact):
        candidate = match.group()
        if any(iban.is_valid(candidate[:end]) for end in range(15, len(candidate) + 1)):
            return True
    return False


def summary_json(summary: dict | None) -> str:
    """The canonical text stored for a summary; refuses secrets and oversized ones."""
    summary = summary or {}
    if not isinstance(summary, dict):
        raise ValueError("audit summary must be a dict")
    _check_value("", summary)
    try:
        # Round-trip once so dates, decimals, enums become the strings they are stored as.
        text = canonical_json(json.loads(json.dumps(summary, default=_json_default)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit summary is not plain data: {exc}") from None
    if len(text) > MAX_SUMMARY_CHARS:
        raise ValueError(f"audit summary too long ({len(text)} > {MAX_SUMMARY_CHARS} characters)")
    return text


def actor_digest(salt: str, actor_label: str, ip: str | None) -> str:
    payload = canonical_json({"actor_label": actor_label, "ip": ip})
    return hashlib.sha256((salt + payload).encode()).hexdigest()


def entry_hash(
    prev_hash: str,
    *,
    version: int,
    key: bytes | None,
    created_at: datetime,
    actor_ref: int | None,
    actor_digest: str,
    action: str,
    object_type: str,
    object_id: str,
    summary: str,
) -> str:
    """The chained hash; ``summary`` is the stored JSON text (re-canonicalised).

    Version 1 is the unkeyed SHA-256 of the entries written before the key (``key`` is
    not used); version 2 the HMAC-SHA256 with ``key``. The version is hashed too."""
    fields = {
        "v": version,
        "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_ref,
        "actor_digest": actor_digest,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "summary": json.loads(summary),
    }
    message = (prev_hash + canonical_json(fields)).encode()
    if version == UNKEYED:
        return hashlib.sha256(message).hexdigest()
    if version == KEYED:
        if not key:
            raise AuditKeyMissing("a keyed (version 2) audit hash needs the audit key")
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    raise ValueError(f"unknown audit hash version {version!r}")


# --- Writing ---------------------------------------------------------------------------


async def record(
    action: str,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    ip: str | None = None,
    object_type: str = "",
    object_id: str | int | None = None,
    summary: dict | None = None,
) -> None:
    """Append one entry to the audit trail.

    Call it inside the ``write_transaction()`` that makes the change, so the entry
    commits or rolls back with it; without an active transaction it opens its own.
    Appenders are serialised (SQLite: the IMMEDIATE transaction; PostgreSQL: a
    transaction-scoped advisory lock, held until the caller commits — call ``record``
    near the end of long transactions). The caller's transaction must be READ
    COMMITTED (Piccolo's default) so the latest entry is visible once the lock is held.

    ``summary`` is a short dict of what changed. Keys that look like secrets
    (password, token, secret, totp, iban, code...) and full IBANs are refused with
    ``ValueError``: never put passwords, tokens or bank details in the trail.
    Without an audit key (``use_key``) nothing is written: ``AuditKeyMissing``.
    """
    key = current_key()
    if not action or len(action) > 80:
        raise ValueError("audit action must be 1 to 80 characters")
    summary_text = summary_json(summary)
    object_id_text = "" if object_id is None else str(object_id)
    if len(object_id_text) > 64 or len(object_type) > 50:
        raise ValueError("audit object_type/object_id too long")
    actor_label = (actor_label or "")[:254]
    ip = ip[:45] if ip else None
    salt = secrets.token_hex(16)
    digest = actor_digest(salt, actor_label, ip)

    async with write_transaction():
        if not is_sqlite():
            await AuditEntry.raw("SELECT pg_advisory_xact_lock({})", ADVISORY_LOCK_KEY)
        last = (
            await AuditEntry.select(AuditEntry.hash)
            .order_by(AuditEntry.id, ascending=False)
            .first()
        )
        prev_hash = last["hash"] if last else GENESIS_HASH
        # Taken under the lock, so the times never go backwards along the chain.
        created_at = datetime.now(UTC)
        await AuditEntry.insert(
            AuditEntry(
                created_at=created_at,
                actor=actor_id,
                actor_ref=actor_id,
                actor_label=actor_label,
                ip=ip,
                actor_salt=salt,
                actor_digest=digest,
                action=action,
                object_type=object_type,
                object_id=object_id_text,
                summary=summary_text,
                prev_hash=prev_hash,
                hash_version=HASH_VERSION,
                hash=entry_hash(
                    prev_hash,
                    version=HASH_VERSION,
                    key=key,
                    created_at=created_at,
                    actor_ref=actor_id,
                    actor_digest=digest,
                    action=action,
                    object_type=object_type,
                    object_id=object_id_text,
                    summary=summary_text,
                ),
            )
        )


async def record_by(
    actor: Any, action: str, object_type: str, object_id: int | None, **summary: Any
) -> None:
    """``record`` for a domain action by an actor (anything with ``user_id``, ``label``
    and ``ip``, such as ``accounts.services.Actor``); ``summary`` as keyword arguments."""
    await record(
        action,
        actor_id=actor.user_id,
        actor_label=actor.label,
        ip=actor.ip,
        object_type=object_type,
        object_id=object_id,
        summary=summary or None,
    )


async def pseudonymise_actor(
    user_id: int, *, by_actor_id: int | None = None, by_label: str = "", ip: str | None = None
) -> int:
    """Erase who a person was from the entries they made, and the IP of anonymous
    entries about their account (sign-up, failed sign-ins), keeping the chain valid;
    records the erasure itself. Returns how many entries changed.

    Call it when the person's account is erased or pseudonymised, in that transaction."""
    async with write_transaction():
        changed = (
            await AuditEntry.update(
                {
                    AuditEntry.actor: None,
                    AuditEntry.actor_label: PSEUDONYMISED_LABEL,
                    AuditEntry.ip: None,
                    AuditEntry.actor_salt: None,
                }
            )
            .where(
                (AuditEntry.actor_ref == user_id)
                | (
                    (AuditEntry.object_type == "user")
                    & (AuditEntry.object_id == str(user_id))
                    & AuditEntry.actor_ref.is_null()
                ),
                AuditEntry.actor_salt.is_not_null(),
            )
            .returning(AuditEntry.id)
        )
        await record(
            "audit.actor_pseudonymised",
            actor_id=by_actor_id,
            actor_label=by_label,
            ip=ip,
            object_type="user",
            object_id=user_id,
            summary={"entries": len(changed)},
        )
    return len(changed)


# --- Verifying -------------------------------------------------------------------------

HASH_MISMATCH = "content changed (hash mismatch)"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    last_hash: str = GENESIS_HASH
    last_id: int = 0
    # The first keyed (version 2) entry: where the unkeyed part was sealed.
    keyed_from: int | None = None
    # (id, position counted from 1, hash) of the entries asked for with ``watch``.
    watched: tuple[tuple[int, int, str], ...] = ()


def check_entry(
    row: dict, prev_hash: str, *, key: bytes | None = None, after_keyed: bool = False
) -> str:
    """Why this entry breaks the chain after ``prev_hash``, or '' when it holds.

    ``after_keyed``: a keyed entry came before, so an unkeyed one is a downgrade.
    A keyed entry without ``key`` raises ``AuditKeyMissing`` (no verdict without it)."""
    version = row["hash_version"]
    if version not in (UNKEYED, KEYED):
        return f"unknown hash version {version!r}"
    if version == UNKEYED and after_keyed:
        return "downgraded (an unkeyed version 1 entry after keyed ones)"
    try:
        expected = entry_hash(
            row["prev_hash"],
            version=version,
            key=key,
            created_at=row["created_at"],
            actor_ref=row["actor_ref"],
            actor_digest=row["actor_digest"],
            action=row["action"],
            object_type=row["object_type"],
            object_id=row["object_id"],
            summary=row["summary"],
        )
    except (ValueError, TypeError):
        return "content changed (summary is not valid JSON)"
    if expected != row["hash"]:
        return HASH_MISMATCH
    if row["prev_hash"] != prev_hash:
        return (
            "link broken (prev_hash does not match the previous entry: one was removed or changed)"
        )
    if row["actor"] is not None and row["actor"] != row["actor_ref"]:
        return "actor changed (does not match the actor recorded)"
    if row["actor_salt"]:
        if actor_digest(row["actor_salt"], row["actor_label"], row["ip"]) != row["actor_digest"]:
            return "actor label or ip changed (digest mismatch)"
    elif row["actor_label"] != PSEUDONYMISED_LABEL or row["ip"] is not None:
        return "actor label or ip changed (no salt, yet not pseudonymised)"
    return ""


async def verify_chain(
    batch_size: int = BATCH_SIZE, *, key: bytes | None = None, watch: Iterable[int] = ()
) -> VerifyResult:
    """Walk the whole trail in id order, ``batch_size`` rows at a time; keyed entries
    are checked with ``key`` (default: the process's, ``use_key``). For the ids in
    ``watch`` the result gives their position and hash (checkpoints compare them)."""
    key = key or _key
    watch = frozenset(watch)
    watched: list[tuple[int, int, str]] = []
    prev_hash = GENESIS_HASH
    checked = 0
    last_id = 0
    keyed_from: int | None = None
    while True:
        rows = (
            await AuditEntry.select()
            .where(AuditEntry.id > last_id)
            .order_by(AuditEntry.id)
            .limit(batch_size)
        )
        for row in rows:
            reason = check_entry(row, prev_hash, key=key, after_keyed=keyed_from is not None)
            if reason:
                if reason == HASH_MISMATCH and row["hash_version"] == KEYED and not keyed_from:
                    reason += (
                        "; or the audit key (AUDIT_KEY, or SECRET_KEY when it is unset) is "
                        "not the key the keyed entries were written with"
                    )
                return VerifyResult(
                    ok=False,
                    checked=checked,
                    first_broken_id=row["id"],
                    reason=reason,
                    last_hash=prev_hash,
                    last_id=last_id,
                    keyed_from=keyed_from,
                    watched=tuple(watched),
                )
            if keyed_from is None and row["hash_version"] == KEYED:
                keyed_from = row["id"]
            prev_hash = row["hash"]
            last_id = row["id"]
            checked += 1
            if last_id in watch:
                watched.append((last_id, checked, prev_hash))
        if len(rows) < batch_size:
            return VerifyResult(
                ok=True,
                checked=checked,
                last_hash=prev_hash,
                last_id=last_id,
                keyed_from=keyed_from,
                watched=tuple(watched),
            )


# --- Reading ---------------------------------------------------------------------------


def _conditions(
    actor_id: int | None,
    object_type: str | None,
    object_id: str | int | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list:
    conditions = []
    if actor_id is not None:
        conditions.append(AuditEntry.actor_ref == actor_id)
    if object_type is not None:
        conditions.append(AuditEntry.object_type == object_type)
    if object_id is not None:
        conditions.append(AuditEntry.object_id == str(object_id))
    if action is not None:
        if action.endswith(".*"):  # "accounts.*": a whole domain
            conditions.append(AuditEntry.action.like(action[:-1].replace("%", "") + "%"))
        else:
            conditions.append(AuditEntry.action == action)
    if since is not None:
        conditions.append(AuditEntry.created_at >= since)
    if until is not None:
        conditions.append(AuditEntry.created_at < until)
    return conditions


def _as_entry(row: dict) -> dict:
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "actor_id": row["actor_ref"],
        "actor_label": row["actor_label"],
        "ip": row["ip"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "summary": json.loads(row["summary"]),
        "hash": row["hash"],
    }


async def search(
    *,
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """One page of entries, newest first, and how many match in all.

    ``since`` is inclusive, ``until`` exclusive; ``action="accounts.*"`` matches a prefix;
    ``actor_id`` still finds the entries of a deleted account."""
    conditions = _conditions(actor_id, object_type, object_id, action, since, until)
    query = AuditEntry.select(*_ENTRY_COLUMNS)
    count = AuditEntry.count()
    if conditions:
        query = query.where(*conditions)
        count = count.where(*conditions)
    rows = (
        await query.order_by(AuditEntry.id, ascending=False)
        .limit(max(0, limit))
        .offset(max(0, offset))
    )
    return [_as_entry(r) for r in rows], await count


async def of_object(object_type: str, object_id: str | int, *, limit: int) -> list[dict]:
    """The latest ``limit`` entries about one object, newest first (a file's history:
    one query, built once)."""
    query = prepared(
        (of_object, limit),
        lambda object_type, object_id: (
            AuditEntry.select(*_ENTRY_COLUMNS)
            .where((AuditEntry.object_type == object_type) & (AuditEntry.object_id == object_id))
            .order_by(AuditEntry.id, ascending=False)
            .limit(limit)
        ),
    )
    rows = await query.run(object_type=object_type, object_id=str(object_id))
    return [_as_entry(r) for r in rows]


async def iter_entries(
    *,
    actor_id: int | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[dict]:
    """Every matching entry, oldest first, fetched ``batch_size`` at a time."""
    conditions = _conditions(actor_id, object_type, object_id, action, since, until)
    last_id = 0
    while True:
        rows = (
            await AuditEntry.select(*_ENTRY_COLUMNS)
            .where(AuditEntry.id > last_id, *conditions)
            .order_by(AuditEntry.id)
            .limit(batch_size)
        )
        for row in rows:
            yield _as_entry(row)
        if len(rows) < batch_size:
            return
        last_id = rows[-1]["id"]


CSV_COLUMNS = (
    "id",
    "created_at",
    "actor_id",
    "actor_label",
    "ip",
    "action",
    "object_type",
    "object_id",
    "summary",
    "hash",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    # A spreadsheet runs a cell that starts like a formula: made plain text.
    return neutralise(canonical_json(value) if isinstance(value, dict) else value)


def csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def csv_header() -> str:
    return csv_line(CSV_COLUMNS)


def csv_rows(entries: Iterable[dict]) -> Iterator[str]:
    """The header, then one CSV line per entry (as returned by ``search``)."""
    yield csv_header()
    for entry in entries:
        yield csv_line(entry[column] for column in CSV_COLUMNS)


async def stream_csv(**filters: Any) -> AsyncIterator[str]:
    """The CSV export, line by line, for a streamed response (same filters as search)."""
    yield csv_header()
    async for entry in iter_entries(**filters):
        yield csv_line(entry[column] for column in CSV_COLUMNS)
