"""Reading applications, with access checked in the query: the file, its documents,
its messages and its history, as typed read models."""

from __future__ import annotations

from datetime import UTC, datetime

from app.accounts.services import CurrentUser
from app.applications.models import (
    ApplicationSummary,
    ApplicationView,
    AttachmentVersion,
    AttachmentView,
    HistoryEntry,
    MessageFile,
    MessageView,
)
from app.applications.tables import (
    Application,
    ApplicationStatus,
    Attachment,
    Message,
    ThreadRead,
)
from app.calls import formspec
from app.calls.tables import CallStatus
from app.core import audit
from app.core.db import Prepared, write_transaction
from app.core.i18n import gettext_noop as N_
from app.organisations.tables import Membership
from app.permissions import funders_for


def now() -> datetime:
    return datetime.now(UTC)


VIEW_COLUMNS = (
    *Application.all_columns(),
    Application.call.title.as_alias("call_title"),
    Application.call.status.as_alias("call_status"),
    Application.call.opens_at.as_alias("call_opens_at"),
    Application.call.closes_at.as_alias("call_closes_at"),
    Application.call.min_award_cents.as_alias("call_min_award_cents"),
    Application.call.max_award_cents.as_alias("call_max_award_cents"),
    Application.call.max_rate_bp.as_alias("call_max_rate_bp"),
    Application.call.decision_expected_on.as_alias("call_decision_expected_on"),
    Application.call.funder.id.as_alias("funder_id"),
    Application.call.funder.name.as_alias("funder_name"),
    Application.call.funder.address.as_alias("funder_address"),
    Application.call.funder.website.as_alias("funder_website"),
    Application.organisation.name.as_alias("organisation_name"),
    Application.organisation.street.as_alias("organisation_street"),
    Application.organisation.postcode.as_alias("organisation_postcode"),
    Application.organisation.city.as_alias("organisation_city"),
    Application.form_version.form.as_alias("form"),
    Application.form_version.documents.as_alias("documents"),
)


def _view(row: dict) -> ApplicationView:
    return ApplicationView(
        **{
            **row,
            "answers": row["answers"] or {},
            "budget": row["budget"] or {},
            "form": row["form"] or {},
            "documents": row["documents"] or [],
            "funder_address": row["funder_address"] or "",
            "funder_website": row["funder_website"] or "",
        }
    )


# Built once (core.db.Prepared): the file's page and every action on a file read it.
_EVERY_APPLICATION = Prepared(
    lambda app_id: (
        Application.select(*VIEW_COLUMNS)
        .where(Application.id == app_id)
        .output(load_json=True)
        .limit(1)
    )
)
_MEMBERS_APPLICATION = Prepared(
    lambda app_id, user_id: (
        Application.select(*VIEW_COLUMNS)
        .where(
            (Application.id == app_id)
            & Application.organisation.is_in(
                Membership.select(Membership.organisation).where(Membership.user == user_id)
            )
        )
        .output(load_json=True)
        .limit(1)
    )
)


async def application_for(
    user: CurrentUser, app_id: int, *, members_only: bool = False
) -> ApplicationView | None:
    """The application if this person may see it: a member of its organisation, or
    an officer or admin of its call's funder (not with ``members_only``: what only its
    applicants may do). Anyone else gets None (answered as 404)."""
    funders = frozenset() if members_only else funders_for(user, "view_every_application")
    if funders is None:
        row = await _EVERY_APPLICATION.first(app_id=app_id)
    elif not funders:
        row = await _MEMBERS_APPLICATION.first(app_id=app_id, user_id=user.id)
    else:  # staff of some funders only: theirs, or their own organisations' files
        members = Membership.select(Membership.organisation).where(Membership.user == user.id)
        row = (
            await Application.select(*VIEW_COLUMNS)
            .where(
                (Application.id == app_id)
                & (
                    Application.call.funder.is_in(sorted(funders))
                    | Application.organisation.is_in(members)
                )
            )
            .output(load_json=True)
            .first()
        )
    return None if row is None else _view(row)


async def applications_of(user_id: int) -> list[ApplicationSummary]:
    """The applications of this person's organisations, the latest changed first, each
    with the number of the staff's messages they have not read (two queries)."""
    members = Membership.select(Membership.organisation).where(Membership.user == user_id)
    rows = (
        await Application.select(
            Application.id,
            Application.reference,
            Application.title,
            Application.status,
            Application.updated_at,
            Application.complete_by,
            Application.call.title.as_alias("call_title"),
            Application.call.closes_at.as_alias("call_closes_at"),
            Application.organisation.name.as_alias("organisation_name"),
        )
        .where(Application.organisation.is_in(members))
        .order_by(Application.updated_at, ascending=False)
    )
    unread = await unread_counts(user_id) if rows else {}
    return [ApplicationSummary(**row, unread=unread.get(row["id"], 0)) for row in rows]


