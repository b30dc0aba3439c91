"""A call's reviewers (its pool) and who reviews which file: automatic assignment
(previewed, then saved if nothing changed), assignment by hand, taking a file back.
Never to a reviewer with a conflict of interest with the file's organisation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from app.accounts.tables import RoleGrant, StaffRole, User
from app.applications.states import APPLICATION
from app.applications.tables import Application, ApplicationStatus
from app.calls.tables import Call
from app.core import audit
from app.core.audit import Actor
from app.core.bulk import insert_many
from app.core.db import write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.time import now
from app.reviews.assignment import AssignmentPlan, auto_assign
from app.reviews.errors import ReviewError
from app.reviews.notices import notify_assigned
from app.reviews.scoring import ALREADY_SUBMITTED, NOT_FOUND, follow_reviews
from app.reviews.settings import settings_for
from app.reviews.states import REVIEW, state_of
from app.reviews.tables import Assignment, Conflict, PoolMember

ASSIGNABLE = (ApplicationStatus.eligible.value, ApplicationStatus.in_review.value)
# By hand, a reviewed file may also get one more reviewer (a third opinion).
ASSIGNABLE_BY_HAND = (*ASSIGNABLE, ApplicationStatus.reviewed.value)
NOT_A_REVIEWER = N_("This person is not a reviewer.")


@dataclass(frozen=True, slots=True)
class Reviewer:
    id: int
    full_name: str
    email: str


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """A reviewer of the call's pool."""

    id: int
    reviewer_id: int
    full_name: str
    email: str


@dataclass(frozen=True, slots=True)
class Choice:
    """An organisation or a file offered in a list (its id and what the list shows)."""

    id: int
    label: str


async def reviewers(funder: int | None = None) -> list[Reviewer]:
    """Active people with the reviewer role; with ``funder``, those who hold it for
    every funder or for this one (roles per funder: a reviewer of one funder is not
    offered to another's calls)."""
    grants = RoleGrant.role == StaffRole.reviewer.value
    if funder is not None:
        grants = grants & (RoleGrant.funder_id.is_null() | (RoleGrant.funder_id == funder))
    ids = RoleGrant.select(RoleGrant.user).where(grants)
    rows = (
        await User.select(User.id, User.full_name, User.email)
        .where(User.id.is_in(ids) & (User.is_active.eq(True)))
        .order_by(User.full_name)
    )
    return [Reviewer(**r) for r in rows]


async def pool(call_id: int) -> list[PoolEntry]:
    rows = (
        await PoolMember.select(
            PoolMember.id,
            PoolMember.reviewer.id.as_alias("reviewer_id"),
            PoolMember.reviewer.full_name.as_alias("full_name"),
            PoolMember.reviewer.email.as_alias("email"),
        )
        .where(PoolMember.call == call_id)
        .order_by(PoolMember.reviewer.full_name)
    )
    return [PoolEntry(**r) for r in rows]


async def add_to_pool(call_id: int, reviewer_id: int | None, *, actor: Actor) -> None:
    """A person with the reviewer role joins the call's pool (once)."""
    async with write_transaction():
        call = await Call.select(Call.funder).where(Call.id == call_id).first()
        funder = call["funder"] if call else 0
        if reviewer_id not in {r.id for r in await reviewers(funder)}:
            raise ReviewError("not_a_reviewer", NOT_A_REVIEWER, field="reviewer")
        if not await PoolMember.exists().where(
            (PoolMember.call == call_id) & (PoolMember.reviewer == reviewer_id)
        ):
            await PoolMember.insert(PoolMember(call=call_id, reviewer=reviewer_id))
            await audit.record_by(
                actor, "reviews.pool_added", "call", call_id, reviewer=reviewer_id
            )


async def applicant_organisations(call_id: int) -> list[Choice]:
    """The organisations that applied to the call (for recording a conflict)."""
    rows = (
        await Application.select(
            Application.organisation.id.as_alias("id"),
            Application.organisation.name.as_alias("name"),
        )
        .where(Application.call == call_id)
        .order_by(Application.organisation.name)
    )
    return [Choice(id=r["id"], label=r["name"]) for r in rows]


async def assignable_files(call_id: int) -> list[Choice]:
    """The files an officer may give to a reviewer by hand."""
    rows = (
        await Application.select(Application.id, Application.reference, Application.title)
        .where((Application.call == call_id) & Application.status.is_in(list(ASSIGNABLE_BY_HAND)))
        .order_by(Application.reference)
    )
    return [Choice(id=r["id"], label=f"{r['reference']} — {r['title']}") for r in rows]


