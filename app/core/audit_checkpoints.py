"""Checkpoints of the audit chain's head, kept outside the database.

The keyed chain (``core.audit``) stops someone who can write to the database from
rewriting entries, but not from deleting the newest ones: what is left is a shorter
chain that verifies. So the head — how many entries, the last one's id and hash, and
when — is appended to ``<GUICHET_DATA_DIR>/audit/checkpoints.jsonl``: by the running
application at start-up and every hour (when the head moved), and by
``guichet audit checkpoint``. One JSON object a line, each with its own HMAC (``mac``)
under the audit key, so a forged or altered line is told from a genuine one.

The file is append-only by convention. Lines are appended with ``O_APPEND`` under an
exclusive ``flock`` and fsync'd, so several workers and the command never interleave.

``verify`` walks the chain and holds it against every genuine checkpoint: the entry a
checkpoint names must still be there, at the same position, with the same hash.
Entries written after the latest checkpoint are covered only by the next one: copy the
head elsewhere (``guichet audit checkpoint --email``) to keep it out of reach too.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.core import audit
from app.core.periodic import Job
from app.core.tables import AuditEntry

log = logging.getLogger("guichet.audit")

FORMAT = 1
# Domain separation: a checkpoint's MAC can never be taken for an entry's hash.
MAC_CONTEXT = b"guichet.audit.checkpoint\n"
FIELDS = frozenset({"v", "at", "entries", "last_id", "last_hash", "mac"})
TAIL_BYTES = 64 * 1024
EVERY_S = 3600


# --- Read models -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Head:
    """Where the chain ends: how many entries, the last one's id and hash."""

    entries: int
    last_id: int
    last_hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One genuine line of the checkpoints file: the chain's head at ``at``."""

    at: datetime
    entries: int
    last_id: int
    last_hash: str
    line: str  # the signed line as stored (no newline): what to keep elsewhere

    @property
    def head(self) -> Head:
        return Head(self.entries, self.last_id, self.last_hash)


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int  # counted from 1
    reason: str


