"""The file's documents: a new version of a document within the version cap and the
storage quotas; the older versions never submitted have their bytes pruned."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app import quotas
from app.accounts.services import CurrentUser
from app.applications import states
from app.applications.drafts import NOT_EDITABLE
from app.applications.models import NOT_FOUND, ApplicationError, NewFile
from app.applications.reading import now, organisation_of
from app.applications.tables import Application, Attachment
from app.core import audit
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.quotas import StorageLimits

if TYPE_CHECKING:
    from app.core.storage import FileStorage


def document_too_large(max_mb: int, size: int | None) -> ApplicationError:
    """A document over its limit: the limit, and the file's size when known (from the
    request's Content-Length, before the file was read)."""
    from app.core.templating import file_size

    limit = file_size(max_mb * 1024 * 1024)
    if size:
        return ApplicationError(
            "document_too_large",
            N_("This file is %(size)s; the limit for this document is %(limit)s."),
            field="file",
            size=file_size(size),
            limit=limit,
        )
    return ApplicationError(
        "document_too_large",
        N_("This file is larger than the limit for this document, %(limit)s."),
        field="file",
        limit=limit,
    )


async def _versions_to_prune(
    app_id: int, document_key: str, submitted_at: datetime | None, keep: int
) -> list[dict]:
    """The versions of a document whose bytes go when its current version is replaced.

    Only versions never part of a submitted file: uploaded after the file's last
    submission (or before any), since a submission freezes the versions current at
    that moment and a file is submitted again only after it was sent back. Of those,
    the current one (about to be superseded) and the superseded ones whose bytes are
    still kept, the ``keep`` latest stay; the older ones are pruned. Versions that were
    submitted are never pruned: their hashes make the submitted content's SHA-256."""
    query = Attachment.select(Attachment.id, Attachment.storage_id, Attachment.size).where(
        (Attachment.application == app_id)
        & (Attachment.document_key == document_key)
        & Attachment.message.is_null()
        & Attachment.pruned_at.is_null()
    )
    if submitted_at is not None:
        query = query.where(Attachment.uploaded_at > submitted_at)
    rows = await query.order_by(Attachment.id, ascending=False)
    return rows[keep:]


async def _document_room(
    app_id: int,
    document_key: str,
    organisation_id: int,
    submitted_at: datetime | None,
    limits: StorageLimits,
) -> tuple[quotas.Room, list[dict]]:
    """Room for a new version of this document, and the versions it would prune;
    refused (``too_many_versions``) when it has the most it may have."""
    versions = await Attachment.count().where(
        (Attachment.application == app_id)
        & (Attachment.document_key == document_key)
        & Attachment.message.is_null()
    )
    if versions >= limits.document_versions:
        raise ApplicationError(
            "too_many_versions",
            N_(
                "This document already has %(num)d versions, the most one document may "
                "have: it can no longer be replaced. Write to the reviewing department if "
                "it must change again."
            ),
            field="file",
            num=limits.document_versions,
        )
    pruned = await _versions_to_prune(
        app_id, document_key, submitted_at, limits.kept_draft_versions
    )
    room = await quotas.room_of(
        limits=limits,
        organisation_id=organisation_id,
        app_id=app_id,
        freed=sum(p["size"] for p in pruned),
    )
    return room, pruned


async def document_room(
    app_id: int, document_key: str, *, size: int, limits: StorageLimits
) -> quotas.Room:
    """Before an upload's body is read: refuse a new version of the document that
    could not be recorded (``too_many_versions``, or ``QuotaExceeded`` for a file of at
    least ``size`` bytes); else the room the file has. ``add_attachment`` checks again."""
    app = (
        await Application.select(Application.organisation, Application.submitted_at)
        .where(Application.id == app_id)
        .first()
    )
    if app is None:
        raise ApplicationError("not_found", NOT_FOUND)
    room, _pruned = await _document_room(
        app_id, document_key, app["organisation"], app["submitted_at"], limits
    )
    room.check(max(size, 1))
    return room


async def add_attachment(
    app_id: int,
    document_key: str,
    stored: NewFile,
    *,
    user: CurrentUser,
    actor: Actor,
    limits: StorageLimits,
    storage: FileStorage,
) -> int:
    """Attach a stored file; the previous version of that document is kept, superseded.

    Refused with nothing written past ``limits.document_versions`` versions of the
    document (``too_many_versions``) or when the file does not fit in the application's
    or the organisation's quota (``QuotaExceeded``), checked with the organisation
    locked. Older versions never part of a submitted file have their bytes deleted
    once this commits (``_versions_to_prune``); their rows stay, with their hashes."""
    organisation_id = await organisation_of(app_id)
    if organisation_id is None:
        raise ApplicationError("not_editable", NOT_EDITABLE)
    async with write_transaction():
        await quotas.lock_organisation(organisation_id)
        row = await for_update(
            Application.select(Application.status, Application.submitted_at).where(
                Application.id == app_id
            )
        ).first()
        if row is None or row["status"] not in states.EDITABLE:
            raise ApplicationError("not_editable", NOT_EDITABLE)
        room, pruned = await _document_room(
            app_id, document_key, organisation_id, row["submitted_at"], limits
        )
        room.check(stored.size)
        at = now()
        await Attachment.update({Attachment.superseded_at: at}).where(
            (Attachment.application == app_id)
            & (Attachment.document_key == document_key)
            & Attachment.superseded_at.is_null()
        )
        if pruned:
            await Attachment.update({Attachment.pruned_at: at}).where(
                Attachment.id.is_in([p["id"] for p in pruned])
            )
        rows = await Attachment.insert(
            Attachment(
                application=app_id,
                document_key=document_key,
                storage_id=stored.storage_id,
                original_name=stored.original_name,
                size=stored.size,
                sha256=stored.sha256,
                kind=stored.kind,
                content_type=stored.content_type,
                uploaded_by=user.id,
            )
        ).returning(Attachment.id)
        await Application.update(
            {Application.updated_at: at, Application.updated_by: user.id}
        ).where(Application.id == app_id)
        await audit.record_by(
            actor,
            "applications.document_added",
            "application",
            app_id,
            document=document_key,
            sha256=stored.sha256,
            **({"pruned": [p["id"] for p in pruned]} if pruned else {}),
        )
    # After the commit: a crash before this leaves bytes no download serves, removed
    # when the server starts again (app.recovery).
    for version in pruned:
        storage.delete(version["storage_id"])
    return rows[0]["id"]
