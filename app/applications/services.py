"""Applications: eligibility, drafts saved without lost updates, the forecast budget,
attachments, submission with its receipt, withdrawal, « à compléter », and the
staff's table. No HTTP here; every change of state is audited."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app import quotas
from app.accounts.services import Actor, CurrentUser
from app.applications import budget as budgets
from app.applications import states
from app.applications.tables import Application, ApplicationStatus, Attachment, Message
from app.calls import formspec
from app.calls import services as calls
from app.calls.tables import Call, CallStatus
from app.core import audit
from app.core.db import for_update, write_transaction
from app.core.money import format_amount
from app.core.outbox import enqueue_email
from app.organisations.services import email_members
from app.organisations.tables import Membership
from app.permissions import can_view_every_application
from app.quotas import StorageLimits

if TYPE_CHECKING:
    from app.core.storage import FileStorage

PAGE_SIZE = 50
SORTS = {
    "reference": Application.reference,
    "organisation": Application.organisation.name,
    "title": Application.title,
    "requested": Application.requested_cents,
    "submitted": Application.submitted_at,
    "updated": Application.updated_at,
    "status": Application.status,
}


class ApplicationError(ValueError):
    def __init__(self, code: str, detail: Any = None):
        super().__init__(code)
        self.code = code
        self.detail = detail


class Conflict(Exception):
    """Someone else saved the draft since this person loaded it."""

    def __init__(self, current: dict):
        super().__init__("conflict")
        self.current = current


def now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})


async def _audit(action: str, actor: Actor, app_id: int, **summary: Any) -> None:
    await audit.record_by(actor, action, "application", app_id, **summary)


# --- Starting: eligibility --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ineligible(Exception):
    """A blocking eligibility answer: nothing is created."""

    question: dict


async def member_organisations(user_id: int) -> list[dict]:
    return (
        await Membership.select(
            Membership.organisation.id.as_alias("id"), Membership.organisation.name.as_alias("name")
        )
        .where(Membership.user == user_id)
        .order_by(Membership.organisation.name)
    )


def check_eligibility(questions: list[dict], answers: dict[str, str]) -> dict[str, str]:
    """An error code per unanswered question; raises ``Ineligible`` on a blocking answer."""
    errors = {}
    for question in questions:
        answer = answers.get(question["key"])
        if answer not in ("yes", "no"):
            errors[question["key"]] = "choice"
        elif answer == question["blocking"]:
            raise Ineligible(question)
    return errors


async def start_application(
    call_id: int, organisation_id: int, *, user: CurrentUser, actor: Actor
) -> int:
    """Create the organisation's draft for this call (or return the one it has)."""
    async with write_transaction():
        call = await calls.get_call(call_id)
        if call is None or not calls.is_open(call):
            raise ApplicationError("call_closed")
        if not await Membership.exists().where(
            (Membership.organisation == organisation_id) & (Membership.user == user.id)
        ):
            raise ApplicationError("not_member")
        existing = (
            await Application.select(Application.id)
            .where(
                (Application.call == call_id)
                & (Application.organisation == organisation_id)
                & (Application.status != ApplicationStatus.withdrawn)
            )
            .first()
        )
        if existing:
            return existing["id"]
        version = await calls.current_form_version(call_id)
        rows = await Application.insert(
            Application(
                call=call_id,
                organisation=organisation_id,
                form_version=version["id"],
                created_by=user.id,
                updated_by=user.id,
            )
        ).returning(Application.id)
        app_id = rows[0]["id"]
        await _audit(
            "applications.started", actor, app_id, call=call_id, organisation=organisation_id
        )
    return app_id


# --- Reading, with access checked in the query -----------------------------------------------