@dataclass(frozen=True, slots=True)
class CheckpointFile:
    exists: bool
    checkpoints: tuple[Checkpoint, ...]  # genuine lines, in file order
    bad_lines: tuple[BadLine, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``verify`` found: the chain's walk, the checkpoints, and every problem."""

    chain: audit.VerifyResult
    file: CheckpointFile
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def latest(self) -> Checkpoint | None:
        return self.file.checkpoints[-1] if self.file.checkpoints else None


# --- Pure functions --------------------------------------------------------------------


def _mac(fields: dict, key: bytes) -> str:
    message = MAC_CONTEXT + audit.canonical_json(fields).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def make_line(head: Head, at: datetime, key: bytes) -> str:
    """The signed JSON line (no newline) recording ``head`` at ``at``."""
    fields = {
        "v": FORMAT,
        "at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "entries": head.entries,
        "last_id": head.last_id,
        "last_hash": head.last_hash,
    }
    return audit.canonical_json({**fields, "mac": _mac(fields, key)})


def parse_line(text: str, key: bytes) -> Checkpoint:
    """The checkpoint a line records; ``ValueError`` naming why it is not genuine."""
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError("damaged (not JSON)") from None
    if not isinstance(value, dict) or not isinstance(value.get("mac"), str):
        raise ValueError("damaged (not a signed checkpoint)")
    fields = {k: v for k, v in value.items() if k != "mac"}
    if not hmac.compare_digest(_mac(fields, key).encode(), value["mac"].encode()):
        raise ValueError("not genuine (its MAC does not match: forged, altered, or another key)")
    # Signed by us, so well formed unless the format changed.
    if set(value) != FIELDS or value["v"] != FORMAT:
        raise ValueError(f"unknown checkpoint format {value.get('v')!r}")
    return Checkpoint(
        at=datetime.fromisoformat(value["at"]),
        entries=int(value["entries"]),
        last_id=int(value["last_id"]),
        last_hash=str(value["last_hash"]),
        line=text,
    )


def parse_lines(text: str, key: bytes, *, exists: bool = True) -> CheckpointFile:
    checkpoints, bad = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(parse_line(line, key))
        except ValueError as exc:
            bad.append(BadLine(number, str(exc)))
    return CheckpointFile(exists, tuple(checkpoints), tuple(bad))


def compare(checkpoint: Checkpoint, chain: audit.VerifyResult) -> str:
    """Why the (intact) chain contradicts ``checkpoint``, or '' when it agrees."""
    if checkpoint.entries == 0:
        return ""  # taken on an empty trail: nothing to hold the chain to
    when = checkpoint.at.isoformat()
    found = {entry_id: (position, hash_) for entry_id, position, hash_ in chain.watched}
    if checkpoint.last_id not in found:
        if checkpoint.last_id > chain.last_id:
            return (
                f"entries removed: the checkpoint of {when} names entry #{checkpoint.last_id} "
                f"as the last of {checkpoint.entries}, but the trail now ends at entry "
                f"#{chain.last_id} with {chain.checked} entries"
            )
        return (
            f"entry #{checkpoint.last_id}, the last of {checkpoint.entries} at the checkpoint "
            f"of {when}, is missing from the trail"
        )
    position, hash_ = found[checkpoint.last_id]
    if hash_ != checkpoint.last_hash:
        return (
            f"entry #{checkpoint.last_id} is not the one the checkpoint of {when} recorded "
            "(its hash differs): the trail was rewritten up to there and its hashes "
            "recomputed, or entries were removed and others written in their place"
        )
    if position != checkpoint.entries:
        return (
            f"the checkpoint of {when} counted {checkpoint.entries} entries up to "
            f"#{checkpoint.last_id}; the trail now has {position}: entries were removed "
            "or added before it"
        )
    return ""


# --- The file --------------------------------------------------------------------------


def append_line(path: Path, line: str) -> None:
    """Append one line, whole, and make it durable.

    ``O_APPEND`` puts every write at the end; the exclusive ``flock`` keeps a line
    from another process out of the middle of this one even if the kernel splits a
    write; a file left without its final newline (a crash mid-line) gets one first."""
    if "\n" in line:
        raise ValueError("a checkpoint line holds no newline")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = (line + "\n").encode()
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    if created:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read_file(path: Path, key: bytes) -> CheckpointFile:
    """Every line of the file, sorted into genuine checkpoints and bad lines."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return CheckpointFile(False, (), ())
    return parse_lines(text, key)


def latest_checkpoint(path: Path, key: bytes) -> Checkpoint | None:
    """The newest genuine checkpoint, reading only the end of the file (cheap enough
    for a page); ``None`` when there is none yet."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_BYTES))
            tail = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    lines = tail.split("\n")
    if size > TAIL_BYTES:
        lines = lines[1:]  # the first one is cut
    for line in reversed(lines):
        if line.strip():
            try:
                return parse_line(line, key)
            except ValueError:
                continue
    if size > TAIL_BYTES:  # a long run of bad lines at the end: look further back
        checkpoints = read_file(path, key).checkpoints
        return checkpoints[-1] if checkpoints else None
    return None


# --- With the database -----------------------------------------------------------------


async def chain_head() -> Head:
    """The committed head. Appenders are serialised until they commit, so ids follow
    the chain and the count up to the last id is the position of that entry."""
    last = (
        await AuditEntry.select(AuditEntry.id, AuditEntry.hash)
        .order_by(AuditEntry.id, ascending=False)
        .first()
    )
    if last is None:
        return Head(0, 0, audit.GENESIS_HASH)
    entries = await AuditEntry.count().where(AuditEntry.id <= last["id"])
    return Head(entries, last["id"], last["hash"])


async def write_checkpoint(
    path: Path, key: bytes, *, only_if_moved: bool = False, at: datetime | None = None
) -> Checkpoint | None:
    """Append the chain's current head to the checkpoints file; return it.

    ``only_if_moved`` (the periodic writer): nothing is written, and ``None`` returned,
    when the head is the one the latest checkpoint holds."""
    head = await chain_head()
    latest = await asyncio.to_thread(latest_checkpoint, path, key)
    if latest is not None and head.last_id < latest.last_id:
        log.error(
            "audit trail ends at entry #%d, before the last checkpoint's #%d: "
            "entries were removed; run `guichet audit verify`",
            head.last_id,
            latest.last_id,
        )
    if only_if_moved and latest is not None and latest.head == head:
        return None
    line = make_line(head, at or datetime.now(UTC), key)
    await asyncio.to_thread(append_line, path, line)
    return parse_line(line, key)


async def verify(path: Path, key: bytes, *, batch_size: int = audit.BATCH_SIZE) -> Verdict:
    """Walk the chain (keyed entries with ``key``) and hold it against every genuine
    checkpoint; every problem is named. Bad lines in the file are problems too."""
    file = await asyncio.to_thread(read_file, path, key)
    chain = await audit.verify_chain(
        batch_size, key=key, watch={c.last_id for c in file.checkpoints}
    )
    problems = [f"checkpoint line {b.number} is {b.reason}" for b in file.bad_lines]
    if not chain.ok:
        problems.append(f"audit chain broken at entry #{chain.first_broken_id}: {chain.reason}")
    else:
        seen = set()
        for checkpoint in reversed(file.checkpoints):  # newest first
            reason = compare(checkpoint, chain)
            if reason and reason not in seen:
                seen.add(reason)
                problems.append(reason)
    return Verdict(chain, file, tuple(problems))


def report(verdict: Verdict, path: Path) -> list[str]:
    """The lines ``guichet audit verify`` prints."""
    chain = verdict.chain
    lines = []
    if chain.ok:
        lines.append(f"audit chain intact: {chain.checked} entries")
        if chain.keyed_from is not None:
            lines.append(f"keyed (HMAC) from entry #{chain.keyed_from} on")
        elif chain.checked:
            lines.append("no keyed entry yet: every entry predates the audit key")
        lines.append(f"last entry: #{chain.last_id} {chain.last_hash}")
    latest = verdict.latest
    if latest is None:
        lines.append(
            f"no checkpoint yet in {path}: the removal of the newest entries cannot be "
            "detected until one is written (guichet audit checkpoint)"
        )
    else:
        count = len(verdict.file.checkpoints)
        lines.append(
            f"{count} checkpoint{'s' if count > 1 else ''}; the latest, of "
            f"{latest.at.isoformat()}, holds {latest.entries} entries up to #{latest.last_id}"
        )
    lines.extend(f"PROBLEM: {problem}" for problem in verdict.problems)
    lines.append("audit verify: OK" if verdict.ok else "audit verify: FAILED")
    return lines


async def verify_command(path: Path, key: bytes) -> int:
    """``guichet audit verify``: print the verdict; 0 when all holds, 1 otherwise."""
    verdict = await verify(path, key)
    for line in report(verdict, path):
        print(line)
    return 0 if verdict.ok else 1


def checkpoint_job(settings, *, every_s: float = EVERY_S) -> Job:
    """For the background runner: a checkpoint at start-up and every hour, when the
    head moved."""
    return Job(
        "audit-checkpoint",
        lambda: write_checkpoint(
            settings.audit_checkpoints_path, settings.audit_key, only_if_moved=True
        ),
        every_s=every_s,
    )
