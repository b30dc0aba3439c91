"""Storage quotas: the bytes an application and an organisation keep in stored files.

What counts (docs/security.md, « Storage quotas and upload rate »):

- an application: every version of its documents whose bytes are kept (a pruned
  version no longer counts) and the files of its messages, from either side;
- an organisation: all of that over its applications, plus the files of its grants'
  reports.

This module sits beside ``app.recovery``, outside the domains, because the
organisation's total reads the tables of two of them (applications, grants); the
services that record a file call it.

A quota holds under concurrency only when checked inside the write transaction that
records the file, after ``lock_organisation``: two uploads of one organisation then
wait for each other on PostgreSQL and the second one counts the first (SQLite's writers
are serialised anyway). A check before the body is read (from Content-Length) only
spares reading a file that cannot fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from piccolo.query.functions.aggregate import Sum

from app.applications.tables import Application, Attachment
from app.core.db import for_update
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.templating import file_size
from app.grants.tables import ReportAttachment
from app.organisations.tables import Organisation

if TYPE_CHECKING:
    from app.settings import Settings

APPLICATION = "application"
ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True)
class StorageLimits:
    """The limits of ``Settings``, for the services that record files."""

    application_bytes: int
    organisation_bytes: int
    document_versions: int
    message_file_bytes: int
    kept_draft_versions: int

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageLimits:
        return cls(
            application_bytes=settings.application_quota_bytes,
            organisation_bytes=settings.organisation_quota_bytes,
            document_versions=settings.document_versions_max,
            message_file_bytes=settings.message_file_max_bytes,
            kept_draft_versions=settings.kept_draft_versions,
        )


@dataclass(frozen=True, slots=True)
class Usage:
    scope: str  # APPLICATION or ORGANISATION
    used: int  # bytes stored now
    limit: int


QUOTA_MESSAGES = {
    APPLICATION: N_(
        "This file would take the application over its limit of %(limit)s of documents "
        "(%(used)s already used). Send a lighter file (a compressed PDF, for example) or "
        "write to the reviewing department."
    ),
    ORGANISATION: N_(
        "This file would take your organisation over its limit of %(limit)s of documents, "
        "all its files together (%(used)s already used). Send a lighter file (a compressed "
        "PDF, for example) or write to the reviewing department."
    ),
}


class QuotaExceeded(DomainError):
    """The file would take ``usage`` over its limit; nothing was written."""

    def __init__(self, usage: Usage):
        super().__init__(
            f"quota_{usage.scope}",
            QUOTA_MESSAGES[usage.scope],
            field="file",
            limit=file_size(usage.limit),
            used=file_size(usage.used),
        )
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Room:
    """The quotas a new file must fit in, with the bytes the same change frees (the
    pruned versions of the document it replaces)."""

    usages: tuple[Usage, ...]
    freed: int = 0

    @property
    def left(self) -> int:
        """The most the new file may weigh (0 or less: nothing fits)."""
        return min(u.limit - u.used + self.freed for u in self.usages)

    @property
    def tightest(self) -> Usage:
        return min(self.usages, key=lambda u: u.limit - u.used)

    def check(self, size: int) -> None:
        """Raise ``QuotaExceeded`` (the application's first) unless ``size`` bytes fit."""
        for usage in self.usages:
            if usage.used - self.freed + size > usage.limit:
                raise QuotaExceeded(usage)


def _total(row: dict | None) -> int:
    # PostgreSQL's SUM of a bigint is a numeric (Decimal); none at all is NULL.
    return int((row or {}).get("total") or 0)


async def application_bytes(app_id: int) -> int:
    return _total(
        await Attachment.select(Sum(Attachment.size).as_alias("total"))
        .where((Attachment.application == app_id) & Attachment.pruned_at.is_null())
        .first()
    )


async def organisation_bytes(organisation_id: int) -> int:
    applications = Application.select(Application.id).where(
        Application.organisation == organisation_id
    )
    documents = _total(
        await Attachment.select(Sum(Attachment.size).as_alias("total"))
        .where(Attachment.application.is_in(applications) & Attachment.pruned_at.is_null())
        .first()
    )
    reports = _total(
        await ReportAttachment.select(Sum(ReportAttachment.size).as_alias("total"))
        .where(ReportAttachment.report.grant.organisation == organisation_id)
        .first()
    )
    return documents + reports


async def lock_organisation(organisation_id: int) -> None:
    """Inside the write transaction, before anything else is locked: every change that
    adds stored bytes to this organisation waits here for the one before it."""
    await for_update(Organisation.select(Organisation.id).where(Organisation.id == organisation_id))


async def room_of(
    *, limits: StorageLimits, organisation_id: int, app_id: int | None = None, freed: int = 0
) -> Room:
    """The quotas of this organisation (and of this application of it, when given)."""
    usages = []
    if app_id is not None:
        usages.append(Usage(APPLICATION, await application_bytes(app_id), limits.application_bytes))
    usages.append(
        Usage(ORGANISATION, await organisation_bytes(organisation_id), limits.organisation_bytes)
    )
    return Room(tuple(usages), freed)