# The staff's messages on the files of a person's organisations that came after the
# last one this person saw, counted per file in one query (a LEFT JOIN Piccolo's query
# builder cannot write; the same SQL on SQLite and PostgreSQL).
_UNREAD = """
SELECT m.application AS application, COUNT(*) AS unread
FROM message m
JOIN application a ON a.id = m.application
JOIN membership ms ON ms.organisation = a.organisation AND ms."user" = {}
LEFT JOIN thread_read r ON r.application = m.application AND r."user" = {}
WHERE m.from_staff = {} AND m.id > COALESCE(r.last_message, 0)
GROUP BY m.application
"""


async def unread_counts(user_id: int) -> dict[int, int]:
    """Per file of this person's organisations, how many of the staff's messages they
    have not seen (files without any are left out)."""
    rows = await Message.raw(_UNREAD, user_id, user_id, True)
    return {row["application"]: int(row["unread"]) for row in rows}


async def mark_thread_read(app_id: int, user_id: int) -> None:
    """This person has seen the file's thread as it stands. Written only when a
    message of the staff is new to them: opening a file usually writes nothing."""
    latest = (
        await Message.select(Message.id)
        .where((Message.application == app_id) & (Message.from_staff == True))  # noqa: E712
        .order_by(Message.id, ascending=False)
        .first()
    )
    if latest is None:
        return
    mine = (ThreadRead.application == app_id) & (ThreadRead.user == user_id)
    seen = await ThreadRead.select(ThreadRead.last_message).where(mine).first()
    if seen is not None and seen["last_message"] >= latest["id"]:
        return
    async with write_transaction():
        if seen is None and not await ThreadRead.exists().where(mine):
            await ThreadRead.insert(
                ThreadRead(application=app_id, user=user_id, last_message=latest["id"])
            )
        else:
            await ThreadRead.update({ThreadRead.last_message: latest["id"]}).where(
                mine & (ThreadRead.last_message < latest["id"])
            )


async def is_member(user_id: int, organisation_id: int) -> bool:
    return await Membership.exists().where(
        (Membership.organisation == organisation_id) & (Membership.user == user_id)
    )


async def member_organisations(user_id: int) -> list[dict]:
    return (
        await Membership.select(
            Membership.organisation.id.as_alias("id"), Membership.organisation.name.as_alias("name")
        )
        .where(Membership.user == user_id)
        .order_by(Membership.organisation.name)
    )


async def organisation_of(app_id: int) -> int | None:
    row = await Application.select(Application.organisation).where(Application.id == app_id).first()
    return row["organisation"] if row else None


def is_editable(app: ApplicationView, at: datetime | None = None) -> bool:
    """A draft until its call closes; a file sent back until its response deadline."""
    at = at or now()
    if app.status == ApplicationStatus.draft:
        return app.call_status == CallStatus.published and at < app.call_closes_at
    if app.status == ApplicationStatus.to_complete:
        return app.complete_by is None or at < app.complete_by
    return False


def document_spec(app: ApplicationView, key: str) -> dict | None:
    """The call's document (or the form's file field) this key names."""
    for document in app.documents:
        if document["key"] == key:
            return document
    field = formspec.field_by_key(app.form, key)
    if field and field["type"] == "file":
        return {
            "key": key,
            "label": field["label"],
            "required": field["required"],
            "kinds": ["pdf", "image", "office", "opendocument"],
            "max_mb": 20,
        }
    return None


# --- Documents ----------------------------------------------------------------------------------


def current_of(app_id: int):
    """The file's documents as they stand: the latest version of each, none of the
    messages' attachments (what is submitted, hashed on the receipt, and reviewed)."""
    return (
        (Attachment.application == app_id)
        & Attachment.superseded_at.is_null()
        & Attachment.message.is_null()
    )


_CURRENT_ATTACHMENTS = Prepared(
    lambda app_id: (
        Attachment.select(
            Attachment.id,
            Attachment.document_key,
            Attachment.original_name,
            Attachment.size,
            Attachment.sha256,
            Attachment.kind,
            Attachment.uploaded_at,
        )
        .where(current_of(app_id))
        .order_by(Attachment.id)
    )
)


async def current_attachments(app_id: int) -> list[AttachmentView]:
    rows = await _CURRENT_ATTACHMENTS.run(app_id=app_id)
    return [AttachmentView(**row) for row in rows]