async def application_for(user: CurrentUser, app_id: int) -> dict | None:
    """The application if this person may see it: a member of its organisation, or
    an officer or admin. Anyone else gets None (answered as 404)."""
    query = Application.select(
        *Application.all_columns(),
        Application.organisation.name.as_alias("organisation_name"),
        Application.call.title.as_alias("call_title"),
        Application.call.closes_at.as_alias("call_closes_at"),
        Application.call.status.as_alias("call_status"),
        Application.call.opens_at.as_alias("call_opens_at"),
        Application.call.min_award_cents.as_alias("call_min_award_cents"),
        Application.call.max_award_cents.as_alias("call_max_award_cents"),
        Application.call.max_rate_bp.as_alias("call_max_rate_bp"),
        Application.call.funder.name.as_alias("funder_name"),
        Application.call.funder.address.as_alias("funder_address"),
        Application.organisation.street.as_alias("organisation_street"),
        Application.organisation.postcode.as_alias("organisation_postcode"),
        Application.organisation.city.as_alias("organisation_city"),
        Application.form_version.form.as_alias("form"),
        Application.form_version.documents.as_alias("documents"),
    ).where(Application.id == app_id)
    if not can_view_every_application(user):
        members = Membership.select(Membership.organisation).where(Membership.user == user.id)
        query = query.where(Application.organisation.is_in(members))
    row = await query.first()
    if row is None:
        return None
    for key in ("answers", "budget", "form"):
        row[key] = _json(row[key])
    row["documents"] = _json(row["documents"]) or []
    return row


async def applications_of(user_id: int) -> list[dict]:
    members = Membership.select(Membership.organisation).where(Membership.user == user_id)
    return (
        await Application.select(
            Application.id,
            Application.reference,
            Application.title,
            Application.status,
            Application.updated_at,
            Application.call.title.as_alias("call_title"),
            Application.call.closes_at.as_alias("call_closes_at"),
            Application.organisation.name.as_alias("organisation_name"),
        )
        .where(Application.organisation.is_in(members))
        .order_by(Application.updated_at, ascending=False)
    )


def is_editable(app: dict, at: datetime | None = None) -> bool:
    at = at or now()
    if app["status"] == ApplicationStatus.draft:
        return app["call_status"] == CallStatus.published and at < app["call_closes_at"]
    if app["status"] == ApplicationStatus.to_complete:
        return app["complete_by"] is None or at < app["complete_by"]
    return False


def applicant_status(app: dict) -> str:
    """Decisions stay private until published: a file only becomes awarded, rejected
    or waitlisted when the committee's sheet is published (decisions.publish); until
    then applicants see « under review », as they do for a reviewed file."""
    return "in_review" if app["status"] == "reviewed" else app["status"]


# --- Saving a draft --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Saved:
    version: int
    at: datetime
    # Answers not saved (an error code per form field): they keep their stored value.
    errors: dict[str, str] = dataclasses.field(default_factory=dict)


async def save_draft(
    app_id: int, *, user: CurrentUser, version: int, raw: dict[str, Any], actor: Actor
) -> Saved:
    """Save answers, title and budget: every valid one, so that one wrong answer does
    not lose the others; a wrong one keeps its stored value and comes back in
    ``Saved.errors``.

    ``version`` is the one the person started from: if someone saved since, the save
    is refused with ``Conflict`` (carrying the other version), never overwritten."""
    app = await application_for(user, app_id)
    if app is None:
        raise ApplicationError("not_found")
    if not is_editable(app):
        raise ApplicationError("not_editable")
    answers, errors = formspec.clean_answers(app["form"], raw)
    stored_answers = _json(app["answers"])
    answers.update({k: stored_answers[k] for k in errors if k in stored_answers})
    budget, budget_errors = budgets.parse(raw)
    if budget_errors:
        budget = budgets.keep_stored(
            budget, budgets.from_json(_json(app["budget"]), app["requested_cents"]), budget_errors
        )
    errors.update(budget_errors)
    title = (raw.get("title") or "").strip()
    if len(title) > 250:
        errors["title"] = "too_long"
        title = app["title"]
    at = now()
    async with write_transaction():
        updated = (
            await Application.update(
                {
                    Application.answers: json.dumps(answers),
                    Application.budget: json.dumps(budget.as_json()),
                    Application.requested_cents: budget.requested,
                    Application.title: title,
                    Application.version: Application.version + 1,
                    Application.updated_at: at,
                    Application.updated_by: user.id,
                }
            )
            .where(
                (Application.id == app_id)
                & (Application.version == version)
                & Application.status.is_in(list(states.EDITABLE))
            )
            .returning(Application.version)
        )
        if not updated:
            current = await application_for(user, app_id)
            raise Conflict(current)
    return Saved(version=updated[0]["version"], at=at, errors=errors)


