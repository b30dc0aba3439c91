"""Submission before the deadline with nothing missing (reference number, content
hash, receipt), and withdrawal by the applicant."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from app.accounts.services import CurrentUser
from app.applications import budget as budgets
from app.applications import states
from app.applications.drafts import NOT_EDITABLE
from app.applications.models import (
    NOT_FOUND,
    ApplicationError,
    ApplicationView,
    AttachmentView,
    Declaration,
    Incomplete,
    Problem,
    Undeclared,
)
from app.applications.reading import application_for, current_attachments, is_member, now
from app.applications.tables import Application
from app.calls import formspec
from app.calls import services as calls
from app.calls.tables import Call
from app.core import audit
from app.core.audit import Actor
from app.core.db import Prepared, for_update, is_sqlite, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.money import format_amount
from app.funders.models import funder_context
from app.funders.services import legal_of
from app.organisations.services import email_members

if TYPE_CHECKING:
    from app.applications.receipts import Receipts


async def submission_problems(
    app: ApplicationView, current: list[AttachmentView] | None = None
) -> list[Problem]:
    """Everything missing or wrong, with where to fix it (``current``: the file's
    documents, when already read)."""
    found: list[Problem] = []
    if not app.title:
        found.append(Problem("title_missing", "field-title", N_("Give your project a title.")))
    if current is None:
        current = await current_attachments(app.id)
    attachments = {a.document_key for a in current}
    for field in formspec.missing_answers(app.form, app.answers, attachments):
        found.append(
            Problem(
                "answer_missing",
                f"field-{field['key']}",
                N_("Answer « %(label)s »."),
                field["label"],
            )
        )
    for document in app.documents:
        if document["required"] and document["key"] not in attachments:
            found.append(
                Problem(
                    "document_missing",
                    f"document-{document['key']}",
                    N_("Attach « %(label)s »."),
                    document["label"],
                )
            )
    limits = {
        "requested_below_min": app.call_min_award_cents,
        "requested_above_max": app.call_max_award_cents,
    }
    for code in budgets.problems(
        app.forecast,
        min_cents=app.call_min_award_cents,
        max_cents=app.call_max_award_cents,
        max_rate_bp=app.call_max_rate_bp,
    ):
        limit = limits.get(code)
        found.append(
            Problem(code, "budget", budgets.PROBLEMS[code], format_amount(limit) if limit else "")
        )
    return found


def content_hash(app: ApplicationView, attachments: Iterable[AttachmentView]) -> str:
    """SHA-256 of what was submitted: answers, budget and every document's hash."""
    content = {
        "reference": app.reference,
        "title": app.title,
        "requested_cents": app.requested_cents,
        "answers": app.answers,
        "budget": app.budget,
        "form_version": app.form_version,
        "documents": sorted((a.document_key, a.sha256) for a in attachments),
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


# Built once (core.db.Prepared): both run under the call's lock at each submission.
_LOCK_CALLS = Prepared(lambda app_id: for_update(_calls_sharing_a_prefix_with(app_id)))
_REFERENCES_GIVEN = Prepared(
    lambda app_id: Application.count().where(
        Application.call.is_in(_calls_sharing_a_prefix_with(app_id))
        & Application.reference.is_not_null()
    )
)


async def _next_reference(app_id: int, prefix: str) -> str:
    # Numbered per prefix, not per call: two calls may share a prefix (typed again, or
    # a call duplicated twice) and a reference is unique across calls. References are
    # never removed, so the count of those given is the last number.
    count = await _REFERENCES_GIVEN.run(app_id=app_id)
    return f"{prefix}-{count + 1:04d}"


# The capacities offered beside the sworn statement's field (any other may be typed).
CAPACITIES = (
    N_("President"),
    N_("Treasurer"),
    N_("Secretary"),
    N_("Director, with delegation"),
    N_("Legal representative"),
)
MAX_DECLARANT_NAME = 200
MAX_DECLARANT_CAPACITY = 100


def declaration_errors(declaration: Declaration) -> dict[str, ApplicationError]:
    """What is missing from the sworn statement, per field: the box ticked, the name
    and the capacity of the person who submits (CERFA 12156, « Je soussigné(e)… »)."""
    errors: dict[str, ApplicationError] = {}
    if not declaration.name.strip():
        errors["declarant_name"] = ApplicationError(
            "declarant_name_missing", N_("Enter your first and last name."), field="declarant_name"
        )
    elif len(declaration.name.strip()) > MAX_DECLARANT_NAME:
        errors["declarant_name"] = ApplicationError(
            "declarant_name_too_long", N_("This is too long."), field="declarant_name"
        )
    if not declaration.capacity.strip():
        errors["declarant_capacity"] = ApplicationError(
            "declarant_capacity_missing",
            N_("Say in what capacity you act for the organisation (e.g. president)."),
            field="declarant_capacity",
        )
    elif len(declaration.capacity.strip()) > MAX_DECLARANT_CAPACITY:
        errors["declarant_capacity"] = ApplicationError(
            "declarant_capacity_too_long", N_("This is too long."), field="declarant_capacity"
        )
    if not declaration.certified:
        errors["certify"] = ApplicationError(
            "not_certified",
            N_("Tick the box to certify that the information in the file is accurate."),
            field="certify",
        )
    return errors


DEADLINE_PASSED = N_(
    "The deadline has passed: the file cannot be submitted any more. Your draft is kept."
)


async def submit(
    app_id: int,
    *,
    user: CurrentUser,
    actor: Actor,
    receipts: Receipts,
    received_at: datetime,
    declaration: Declaration,
) -> ApplicationView:
    """Submit before the deadline with nothing missing and the sworn statement made
    (``declaration_errors``); the file gets its reference number, the SHA-256 of its
    content and a receipt, which prints the statement.

    The deadline is checked against ``received_at``, the moment the request reached the
    server (``core.arrival``), which is the submission's time on the receipt: a file
    sent before the deadline is on time however long it then waits for its turn.

    ``receipts`` (``applications.receipts.Receipts``) writes the receipt PDF after the
    submission commits: rendering it inside the transaction would hold the call's lock
    (SQLite: the database's) for each PDF, and a deadline's surge of submissions would
    queue behind them. A receipt missing after a crash is written by ``ensure_receipt``
    when it is first asked for."""
    declarant_name, declarant_capacity = declaration.name.strip(), declaration.capacity.strip()
    async with write_transaction():
        # One submitter at a time per reference prefix (its calls locked): reference
        # numbers never collide. The file is read (and its access checked) after. On
        # SQLite the write transaction (BEGIN IMMEDIATE) already holds the only lock.
        if not is_sqlite():
            await _LOCK_CALLS.run(app_id=app_id)
        # Its applicants only (staff work from /instruction): the route reads it no
        # earlier, this one query checks who may submit.
        app = await application_for(user, app_id, members_only=True)
        if app is None:
            raise ApplicationError("not_found", NOT_FOUND)
        at = received_at
        if not states.APPLICATION.can("submit", app.status, "applicant"):
            raise ApplicationError("not_editable", NOT_EDITABLE)
        deadline = app.call_closes_at if app.in_draft else app.complete_by
        if deadline is not None and at >= deadline:
            raise ApplicationError("deadline_passed", DEADLINE_PASSED)
        attachments = await current_attachments(app_id)
        problems = await submission_problems(app, attachments)
        if problems:
            raise Incomplete(problems)
        refused = declaration_errors(declaration)
        if refused:
            raise Undeclared(refused)
        call = await calls.get_call(app.call)
        reference = app.reference or await _next_reference(app_id, call["reference_prefix"])
        app = dataclasses.replace(
            app,
            status=states.APPLICATION.fire("submit", app.status, "applicant"),
            reference=reference,
            submitted_at=at,
            receipt_file=None,  # a resubmission gets a new one
            declarant_name=declarant_name,
            declarant_capacity=declarant_capacity,
        )
        app = dataclasses.replace(app, content_sha256=content_hash(app, attachments))
        changed = (
            await Application.update(
                {
                    Application.status: app.status,
                    Application.reference: app.reference,
                    Application.submitted_at: at,
                    Application.content_sha256: app.content_sha256,
                    Application.receipt_file: None,
                    Application.declarant_name: declarant_name,
                    Application.declarant_capacity: declarant_capacity,
                    Application.version: Application.version + 1,
                    Application.updated_at: now(),
                    Application.updated_by: user.id,
                }
            )
            .where(Application.id == app_id)
            .returning(Application.version, Application.updated_at, Application.updated_by)
        )
        app = dataclasses.replace(app, **changed[0])
        await audit.record_by(
            actor,
            "applications.submitted",
            "application",
            app_id,
            reference=app.reference,
            sha256=app.content_sha256,
            declarant=declarant_name,
            capacity=declarant_capacity,
        )
        await email_members(
            app.organisation,
            "application_submitted",
            {
                "reference": app.reference,
                "call": app.call_title,
                "title": app.title,
                "organisation": app.organisation_name,
                "sha256": app.content_sha256,
                "submitted_at": at.isoformat(),
                "url": receipts.url(app_id),
                **funder_context(await legal_of(app.funder_id)),
            },
        )
    receipt_file = await _store_receipt(app, attachments, receipts)
    return dataclasses.replace(app, receipt_file=receipt_file)


async def _store_receipt(
    app: ApplicationView, attachments: list[AttachmentView], receipts: Receipts
) -> str:
    written = await receipts.write(app, attachments)
    try:
        async with write_transaction():  # queued with the other writers, never starved
            updated = (
                await Application.update({Application.receipt_file: written})
                .where((Application.id == app.id) & Application.receipt_file.is_null())
                .returning(Application.id)
            )
    except BaseException:
        receipts.discard(written)
        raise
    if not updated:  # another request wrote it first
        receipts.discard(written)
        return (
            await Application.select(Application.receipt_file)
            .where(Application.id == app.id)
            .first()
        )["receipt_file"]
    return written


async def ensure_receipt(app: ApplicationView, receipts: Receipts) -> str | None:
    """The storage id of a submitted file's receipt, written now if the server stopped
    between the submission and its receipt; None before the file is submitted."""
    if app.receipt_file:
        return app.receipt_file
    if not app.reference or not app.submitted_at:
        return None
    return await _store_receipt(app, await current_attachments(app.id), receipts)


async def withdraw(app_id: int, *, user: CurrentUser, actor: Actor) -> None:
    """The applicant withdraws the file, for good."""
    async with write_transaction():
        app = await application_for(user, app_id)
        if app is None or not await is_member(user.id, app.organisation):
            raise ApplicationError("not_found", NOT_FOUND)
        if not states.APPLICATION.can("withdraw", app.status, "applicant"):
            raise ApplicationError("not_withdrawable", N_("This file can no longer be withdrawn."))
        await Application.update(
            {
                Application.status: states.APPLICATION.fire("withdraw", app.status, "applicant"),
                Application.updated_at: now(),
                Application.version: Application.version + 1,
            }
        ).where(Application.id == app_id)
        await audit.record_by(
            actor, "applications.withdrawn", "application", app_id, previous=app.status
        )
