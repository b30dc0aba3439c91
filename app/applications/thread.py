"""The thread of an application between its organisation and the staff: messages with
an optional file, the other side told by e-mail."""

from __future__ import annotations

from app import quotas
from app.accounts.services import CurrentUser
from app.applications.models import NOT_FOUND, ApplicationError, NewFile
from app.applications.reading import application_for, is_member, organisation_of
from app.applications.tables import Attachment, Message
from app.calls.tables import Call
from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.outbox import enqueue_email
from app.core.templating import file_size
from app.funders.models import funder_context
from app.funders.services import legal_of
from app.organisations.tables import Membership
from app.quotas import StorageLimits

MAX_MESSAGE_CHARS = 5000
# Shared with the officer's « to complete » message (the same words, as before).
MESSAGE_REQUIRED = N_("Write a message for the applicant.")


def file_too_large(limits: StorageLimits, size: int | None) -> ApplicationError:
    """A message's file over its limit (``size``: None when only known to be larger)."""
    limit = file_size(limits.message_file_bytes)
    if size:
        return ApplicationError(
            "message_file_too_large",
            N_("A file attached to a message may not exceed %(limit)s; this file is %(size)s."),
            field="file",
            limit=limit,
            size=file_size(size),
        )
    return ApplicationError(
        "message_file_too_large",
        N_("A file attached to a message may not exceed %(limit)s; this file is larger."),
        field="file",
        limit=limit,
    )


async def message_room(
    app_id: int, *, user: CurrentUser, limits: StorageLimits
) -> quotas.Room | None:
    """The room a message's file has in the quotas, for the organisation's members;
    None for the staff (their files count, but are never refused for a quota the
    applicant filled). ``post_message`` checks again."""
    organisation_id = await organisation_of(app_id)
    if organisation_id is None or not await is_member(user.id, organisation_id):
        return None
    return await quotas.room_of(limits=limits, organisation_id=organisation_id, app_id=app_id)


async def post_message(
    app_id: int,
    body: str,
    stored: NewFile | None,
    *,
    user: CurrentUser,
    actor: Actor,
    base_url: str,
    limits: StorageLimits,
) -> int:
    """A message from the organisation's members or the staff; the other side is told
    by e-mail (members of the organisation, or the officer who created the call).

    Its file is at most ``limits.message_file_bytes``; from the organisation, it must
    fit in the application's and the organisation's quotas (checked with the
    organisation locked). The staff's files count but are not refused for a quota."""
    body = body.strip()
    if not body:
        raise ApplicationError("message_required", MESSAGE_REQUIRED, field="body")
    if len(body) > MAX_MESSAGE_CHARS:
        raise ApplicationError(
            "message_too_long", N_("Write at most 5 000 characters."), field="body"
        )
    if stored is not None and stored.size > limits.message_file_bytes:
        raise file_too_large(limits, stored.size)
    organisation_id = await organisation_of(app_id)
    async with write_transaction():
        from_staff = True
        if organisation_id is not None and await is_member(user.id, organisation_id):
            from_staff = False
            if stored is not None:
                await quotas.lock_organisation(organisation_id)
                room = await quotas.room_of(
                    limits=limits, organisation_id=organisation_id, app_id=app_id
                )
                room.check(stored.size)
        app = await application_for(user, app_id)
        if app is None:
            raise ApplicationError("not_found", NOT_FOUND)
        rows = await Message.insert(
            Message(application=app_id, author=user.id, from_staff=from_staff, body=body)
        ).returning(Message.id)
        message_id = rows[0]["id"]
        if stored is not None:
            await Attachment.insert(
                Attachment(
                    application=app_id,
                    message=message_id,
                    document_key="message",
                    storage_id=stored.storage_id,
                    original_name=stored.original_name,
                    size=stored.size,
                    sha256=stored.sha256,
                    kind=stored.kind,
                    content_type=stored.content_type,
                    uploaded_by=user.id,
                )
            )
        await audit.record_by(
            actor, "applications.message_posted", "application", app_id, from_staff=from_staff
        )
        if from_staff:
            recipients = await Membership.select(
                Membership.user.email.as_alias("email"),
                Membership.user.language.as_alias("language"),
            ).where(Membership.organisation == app.organisation)
            url = f"{base_url}/dossiers/{app_id}#messages"
            # To the organisation, the funder's service writes.
            signed = funder_context(await legal_of(app.funder_id))
        else:
            recipients = await Call.select(
                Call.created_by.email.as_alias("email"),
                Call.created_by.language.as_alias("language"),
            ).where((Call.id == app.call) & Call.created_by.is_not_null())
            url = f"{base_url}/instruction/dossiers/{app_id}#messages"
            signed = {}
        for recipient in recipients:
            await enqueue_email(
                to=recipient["email"],
                template="application_message",
                language=recipient["language"],
                context={
                    "reference": app.reference or app.title,
                    "organisation": app.organisation_name,
                    "url": url,
                    **signed,
                },
            )
    return message_id