# --- Attachments ------------------------------------------------------------------------------


def _current(app_id: int):
    """The file's documents as they stand: the latest version of each, none of the
    messages' attachments (what is submitted, hashed on the receipt, and reviewed)."""
    return (
        (Attachment.application == app_id)
        & Attachment.superseded_at.is_null()
        & Attachment.message.is_null()
    )


async def current_attachments(app_id: int) -> list[dict]:
    return (
        await Attachment.select(
            Attachment.id,
            Attachment.document_key,
            Attachment.original_name,
            Attachment.size,
            Attachment.sha256,
            Attachment.kind,
            Attachment.uploaded_at,
        )
        .where(_current(app_id))
        .order_by(Attachment.id)
    )


async def current_attachment(app_id: int, attachment_id: int) -> dict | None:
    """One of ``current_attachments`` (a reviewer's download): a superseded version or
    a message's attachment is not part of the file as submitted, so it is None."""
    return (
        await Attachment.select().where(_current(app_id) & (Attachment.id == attachment_id)).first()
    )


async def attachment_history(app_id: int) -> list[dict]:
    return (
        await Attachment.select(
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


def document_spec(app: dict, key: str) -> dict | None:
    """The call's document (or the form's file field) this key names."""
    for document in app["documents"]:
        if document["key"] == key:
            return document
    field = formspec.field_by_key(app["form"], key)
    if field and field["type"] == "file":
        return {
            "key": key,
            "label": field["label"],
            "required": field["required"],
            "kinds": ["pdf", "image", "office", "opendocument"],
            "max_mb": 20,
        }
    return None


async def _organisation_of(app_id: int) -> int | None:
    row = await Application.select(Application.organisation).where(Application.id == app_id).first()
    return row["organisation"] if row else None


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
    app_id: int, document_key: str, organisation_id: int, app: dict, limits: StorageLimits
) -> tuple[quotas.Room, list[dict]]:
    """Room for a new version of this document, and the versions it would prune;
    ``ApplicationError("too_many_versions")`` when it has the most it may have."""
    versions = await Attachment.count().where(
        (Attachment.application == app_id)
        & (Attachment.document_key == document_key)
        & Attachment.message.is_null()
    )
    if versions >= limits.document_versions:
        raise ApplicationError("too_many_versions", limits.document_versions)
    pruned = await _versions_to_prune(
        app_id, document_key, app["submitted_at"], limits.kept_draft_versions
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
        raise ApplicationError("not_found")
    room, _pruned = await _document_room(app_id, document_key, app["organisation"], app, limits)
    room.check(max(size, 1))
    return room


async def add_attachment(
    app_id: int,
    document_key: str,
    stored: Any,
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
    organisation_id = await _organisation_of(app_id)
    if organisation_id is None:
        raise ApplicationError("not_editable")
    async with write_transaction():
        await quotas.lock_organisation(organisation_id)
        row = await for_update(
            Application.select(Application.status, Application.submitted_at).where(
                Application.id == app_id
            )
        ).first()
        if row is None or row["status"] not in states.EDITABLE:
            raise ApplicationError("not_editable")
        room, pruned = await _document_room(app_id, document_key, organisation_id, row, limits)
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
        await _audit(
            "applications.document_added",
            actor,
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


async def attachment_for(user: CurrentUser, app_id: int, attachment_id: int) -> dict | None:
    """A document of an application this person may see, its bytes kept, else None."""
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


# --- Messages ---------------------------------------------------------------------------------

MAX_MESSAGE_CHARS = 5000


async def messages(app_id: int) -> list[dict]:
    """The thread, oldest first, with each message's attachments (two queries)."""
    rows = (
        await Message.select(
            Message.id,
            Message.body,
            Message.created_at,
            Message.from_staff,
            Message.author.full_name.as_alias("author_name"),
        )
        .where(Message.application == app_id)
        .order_by(Message.id)
    )
    files = await Attachment.select(
        Attachment.id, Attachment.message, Attachment.original_name, Attachment.size
    ).where((Attachment.application == app_id) & Attachment.message.is_not_null())
    by_message: dict[int, list[dict]] = {}
    for f in files:
        by_message.setdefault(f["message"], []).append(f)
    for row in rows:
        row["files"] = by_message.get(row["id"], [])
    return rows


async def message_room(
    app_id: int, *, user: CurrentUser, limits: StorageLimits
) -> quotas.Room | None:
    """The room a message's file has in the quotas, for the organisation's members;
    None for the staff (their files count, but are never refused for a quota the
    applicant filled). ``post_message`` checks again."""
    organisation_id = await _organisation_of(app_id)
    if organisation_id is None or not await is_member(user.id, organisation_id):
        return None
    return await quotas.room_of(limits=limits, organisation_id=organisation_id, app_id=app_id)


async def post_message(
    app_id: int,
    body: str,
    stored: Any | None,
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
        raise ApplicationError("message_required")
    if len(body) > MAX_MESSAGE_CHARS:
        raise ApplicationError("message_too_long")
    if stored is not None and stored.size > limits.message_file_bytes:
        raise ApplicationError("message_file_too_large", stored.size)
    organisation_id = await _organisation_of(app_id)
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
            raise ApplicationError("not_found")
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
        await _audit("applications.message_posted", actor, app_id, from_staff=from_staff)
        if from_staff:
            recipients = await Membership.select(
                Membership.user.email.as_alias("email"),
                Membership.user.language.as_alias("language"),
            ).where(Membership.organisation == app["organisation"])
            url = f"{base_url}/dossiers/{app_id}#messages"
        else:
            recipients = await Call.select(
                Call.created_by.email.as_alias("email"),
                Call.created_by.language.as_alias("language"),
            ).where((Call.id == app["call"]) & Call.created_by.is_not_null())
            url = f"{base_url}/instruction/dossiers/{app_id}#messages"
        for recipient in recipients:
            await enqueue_email(
                to=recipient["email"],
                template="application_message",
                language=recipient["language"],
                context={
                    "reference": app["reference"] or app["title"],
                    "organisation": app["organisation_name"],
                    "url": url,
                },
            )
    return message_id


# --- Submission --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    anchor: str  # the id of the field to fix
    label: str = ""


async def submission_problems(app: dict) -> list[Problem]:
    """Everything missing or wrong, with where to fix it."""
    found: list[Problem] = []
    if not app["title"]:
        found.append(Problem("title_missing", "field-title"))
    attachments = {a["document_key"] for a in await current_attachments(app["id"])}
    for field in formspec.missing_answers(app["form"], app["answers"], attachments):
        found.append(Problem("answer_missing", f"field-{field['key']}", field["label"]))
    for document in app["documents"]:
        if document["required"] and document["key"] not in attachments:
            found.append(
                Problem("document_missing", f"document-{document['key']}", document["label"])
            )
    budget = budgets.from_json(app["budget"], app["requested_cents"])
    for code in budgets.problems(
        budget,
        min_cents=app["call_min_award_cents"],
        max_cents=app["call_max_award_cents"],
        max_rate_bp=app["call_max_rate_bp"],
    ):
        limit = {
            "requested_below_min": app["call_min_award_cents"],
            "requested_above_max": app["call_max_award_cents"],
        }.get(code)
        found.append(Problem(code, "budget", format_amount(limit) if limit else ""))
    return found


def content_hash(app: dict, attachments: list[dict]) -> str:
    """SHA-256 of what was submitted: answers, budget and every document's hash."""
    content = {
        "reference": app["reference"],
        "title": app["title"],
        "requested_cents": app["requested_cents"],
        "answers": app["answers"],
        "budget": app["budget"],
        "form_version": app["form_version"],
        "documents": sorted((a["document_key"], a["sha256"]) for a in attachments),
    }
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def _calls_sharing_a_prefix_with(app_id: int):
    """The calls whose reference prefix is that of this file's call (itself included)."""
    return Call.select(Call.id).where(
        Call.reference_prefix.is_in(
            Call.select(Call.reference_prefix).where(
                Call.id.is_in(Application.select(Application.call).where(Application.id == app_id))
            )
        )
    )


async def _next_reference(app_id: int, prefix: str) -> str:
    # Numbered per prefix, not per call: two calls may share a prefix (typed again, or
    # a call duplicated twice) and a reference is unique across calls. References are
    # never removed, so the count of those given is the last number.
    count = await Application.count().where(
        Application.call.is_in(_calls_sharing_a_prefix_with(app_id))
        & Application.reference.is_not_null()
    )
    return f"{prefix}-{count + 1:04d}"


async def submit(
    app_id: int, *, user: CurrentUser, actor: Actor, receipts, received_at: datetime
) -> dict:
    """Submit before the deadline with nothing missing; the file gets its reference
    number, the SHA-256 of its content and a receipt.

    The deadline is checked against ``received_at``, the moment the request reached the
    server (``core.arrival``), which is the submission's time on the receipt: a file
    sent before the deadline is on time however long it then waits for its turn.

    ``receipts`` (``applications.receipts.Receipts``) writes the receipt PDF after the
    submission commits: rendering it inside the transaction would hold the call's lock
    (SQLite: the database's) for each PDF, and a deadline's surge of submissions would
    queue behind them. A receipt missing after a crash is written by ``ensure_receipt``
    when it is first asked for."""
    async with write_transaction():
        # One submitter at a time per reference prefix (its calls locked): reference
        # numbers never collide. The file is read (and its access checked) after.
        await for_update(_calls_sharing_a_prefix_with(app_id))
        app = await application_for(user, app_id)
        if app is None:
            raise ApplicationError("not_found")
        at = received_at
        if not states.APPLICATION.can("submit", app["status"], "applicant"):
            raise ApplicationError("not_editable")
        if app["status"] == ApplicationStatus.draft and at >= app["call_closes_at"]:
            raise ApplicationError("deadline_passed")
        if (
            app["status"] == ApplicationStatus.to_complete
            and app["complete_by"]
            and at >= app["complete_by"]
        ):
            raise ApplicationError("deadline_passed")
        problems = await submission_problems(app)
        if problems:
            raise ApplicationError("incomplete", problems)
        call = await calls.get_call(app["call"])
        app["reference"] = app["reference"] or await _next_reference(
            app_id, call["reference_prefix"]
        )
        attachments = await current_attachments(app_id)
        app["content_sha256"] = content_hash(app, attachments)
        app["submitted_at"] = at
        await Application.update(
            {
                Application.status: states.APPLICATION.target("submit"),
                Application.reference: app["reference"],
                Application.submitted_at: at,
                Application.content_sha256: app["content_sha256"],
                Application.receipt_file: None,  # a resubmission gets a new one
                Application.version: Application.version + 1,
                Application.updated_at: now(),
                Application.updated_by: user.id,
            }
        ).where(Application.id == app_id)
        await _audit(
            "applications.submitted",
            actor,
            app_id,
            reference=app["reference"],
            sha256=app["content_sha256"],
        )
        await email_members(
            app["organisation"],
            "application_submitted",
            {
                "reference": app["reference"],
                "call": app["call_title"],
                "title": app["title"],
                "organisation": app["organisation_name"],
                "sha256": app["content_sha256"],
                "submitted_at": at.isoformat(),
                "url": receipts.url(app_id),
            },
        )
    await _store_receipt(app, attachments, receipts)
    return app


async def _store_receipt(app: dict, attachments: list[dict], receipts) -> str:
    written = await receipts.write(app, attachments)
    try:
        async with write_transaction():  # queued with the other writers, never starved
            updated = (
                await Application.update({Application.receipt_file: written})
                .where((Application.id == app["id"]) & Application.receipt_file.is_null())
                .returning(Application.id)
            )
    except BaseException:
        receipts.discard(written)
        raise
    if not updated:  # another request wrote it first
        receipts.discard(written)
        return (
            await Application.select(Application.receipt_file)
            .where(Application.id == app["id"])
            .first()
        )["receipt_file"]
    return written


async def ensure_receipt(app: dict, receipts) -> str | None:
    """The storage id of a submitted file's receipt, written now if the server stopped
    between the submission and its receipt; None before the file is submitted."""
    if app["receipt_file"]:
        return app["receipt_file"]
    if not app["reference"] or not app["submitted_at"]:
        return None
    return await _store_receipt(app, await current_attachments(app["id"]), receipts)


async def withdraw(app_id: int, *, user: CurrentUser, actor: Actor) -> None:
    async with write_transaction():
        app = await application_for(user, app_id)
        if app is None or not await is_member(user.id, app["organisation"]):
            raise ApplicationError("not_found")
        if not states.APPLICATION.can("withdraw", app["status"], "applicant"):
            raise ApplicationError("not_withdrawable")
        await Application.update(
            {
                Application.status: states.APPLICATION.target("withdraw"),
                Application.updated_at: now(),
                Application.version: Application.version + 1,
            }
        ).where(Application.id == app_id)
        await _audit("applications.withdrawn", actor, app_id, previous=app["status"])


async def is_member(user_id: int, organisation_id: int) -> bool:
    return await Membership.exists().where(
        (Membership.organisation == organisation_id) & (Membership.user == user_id)
    )


async def request_completion(
    app_id: int,
    *,
    message: str,
    complete_by: datetime,
    user: CurrentUser,
    actor: Actor,
    base_url: str,
) -> None:
    """An officer sends the file back « à compléter » with a message and a deadline."""
    if not message.strip():
        raise ApplicationError("message_required")
    if complete_by <= now():
        raise ApplicationError("deadline_past")
    async with write_transaction():
        app = await application_for(user, app_id)
        if app is None:
            raise ApplicationError("not_found")
        if not states.APPLICATION.can("request_completion", app["status"], "officer"):
            raise ApplicationError("transition")
        await Application.update(
            {
                Application.status: states.APPLICATION.target("request_completion"),
                Application.completion_message: message.strip()[:5000],
                Application.complete_by: complete_by,
                Application.version: Application.version + 1,
                Application.updated_at: now(),
            }
        ).where(Application.id == app_id)
        await _audit("applications.sent_back", actor, app_id, complete_by=complete_by.isoformat())
        await email_members(
            app["organisation"],
            "application_to_complete",
            {
                "reference": app["reference"],
                "message": message.strip(),
                "url": f"{base_url}/dossiers/{app_id}",
            },
        )


SCREENING = {"eligible": "mark_eligible", "ineligible": "mark_ineligible"}


async def screen(
    app_ids: list[int],
    decision: str,
    *,
    reason: str,
    user: CurrentUser,
    actor: Actor,
    base_url: str,
) -> int:
    """Screening (recevabilité), for one file or many: all of them or none. An
    ineligible file needs a reason, which the applicant receives by e-mail."""
    action = SCREENING.get(decision)
    if action is None:
        raise ApplicationError("transition")
    reason = reason.strip()
    if decision == "ineligible" and not reason:
        raise ApplicationError("reason_required")
    if not app_ids:
        raise ApplicationError("nothing_selected")
    at = now()
    async with write_transaction():
        # PostgreSQL locks no row through an outer join: lock, then read the titles.
        rows = await for_update(
            Application.select(
                Application.id,
                Application.status,
                Application.reference,
                Application.title,
                Application.organisation,
                Application.call,
            ).where(Application.id.is_in(sorted(set(app_ids))))
        )
        if len(rows) != len(set(app_ids)):
            raise ApplicationError("not_found")
        titles = {
            c["id"]: c["title"]
            for c in await Call.select(Call.id, Call.title).where(
                Call.id.is_in([r["call"] for r in rows])
            )
        }
        for row in rows:
            row["call_title"] = titles[row["call"]]
        refused = [
            r["reference"] or str(r["id"])
            for r in rows
            if not states.APPLICATION.can(action, r["status"], "officer")
        ]
        if refused:
            raise ApplicationError("not_screenable", refused)
        for row in rows:
            await Application.update(
                {
                    Application.status: states.APPLICATION.target(action),
                    Application.screened_at: at,
                    Application.screening_reason: reason if decision == "ineligible" else "",
                    Application.version: Application.version + 1,
                    Application.updated_at: at,
                }
            ).where(Application.id == row["id"])
            await _audit(f"applications.{decision}", actor, row["id"], reason=reason[:200] or None)
            await email_members(
                row["organisation"],
                f"application_{decision}",
                {
                    "reference": row["reference"],
                    "call": row["call_title"],
                    "title": row["title"],
                    "reason": reason,
                    "url": f"{base_url}/dossiers/{row['id']}",
                },
            )
    return len(rows)


async def history(app_id: int) -> list[dict]:
    entries, _total = await audit.search(object_type="application", object_id=app_id, limit=200)
    return entries


# --- Staff table -------------------------------------------------------------------------------


@dataclass
class TableQuery:
    status: str = ""
    organisation: str = ""
    q: str = ""
    min_cents: int | None = None
    max_cents: int | None = None
    submitted_from: datetime | None = None
    submitted_until: datetime | None = None
    sort: str = "reference"
    descending: bool = False
    page: int = 1


def _table_conditions(call_id: int, query: TableQuery) -> list:
    conditions = [Application.call == call_id]
    if query.status:
        conditions.append(Application.status == query.status)
    if query.organisation:
        conditions.append(Application.organisation.name.ilike(f"%{query.organisation}%"))
    if query.q:
        pattern = f"%{query.q}%"
        conditions.append(
            Application.title.ilike(pattern)
            | Application.reference.ilike(pattern)
            | Application.organisation.name.ilike(pattern)
        )
    if query.min_cents is not None:
        conditions.append(Application.requested_cents >= query.min_cents)
    if query.max_cents is not None:
        conditions.append(Application.requested_cents <= query.max_cents)
    if query.submitted_from is not None:
        conditions.append(Application.submitted_at >= query.submitted_from)
    if query.submitted_until is not None:
        conditions.append(Application.submitted_at < query.submitted_until)
    return conditions


TABLE_COLUMNS = (
    Application.id,
    Application.reference,
    Application.title,
    Application.status,
    Application.requested_cents,
    Application.submitted_at,
    Application.updated_at,
)


async def staff_table(call_id: int, query: TableQuery) -> tuple[list[dict], int]:
    """One page of the call's applications, filtered and sorted in SQL (two queries,
    whatever the number of rows)."""
    conditions = _table_conditions(call_id, query)
    column = SORTS.get(query.sort, Application.reference)
    rows = (
        await Application.select(
            *TABLE_COLUMNS, Application.organisation.name.as_alias("organisation_name")
        )
        .where(*conditions)
        .order_by(column, ascending=not query.descending)
        .order_by(Application.id)
        .limit(PAGE_SIZE)
        .offset((max(query.page, 1) - 1) * PAGE_SIZE)
    )
    total = await Application.count().where(*conditions)
    return rows, total


async def iter_table(call_id: int, query: TableQuery, batch_size: int = 500) -> AsyncIterator[dict]:
    """Every matching application, in id order, ``batch_size`` at a time (exports)."""
    conditions = _table_conditions(call_id, query)
    last_id = 0
    while True:
        rows = (
            await Application.select(
                *TABLE_COLUMNS,
                Application.organisation.name.as_alias("organisation_name"),
                Application.organisation.siret.as_alias("siret"),
            )
            .where(Application.id > last_id, *conditions)
            .order_by(Application.id)
            .limit(batch_size)
        )
        for row in rows:
            yield row
        if len(rows) < batch_size:
            return
        last_id = rows[-1]["id"]