async def current_attachment(app_id: int, attachment_id: int) -> dict | None:
    """One of ``current_attachments``, as stored (a reviewer's download): a superseded
    version or a message's attachment is not part of the file as submitted: None."""
    return (
        await Attachment.select()
        .where(current_of(app_id) & (Attachment.id == attachment_id))
        .first()
    )


_ATTACHMENT_HISTORY = Prepared(
    lambda app_id: (
        Attachment.select(
            Attachment.id,
            Attachment.document_key,
            Attachment.original_name,
            Attachment.size,
            Attachment.sha256,
            Attachment.uploaded_at,
            Attachment.superseded_at,
            Attachment.pruned_at,
        )
        .where((Attachment.application == app_id) & Attachment.message.is_null())
        .order_by(Attachment.id)
    )
)


async def attachment_history(app_id: int) -> list[AttachmentVersion]:
    rows = await _ATTACHMENT_HISTORY.run(app_id=app_id)
    return [AttachmentVersion(**row) for row in rows]


async def attachment_for(user: CurrentUser, app_id: int, attachment_id: int) -> dict | None:
    """A document of an application this person may see, as stored (for its download),
    its bytes kept; else None."""
    if await application_for(user, app_id) is None:
        return None
    return (
        await Attachment.select()
        .where(
            (Attachment.id == attachment_id)
            & (Attachment.application == app_id)
            & Attachment.pruned_at.is_null()
        )
        .first()
    )


# --- Messages and history -----------------------------------------------------------------------


_MESSAGES = Prepared(
    lambda app_id: (
        Message.select(
            Message.id,
            Message.body,
            Message.created_at,
            Message.from_staff,
            Message.author.full_name.as_alias("author_name"),
        )
        .where(Message.application == app_id)
        .order_by(Message.id)
    )
)
_MESSAGE_FILES = Prepared(
    lambda app_id: Attachment.select(
        Attachment.id, Attachment.message, Attachment.original_name, Attachment.size
    ).where((Attachment.application == app_id) & Attachment.message.is_not_null())
)


async def messages(app_id: int) -> list[MessageView]:
    """The thread, oldest first, with each message's attachments (two queries)."""
    rows = await _MESSAGES.run(app_id=app_id)
    files = await _MESSAGE_FILES.run(app_id=app_id)
    by_message: dict[int, list[MessageFile]] = {}
    for f in files:
        by_message.setdefault(f["message"], []).append(
            MessageFile(id=f["id"], original_name=f["original_name"], size=f["size"])
        )
    return [MessageView(**row, files=tuple(by_message.get(row["id"], ()))) for row in rows]


# The file's history, as the staff read it (the audit trail keeps the codes).
HISTORY_LABELS = {
    "applications.started": N_("File started"),
    "applications.document_added": N_("Document attached"),
    "applications.submitted": N_("File submitted"),
    "applications.sent_back": N_("Sent back to the applicant to complete"),
    "applications.eligible": N_("Screened: eligible"),
    "applications.ineligible": N_("Screened: ineligible"),
    "applications.withdrawn": N_("Withdrawn by the applicant"),
    "applications.message_posted": N_("Message posted"),
    "applications.reviews_complete": N_("Every review submitted: reviewed"),
    "applications.reviews_reopened": N_("Under review again"),
    "reviews.assigned": N_("Reviewer assigned"),
    "reviews.saved": N_("Review saved as a draft"),
    "reviews.submitted": N_("Review submitted"),
    "reviews.reopened": N_("Review reopened"),
    "reviews.unassigned": N_("Reviewer taken off the file"),
    "reviews.unassigned_for_conflict": N_("Reviewer taken off: conflict of interest"),
    "reviews.declined": N_("Reviewer declared a conflict of interest"),
    "decisions.decided": N_("Committee decision recorded"),
    "decisions.cleared": N_("Committee decision cleared"),
    "decisions.schedule_set": N_("Instalment schedule set"),
    "decisions.published": N_("Decision published"),
    "decisions.published_award": N_("Decision published: grant awarded"),
    "decisions.published_reject": N_("Decision published: not selected"),
    "decisions.published_waitlist": N_("Decision published: waiting list"),
    "decisions.letter_written": N_("Letter written"),
}


async def history(app_id: int) -> list[HistoryEntry]:
    """The file's audit trail, newest first (the latest 200 entries)."""
    entries = await audit.of_object("application", app_id, limit=200)
    return [
        HistoryEntry(
            created_at=e["created_at"],
            action=e["action"],
            actor_label=e["actor_label"],
            label=HISTORY_LABELS.get(e["action"]),
        )
        for e in entries
    ]