# --- Automatic assignment ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    plan: AssignmentPlan
    fingerprint: str
    references: dict[int, str]
    names: dict[int, str]


async def preview(call_id: int) -> Preview:
    """What automatic assignment would add now (nothing is saved)."""
    setup = await settings_for(call_id)
    apps = (
        await Application.select(Application.id, Application.reference, Application.organisation)
        .where((Application.call == call_id) & Application.status.is_in(list(ASSIGNABLE)))
        .order_by(Application.id)
    )
    members = await pool(call_id)
    reviewer_ids = [m.reviewer_id for m in members]
    existing = await Assignment.select(Assignment.application, Assignment.reviewer).where(
        Assignment.application.is_in([a["id"] for a in apps] or [0])
    )
    org_of = {a["id"]: a["organisation"] for a in apps}
    conflict_rows = await Conflict.select(Conflict.reviewer, Conflict.organisation).where(
        Conflict.reviewer.is_in(reviewer_ids or [0])
    )
    conflicted_orgs: dict[int, set[int]] = {}
    for row in conflict_rows:
        conflicted_orgs.setdefault(row["organisation"], set()).add(row["reviewer"])
    conflict_pairs = [
        (app_id, r) for app_id, org in org_of.items() for r in conflicted_orgs.get(org, ())
    ]
    existing_pairs = [(e["application"], e["reviewer"]) for e in existing]
    plan = auto_assign(
        list(org_of), reviewer_ids, setup.reviews_wanted, existing_pairs, conflict_pairs
    )
    fingerprint = hashlib.sha256(
        json.dumps(
            [
                sorted(org_of),
                reviewer_ids,
                sorted(existing_pairs),
                sorted(conflict_pairs),
                setup.reviews_wanted,
            ]
        ).encode()
    ).hexdigest()
    return Preview(
        plan=plan,
        fingerprint=fingerprint,
        references={a["id"]: a["reference"] or str(a["id"]) for a in apps},
        names={m.reviewer_id: m.full_name for m in members},
    )


def audit_parts(pairs: Sequence[tuple[int, int]]) -> list[dict[str, list[int]]]:
    """A plan's (file, reviewer) pairs as the audit lists them, the files by reviewer
    ({reviewer id: [file ids]}): one entry for the plan, or as few as the audit
    summary's size limit allows (about 600 pairs an entry)."""
    budget = audit.MAX_SUMMARY_CHARS - 200  # the count and the part's number beside
    parts: list[dict[str, list[int]]] = []
    current: dict[str, list[int]] = {}
    size = 0
    for app_id, reviewer_id in sorted(pairs, key=lambda p: (p[1], p[0])):
        key = str(reviewer_id)
        cost = len(str(app_id)) + 1 + (0 if key in current else len(key) + 6)
        if current and size + cost > budget:
            parts.append(current)
            current, size = {}, 0
            cost = len(str(app_id)) + 1 + len(key) + 6
        current.setdefault(key, []).append(app_id)
        size += cost
    if current:
        parts.append(current)
    return parts


async def apply_preview(call_id: int, fingerprint: str, *, actor: Actor, base_url: str = "") -> int:
    """Save the previewed plan, if nothing changed since the preview; the files with
    reviewers go « under review »; each reviewer gets one e-mail listing their new
    files. Returns the number of assignments saved."""
    async with write_transaction():
        current = await preview(call_id)
        if current.fingerprint != fingerprint:
            raise ReviewError(
                "changed",
                N_(
                    "Something changed since the preview (files, reviewers or conflicts): check the new preview."
                ),
            )
        # In chunks, and the plan audited on the call, its pairs listed: a few statements
        # for thousands of pairs, not three per pair.
        pairs = sorted(current.plan.new_pairs)
        await insert_many(
            Assignment,
            (
                Assignment(application=app_id, reviewer=reviewer_id, assigned_by=actor.user_id)
                for app_id, reviewer_id in pairs
            ),
        )
        parts = audit_parts(pairs)
        for n, files_by_reviewer in enumerate(parts, start=1):
            await audit.record_by(
                actor,
                "reviews.auto_assigned",
                "call",
                call_id,
                count=len(pairs),
                part=n,
                parts=len(parts),
                files_by_reviewer=files_by_reviewer,
            )
        touched = sorted({app_id for app_id, _r in current.plan.new_pairs})
        if touched:
            review = APPLICATION.step("start_review", "officer")
            await Application.update(
                {Application.status: review.target, Application.updated_at: now()}
            ).where(Application.id.is_in(touched) & Application.status.is_in(list(review.sources)))
        await notify_assigned(current.plan.new_pairs, base_url=base_url)
    return len(current.plan.new_pairs)


