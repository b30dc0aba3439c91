"""Conflicts of interest: a reviewer's link to an organisation, declared by the
reviewer (from their links page, or when declining a file) or recorded by an officer.
From then on the reviewer is never given, and never shown, that organisation's files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.accounts.services import CurrentUser
from app.applications.tables import Application
from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.i18n import gettext_noop as N_
from app.organisations.tables import Organisation
from app.reviews.errors import ReviewError
from app.reviews.pool import applicant_organisations, pool
from app.reviews.scoring import ALREADY_SUBMITTED, NOT_FOUND, assignment_for, follow_reviews
from app.reviews.tables import Assignment, Conflict, Decline, PoolMember


@dataclass(frozen=True, slots=True)
class ConflictOfInterest:
    id: int
    reason: str
    created_at: datetime
    reviewer_name: str
    organisation_name: str
    organisation_city: str


@dataclass(frozen=True, slots=True)
class DeclinedReview:
    reviewer_name: str
    reason: str
    declined_at: datetime


@dataclass(frozen=True, slots=True)
class FoundOrganisation:
    id: int
    name: str
    city: str


def _select():
    return Conflict.select(
        Conflict.id,
        Conflict.reason,
        Conflict.created_at,
        Conflict.reviewer.full_name.as_alias("reviewer_name"),
        Conflict.organisation.name.as_alias("organisation_name"),
        Conflict.organisation.city.as_alias("organisation_city"),
    )


async def record_conflict(
    reviewer_id: int, organisation_id: int, reason: str, *, actor: Actor
) -> None:
    """A conflict of interest, declared by the reviewer or recorded by an officer: the
    reviewer's unsubmitted assignments on the organisation's files go, so that others
    can be given them."""
    async with write_transaction():
        if not await Conflict.exists().where(
            (Conflict.reviewer == reviewer_id) & (Conflict.organisation == organisation_id)
        ):
            await Conflict.insert(
                Conflict(
                    reviewer=reviewer_id,
                    organisation=organisation_id,
                    reason=reason.strip()[:500],
                    declared_by=actor.user_id,
                )
            )
            await audit.record_by(
                actor,
                "reviews.conflict_recorded",
                "organisation",
                organisation_id,
                reviewer=reviewer_id,
            )
        pending = await Assignment.select(Assignment.id, Assignment.application).where(
            (Assignment.reviewer == reviewer_id)
            & Assignment.submitted_at.is_null()
            & Assignment.application.is_in(
                Application.select(Application.id).where(
                    Application.organisation == organisation_id
                )
            )
        )
        if pending:
            await Assignment.delete().where(Assignment.id.is_in([p["id"] for p in pending]))
        for p in pending:
            await audit.record_by(
                actor,
                "reviews.unassigned_for_conflict",
                "application",
                p["application"],
                reviewer=reviewer_id,
            )
            await follow_reviews(p["application"], actor, after_removal=True)


async def record_conflict_on_call(
    call_id: int,
    reviewer_id: int | None,
    organisation_id: int | None,
    reason: str,
    *,
    actor: Actor,
) -> None:
    """An officer records a conflict between a reviewer of the call's pool and an
    organisation that applied to it."""
    in_pool = {m.reviewer_id for m in await pool(call_id)}
    applied = {o.id for o in await applicant_organisations(call_id)}
    if reviewer_id not in in_pool or organisation_id not in applied:
        raise ReviewError(
            "conflict_choice", N_("Choose a reviewer of the pool and an organisation that applied.")
        )
    await record_conflict(reviewer_id, organisation_id, reason, actor=actor)


async def declare_link(
    reviewer_id: int, organisation_id: int | None, reason: str, *, search: str, actor: Actor
) -> None:
    """A reviewer declares a link to an organisation found by their search, saying
    what it is: a conflict of interest from now on."""
    found = {o.id for o in await find_organisations(search)}
    if organisation_id not in found:
        raise ReviewError(
            "link_choice", N_("Choose an organisation from the search results."), field="q"
        )
    if not reason.strip():
        raise ReviewError(
            "link_reason", N_("Say what links you to this organisation."), field="reason"
        )
    await record_conflict(reviewer_id, organisation_id, reason.strip(), actor=actor)


async def decline_with_conflict(
    assignment_id: int, reason: str, *, reviewer: CurrentUser, actor: Actor
) -> None:
    """A reviewer declares a conflict with the file's organisation, saying what links
    them (for the officers): the conflict is recorded and the (unsubmitted) assignment
    removed, so another reviewer can be given."""
    if not reason.strip():
        raise ReviewError(
            "conflict_reason",
            N_("Say what links you to the organisation, e.g. former employee."),
            field="reason",
        )
    async with write_transaction():
        assignment = await assignment_for(reviewer, assignment_id)
        if assignment is None:
            raise ReviewError("not_found", NOT_FOUND)
        if "decline" not in assignment.actions:
            raise ReviewError("already_submitted", ALREADY_SUBMITTED)
        # Kept for the officers' queue and the reviewer's progress: the assignment goes.
        await Decline.insert(
            Decline(
                application=assignment.application_id,
                reviewer=reviewer.id,
                reason=reason.strip()[:500],
            )
        )
        # Recording the conflict removes this assignment with any other on the organisation.
        await record_conflict(reviewer.id, assignment.organisation_id, reason, actor=actor)
        await audit.record_by(
            actor,
            "reviews.declined",
            "application",
            assignment.application_id,
            reviewer=reviewer.id,
        )


async def links_of(reviewer_id: int) -> list[ConflictOfInterest]:
    """The organisations a reviewer is linked to (declared by them or by an officer)."""
    rows = await (
        _select().where(Conflict.reviewer == reviewer_id).order_by(Conflict.organisation.name)
    )
    return [ConflictOfInterest(**r) for r in rows]


async def declines_of(app_id: int) -> list[DeclinedReview]:
    """The reviewers who gave a file back for a conflict of interest (for officers)."""
    rows = await (
        Decline.select(
            Decline.reviewer.full_name.as_alias("reviewer_name"),
            Decline.reason,
            Decline.declined_at,
        )
        .where(Decline.application == app_id)
        .order_by(Decline.declined_at)
    )
    return [DeclinedReview(**r) for r in rows]


async def conflicts_on(organisation_id: int) -> list[ConflictOfInterest]:
    """The reviewers who declared (or were recorded with) a link to an organisation."""
    rows = await (
        _select().where(Conflict.organisation == organisation_id).order_by(Conflict.created_at)
    )
    return [ConflictOfInterest(**r) for r in rows]


async def conflicts(call_id: int) -> list[ConflictOfInterest]:
    """Conflicts of the call's pool with organisations that applied to it."""
    members = PoolMember.select(PoolMember.reviewer).where(PoolMember.call == call_id)
    organisations = Application.select(Application.organisation).where(Application.call == call_id)
    rows = await _select().where(
        Conflict.reviewer.is_in(members) & Conflict.organisation.is_in(organisations)
    )
    return [ConflictOfInterest(**r) for r in rows]


async def find_organisations(query: str, *, limit: int = 20) -> list[FoundOrganisation]:
    """Organisations whose name contains the query, or whose SIRET is the query."""
    text = query.strip()
    if len(text) < 2:
        return []
    rows = await (
        Organisation.select(Organisation.id, Organisation.name, Organisation.city)
        .where(Organisation.name.ilike(f"%{text}%") | (Organisation.siret == text.replace(" ", "")))
        .order_by(Organisation.name)
        .limit(limit)
    )
    return [FoundOrganisation(**r) for r in rows]
