"""What ``guichet serve`` puts right before it starts, after a crash (SIGKILL, power cut).

The database needs nothing: each change is one transaction, whole or absent. What lies
outside the database may be left half-done:

- temporary files of uploads and generated documents (``files/tmp/*.part``);
- stored files no record names: a file is placed before the transaction that records
  it commits (attachment, receipt, letter, agreement, report document and receipt,
  notice, logo, signature image);
- the bytes of pruned versions of documents: deleted after the transaction that marks
  them pruned commits (``applications.services.add_attachment``);
- temporary files of the .eml outbox (``outbox/.*.tmp``) and of the session store
  (``sessions/*.tmp*``), each written under a temporary name, then renamed.

This runs before the server takes requests, and only when no other ``guichet serve``
uses the data dir: the server holds a lock file in it for its whole life; a second
one skips the recovery and says so. The lock file keeps when the previous server
started: only files placed since then are looked at, and none when the database names
no file at all (a wrong ``DATABASE_URL`` must not empty the data dir). E-mails claimed
by a sender that died are settled by the outbox itself after ``OUTBOX_LEASE_S``,
letter batches resumed after ``LETTER_STALE_AFTER_S``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from piccolo.columns import Column

from app.core.storage import FileStorage
from app.settings import Settings

log = logging.getLogger("guichet.recovery")

LOCK_FILE = "serve.lock"


def file_columns() -> list[Column]:
    """Every column holding the id of a stored file. A new one must be added here, or
    its files are taken for leftovers (a test checks that none is missing)."""
    from app.applications.tables import Application, Attachment
    from app.decisions.tables import Letter
    from app.funders.tables import Funder
    from app.grants.tables import Agreement, Grant, GrantNotice, Report, ReportAttachment

    return [
        Attachment.storage_id,
        Application.receipt_file,
        Application.ineligibility_file,
        Letter.storage_id,
        Grant.agreement_file,
        Agreement.document_file,
        Agreement.signed_file,
        ReportAttachment.storage_id,
        Report.receipt_file,
        GrantNotice.storage_id,
        Funder.logo_file,
        Funder.signature_file,
    ]


async def referenced_files() -> set[str]:
    ids: set[str] = set()
    for column in file_columns():
        table = column._meta.table
        rows = await table.select(column).where(column.is_not_null()).output(as_list=True)
        ids.update(rows)
    return ids


async def pruned_files() -> list[str]:
    """The files of versions marked pruned: their bytes must be gone."""
    from app.applications.tables import Attachment

    return await (
        Attachment.select(Attachment.storage_id)
        .where(Attachment.pruned_at.is_not_null())
        .output(as_list=True)
    )


@dataclass(slots=True)
class DataDirLock:
    """Held by one server for its life; the lock goes with the process, even on SIGKILL."""

    handle: IO[str]
    previous_start: float | None  # when the server before this one started


def hold_data_dir(data_dir: Path) -> DataDirLock | None:
    """Lock the data dir (keep the returned object) and note this start in the lock
    file; None when another server holds it."""
    handle = (data_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    try:
        previous: float | None = float(handle.read().strip())
    except ValueError:
        previous = None  # the first start with this lock file
    handle.seek(0)
    handle.truncate()
    handle.write(f"{time.time():.3f}\n")
    handle.flush()
    os.fsync(handle.fileno())
    return DataDirLock(handle, previous)


@dataclass(frozen=True, slots=True)
class Recovered:
    partial_files: int
    unreferenced_files: int
    temporary_files: int
    pruned_files: int = 0


def _remove(paths) -> int:
    removed = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            if path.is_file():
                os.unlink(path)
                removed += 1
    return removed


async def recover(settings: Settings, *, previous_start: float | None) -> Recovered:
    """Remove what a crash of the server started at ``previous_start`` left outside
    the database (see the module's doc)."""
    storage = FileStorage.from_settings(settings)
    partial = storage.purge_partials(older_than_s=0)
    unreferenced = 0
    if previous_start is not None:
        referenced = await referenced_files()
        if referenced:
            unreferenced = storage.remove_unreferenced(referenced, placed_since=previous_start)
        elif next(storage.stored_ids(), None) is not None:
            log.warning("stored files kept: the database names none (the right DATABASE_URL?)")
    pruned = sum(1 for storage_id in await pruned_files() if storage.delete(storage_id))
    temporary = 0
    if settings.outbox_dir.is_dir():
        temporary += _remove(settings.outbox_dir.glob(".*.tmp"))
    if settings.sessions_dir.is_dir():
        temporary += _remove(settings.sessions_dir.glob("*.tmp*"))
    found = Recovered(partial, unreferenced, temporary, pruned)
    if partial or unreferenced or temporary or pruned:
        log.warning(
            "left over by a crash, removed",
            extra={
                "partial_files": partial,
                "unreferenced_files": unreferenced,
                "temporary_files": temporary,
                "pruned_files": pruned,
            },
        )
    return found