# --- By hand ---------------------------------------------------------------------------------


def _refused(code: str, about_file: str, message: str, reference: str | None) -> ReviewError:
    """A file refused by hand: its reference before the message, when it has one."""
    if reference:
        return ReviewError(code, about_file, field="application", reference=reference)
    return ReviewError(code, message, field="application")


async def assign_manually(
    app_ids: Sequence[int], reviewer_id: int, *, call_id: int, actor: Actor, base_url: str = ""
) -> None:
    """Give files to one reviewer of the pool (never a conflicted one): all or none.
    A refusal names the file (its reference). The reviewer gets one e-mail listing
    the files."""
    async with write_transaction():
        if not await PoolMember.exists().where(
            (PoolMember.call == call_id) & (PoolMember.reviewer == reviewer_id)
        ):
            raise ReviewError("not_a_reviewer", NOT_A_REVIEWER, field="reviewer")
        if not app_ids:
            raise ReviewError(
                "not_assignable", N_("This file is not waiting for review."), field="application"
            )
        apps = {
            a["id"]: a
            for a in await Application.select(
                Application.id,
                Application.reference,
                Application.organisation,
                Application.status,
            ).where((Application.id.is_in(list(app_ids))) & (Application.call == call_id))
        }
        conflicted = {
            c["organisation"]
            for c in await Conflict.select(Conflict.organisation).where(
                Conflict.reviewer == reviewer_id
            )
        }
        already = {
            a["application"]
            for a in await Assignment.select(Assignment.application).where(
                (Assignment.reviewer == reviewer_id) & Assignment.application.is_in(list(app_ids))
            )
        }
        for app_id in app_ids:
            app = apps.get(app_id)
            if app is None or app["status"] not in ASSIGNABLE_BY_HAND:
                raise _refused(
                    "not_assignable",
                    N_("%(reference)s : This file is not waiting for review."),
                    N_("This file is not waiting for review."),
                    app and app["reference"],
                )
            if app["organisation"] in conflicted:
                raise _refused(
                    "conflicted",
                    N_(
                        "%(reference)s : This reviewer has a conflict of interest with this organisation."
                    ),
                    N_("This reviewer has a conflict of interest with this organisation."),
                    app["reference"],
                )
            if app_id in already:
                raise _refused(
                    "already_assigned",
                    N_("%(reference)s : This reviewer already has this file."),
                    N_("This reviewer already has this file."),
                    app["reference"],
                )
        await insert_many(
            Assignment,
            (
                Assignment(application=app_id, reviewer=reviewer_id, assigned_by=actor.user_id)
                for app_id in apps
            ),
        )
        review = APPLICATION.step("start_review", "officer")
        await Application.update({Application.status: review.target}).where(
            Application.id.is_in(list(apps)) & Application.status.is_in(list(review.sources))
        )
        for app_id in apps:
            await audit.record_by(
                actor, "reviews.assigned", "application", app_id, reviewer=reviewer_id
            )
            await follow_reviews(app_id, actor)  # a reviewed file is under review again
        await notify_assigned(((app_id, reviewer_id) for app_id in apps), base_url=base_url)


async def unassign(assignment_id: int, *, actor: Actor) -> int:
    """An officer takes a file back from a reviewer who has not submitted (to give it
    to someone else with the automatic assignment). Returns the file's id."""
    async with write_transaction():
        row = (
            await Assignment.select(
                Assignment.application, Assignment.reviewer, Assignment.submitted_at
            )
            .where(Assignment.id == assignment_id)
            .first()
        )
        if row is None:
            raise ReviewError("not_found", NOT_FOUND)
        if not REVIEW.can("unassign", state_of(row["submitted_at"]), "officer"):
            raise ReviewError("already_submitted", ALREADY_SUBMITTED)
        await Assignment.delete().where(Assignment.id == assignment_id)
        await audit.record_by(
            actor, "reviews.unassigned", "application", row["application"], reviewer=row["reviewer"]
        )
        await follow_reviews(row["application"], actor, after_removal=True)
    return row["application"]
