"""Review: settings per call, the reviewer pool, conflicts of interest, assignment
(automatic, with a preview), scoring and the ranking. No HTTP here.

A conflicted reviewer never sees an organisation's file: the queries that give a
reviewer a file filter conflicts out (``assignment_for``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from piccolo.querystring import QueryString

from app.accounts.services import Actor, CurrentUser
from app.accounts.tables import RoleGrant, StaffRole, User
from app.applications import states
from app.applications.tables import Application, ApplicationStatus
from app.calls import services as calls
from app.core import audit
from app.core.db import for_update, write_transaction
from app.core.numbers import NumberError, parse_decimal, whole_number
from app.core.outbox import enqueue_email
from app.core.periodic import periodic_lifespan
from app.core.time import TimeError, parse_paris
from app.organisations.tables import Organisation
from app.reviews import aggregation
from app.reviews.assignment import AssignmentPlan, auto_assign
from app.reviews.tables import Assignment, Conflict, FileMark, PoolMember, ReviewSettings

OPINIONS = ("favourable", "reserved", "unfavourable")
ASSIGNABLE = (ApplicationStatus.eligible.value, ApplicationStatus.in_review.value)
# By hand, a reviewed file may also get one more reviewer (a third opinion).
ASSIGNABLE_BY_HAND = (*ASSIGNABLE, ApplicationStatus.reviewed.value)


class ReviewError(ValueError):
    def __init__(self, code: str, detail: Any = None):
        super().__init__(code)
        self.code = code
        self.detail = detail


def now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})


async def _audit(
    action: str, actor: Actor, object_type: str, object_id: int, **summary: Any
) -> None:
    await audit.record_by(actor, action, object_type, object_id, **summary)


# --- Settings and pool ---------------------------------------------------------------------


DEFAULTS = {
    "reviews_wanted": 2,
    "due_at": None,
    "blind": False,
    "visibility": "after_own",
    "rank_by": "mean",
    "threshold_hundredths": 400,
}


async def settings_for(call_id: int) -> dict:
    row = await ReviewSettings.select().where(ReviewSettings.call == call_id).first()
    return row or {**DEFAULTS, "call": call_id}


async def save_settings(call_id: int, values: dict[str, Any], *, actor: Actor) -> None:
    """reviews_wanted 1–10, rank by mean or median, threshold in hundredths /20."""
    wanted = whole_number(str(values.get("reviews_wanted", "")))
    if wanted is None or not 1 <= wanted <= 10:
        raise ReviewError("reviews_wanted")
    if values.get("rank_by") not in ("mean", "median"):
        raise ReviewError("rank_by")
    if values.get("visibility") not in ("never", "after_own", "always"):
        raise ReviewError("visibility")
    try:
        threshold = parse_decimal(str(values.get("threshold", "")))
    except NumberError:
        raise ReviewError("threshold") from None
    if not 0 <= threshold <= 20:
        raise ReviewError("threshold")
    due_at = None
    if values.get("due_at"):
        try:
            due_at = parse_paris(values["due_at"])
        except TimeError as exc:
            raise ReviewError(exc.code) from None
    columns = {
        ReviewSettings.reviews_wanted: wanted,
        ReviewSettings.rank_by: values["rank_by"],
        ReviewSettings.visibility: values["visibility"],
        ReviewSettings.blind: values.get("blind") == "yes",
        ReviewSettings.threshold_hundredths: int(threshold * 100),
        ReviewSettings.due_at: due_at,
    }
    async with write_transaction():
        if await ReviewSettings.exists().where(ReviewSettings.call == call_id):
            await ReviewSettings.update(columns).where(ReviewSettings.call == call_id)
        else:
            await ReviewSettings.insert(
                ReviewSettings(call=call_id, **{c._meta.name: v for c, v in columns.items()})
            )
        await _audit("reviews.settings_changed", actor, "call", call_id, wanted=wanted)


async def reviewers() -> list[dict]:
    """Active people with the reviewer role."""
    ids = RoleGrant.select(RoleGrant.user).where(RoleGrant.role == StaffRole.reviewer.value)
    return (
        await User.select(User.id, User.full_name, User.email)
        .where(User.id.is_in(ids) & (User.is_active.eq(True)))
        .order_by(User.full_name)
    )


async def pool(call_id: int) -> list[dict]:
    return (
        await PoolMember.select(
            PoolMember.id,
            PoolMember.reviewer.id.as_alias("reviewer_id"),
            PoolMember.reviewer.full_name.as_alias("full_name"),
            PoolMember.reviewer.email.as_alias("email"),
        )
        .where(PoolMember.call == call_id)
        .order_by(PoolMember.reviewer.full_name)
    )


async def add_to_pool(call_id: int, reviewer_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        if reviewer_id not in {r["id"] for r in await reviewers()}:
            raise ReviewError("not_a_reviewer")
        if not await PoolMember.exists().where(
            (PoolMember.call == call_id) & (PoolMember.reviewer == reviewer_id)
        ):
            await PoolMember.insert(PoolMember(call=call_id, reviewer=reviewer_id))
            await _audit("reviews.pool_added", actor, "call", call_id, reviewer=reviewer_id)


async def record_conflict(
    reviewer_id: int, organisation_id: int, reason: str, *, actor: Actor
) -> None:
    """A conflict of interest, declared by the reviewer or recorded by an officer."""
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
            await _audit(
                "reviews.conflict_recorded",
                actor,
                "organisation",
                organisation_id,
                reviewer=reviewer_id,
            )
        # Unsubmitted assignments on the organisation's files go, so others can be given.
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
            await _audit(
                "reviews.unassigned_for_conflict",
                actor,
                "application",
                p["application"],
                reviewer=reviewer_id,
            )
            await _follow_reviews(p["application"], actor)


async def links_of(reviewer_id: int) -> list[dict]:
    """The organisations a reviewer is linked to (declared by them or by an officer)."""
    return await (
        Conflict.select(
            Conflict.id,
            Conflict.reason,
            Conflict.created_at,
            Conflict.organisation.name.as_alias("organisation_name"),
            Conflict.organisation.city.as_alias("organisation_city"),
        )
        .where(Conflict.reviewer == reviewer_id)
        .order_by(Conflict.organisation.name)
    )


async def conflicts_on(organisation_id: int) -> list[dict]:
    """The reviewers who declared (or were recorded with) a link to an organisation."""
    return await (
        Conflict.select(
            Conflict.reason,
            Conflict.created_at,
            Conflict.reviewer.full_name.as_alias("reviewer_name"),
        )
        .where(Conflict.organisation == organisation_id)
        .order_by(Conflict.created_at)
    )


async def find_organisations(query: str, *, limit: int = 20) -> list[dict]:
    """Organisations whose name contains the query, or whose SIRET is the query."""
    text = query.strip()
    if len(text) < 2:
        return []
    return await (
        Organisation.select(Organisation.id, Organisation.name, Organisation.city)
        .where(Organisation.name.ilike(f"%{text}%") | (Organisation.siret == text.replace(" ", "")))
        .order_by(Organisation.name)
        .limit(limit)
    )


async def conflicts(call_id: int) -> list[dict]:
    """Conflicts of the call's pool with organisations that applied to it."""
    members = PoolMember.select(PoolMember.reviewer).where(PoolMember.call == call_id)
    organisations = Application.select(Application.organisation).where(Application.call == call_id)
    return await Conflict.select(
        Conflict.id,
        Conflict.reason,
        Conflict.reviewer.full_name.as_alias("reviewer_name"),
        Conflict.organisation.name.as_alias("organisation_name"),
    ).where(Conflict.reviewer.is_in(members) & Conflict.organisation.is_in(organisations))


# --- Assignment -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    plan: AssignmentPlan
    fingerprint: str
    references: dict[int, str]
    names: dict[int, str]


async def preview(call_id: int) -> Preview:
    """What automatic assignment would add now (nothing is saved)."""
    settings = await settings_for(call_id)
    apps = (
        await Application.select(Application.id, Application.reference, Application.organisation)
        .where((Application.call == call_id) & Application.status.is_in(list(ASSIGNABLE)))
        .order_by(Application.id)
    )
    members = await pool(call_id)
    reviewer_ids = [m["reviewer_id"] for m in members]
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
        list(org_of), reviewer_ids, settings["reviews_wanted"], existing_pairs, conflict_pairs
    )
    fingerprint = hashlib.sha256(
        json.dumps(
            [
                sorted(org_of),
                reviewer_ids,
                sorted(existing_pairs),
                sorted(conflict_pairs),
                settings["reviews_wanted"],
            ]
        ).encode()
    ).hexdigest()
    return Preview(
        plan=plan,
        fingerprint=fingerprint,
        references={a["id"]: a["reference"] or str(a["id"]) for a in apps},
        names={m["reviewer_id"]: m["full_name"] for m in members},
    )


async def apply_preview(call_id: int, fingerprint: str, *, actor: Actor) -> int:
    """Save the previewed plan, if nothing changed since the preview; the files with
    reviewers go « under review »."""
    async with write_transaction():
        current = await preview(call_id)
        if current.fingerprint != fingerprint:
            raise ReviewError("changed")
        for app_id, reviewer_id in current.plan.new_pairs:
            await Assignment.insert(
                Assignment(application=app_id, reviewer=reviewer_id, assigned_by=actor.user_id)
            )
            await _audit("reviews.assigned", actor, "application", app_id, reviewer=reviewer_id)
        touched = sorted({app_id for app_id, _r in current.plan.new_pairs})
        if touched:
            review = states.APPLICATION.step("start_review", "officer")
            await Application.update(
                {Application.status: review.target, Application.updated_at: now()}
            ).where(Application.id.is_in(touched) & Application.status.is_in(list(review.sources)))
    return len(current.plan.new_pairs)


# --- Reviewers ----------------------------------------------------------------------------------


async def due_dates(call_ids: set[int]) -> dict[int, datetime]:
    rows = await ReviewSettings.select(ReviewSettings.call, ReviewSettings.due_at).where(
        ReviewSettings.call.is_in(sorted(call_ids) or [0]) & ReviewSettings.due_at.is_not_null()
    )
    return {r["call"]: r["due_at"] for r in rows}


def _mine(reviewer_id: int):
    """The reviewer's assignments, without files of organisations they declared a link
    with."""
    conflicted = Conflict.select(Conflict.organisation).where(Conflict.reviewer == reviewer_id)
    return (Assignment.reviewer == reviewer_id) & Assignment.application.organisation.not_in(
        conflicted
    )


async def my_assignment_counts(reviewer_id: int) -> tuple[int, int]:
    """(reviewed, assigned) for the reviewer's dashboard."""
    total = await Assignment.count().where(_mine(reviewer_id))
    done = await Assignment.count().where(
        _mine(reviewer_id) & Assignment.submitted_at.is_not_null()
    )
    return done, total


async def my_assignments(reviewer_id: int, *, limit: int, offset: int = 0) -> list[dict]:
    """One page of the reviewer's files, those still to review first."""
    return (
        await Assignment.select(
            Assignment.id,
            Assignment.submitted_at,
            Assignment.updated_at,
            Assignment.application.reference.as_alias("reference"),
            Assignment.application.title.as_alias("title"),
            Assignment.application.call.title.as_alias("call_title"),
            Assignment.application.call.id.as_alias("call_id"),
        )
        .where(_mine(reviewer_id))
        # To review first (NULLs sort differently on SQLite and PostgreSQL: say it).
        .order_by(
            QueryString(f'"{Assignment._meta.tablename}"."submitted_at" IS NOT NULL'),
            Assignment.id,
        )
        .limit(limit)
        .offset(offset)
    )


async def assignment_for(reviewer: CurrentUser, assignment_id: int) -> dict | None:
    """The reviewer's own assignment, never one on an organisation they are conflicted
    with (None: answered as 404)."""
    conflicted = Conflict.select(Conflict.organisation).where(Conflict.reviewer == reviewer.id)
    row = (
        await Assignment.select(
            *Assignment.all_columns(),
            Assignment.application.id.as_alias("application_id"),
            Assignment.application.call.id.as_alias("call_id"),
            Assignment.application.organisation.id.as_alias("organisation_id"),
        )
        .where(
            (Assignment.id == assignment_id)
            & (Assignment.reviewer == reviewer.id)
            & Assignment.application.organisation.not_in(conflicted)
        )
        .first()
    )
    if row:
        row["scores"] = _json(row["scores"])
    return row


def _criteria(call: dict) -> list[aggregation.Criterion]:
    return [
        aggregation.Criterion(key=c["key"], title=c["title"], weight=c["weight"], scale=c["scale"])
        for c in call["rubric"]
    ]


def clean_scores(
    call: dict, raw: dict[str, str], *, complete: bool
) -> tuple[dict[str, int], dict[str, str]]:
    """Marks typed for each criterion (0 to its scale); all of them when submitting."""
    scores: dict[str, int] = {}
    errors: dict[str, str] = {}
    for criterion in call["rubric"]:
        text = (raw.get(f"score_{criterion['key']}") or "").strip()
        if not text:
            if complete:
                errors[criterion["key"]] = "score_missing"
            continue
        score = whole_number(text)
        if score is None or not 0 <= score <= criterion["scale"]:
            errors[criterion["key"]] = "score_range"
            continue
        scores[criterion["key"]] = score
    return scores, errors


async def save_review(
    assignment_id: int, raw: dict[str, str], *, reviewer: CurrentUser, submit: bool, actor: Actor
) -> None:
    """Save a draft, or submit (every criterion, an opinion); a submitted review is
    changed only after an officer reopens it."""
    async with write_transaction():
        assignment = await assignment_for(reviewer, assignment_id)
        if assignment is None:
            raise ReviewError("not_found")
        if assignment["submitted_at"] is not None:
            raise ReviewError("already_submitted")
        call = await calls.get_call(assignment["call_id"])
        scores, errors = clean_scores(call, raw, complete=submit)
        opinion = raw.get("opinion", "")
        if submit and opinion not in OPINIONS:
            errors["opinion"] = "opinion"
        if errors:
            raise ReviewError("invalid", errors)
        await Assignment.update(
            {
                Assignment.scores: json.dumps(scores),
                Assignment.opinion: opinion if opinion in OPINIONS else "",
                Assignment.comment_staff: (raw.get("comment_staff") or "").strip()[:5000],
                Assignment.comment_applicant: (raw.get("comment_applicant") or "").strip()[:5000],
                Assignment.updated_at: now(),
                Assignment.submitted_at: now() if submit else None,
            }
        ).where(Assignment.id == assignment_id)
        if submit:
            await calls.lock_rubric(assignment["call_id"])
            await _store_mark(assignment["application_id"], assignment["call_id"])
            await _follow_reviews(assignment["application_id"], actor)
        await _audit(
            "reviews.submitted" if submit else "reviews.saved",
            actor,
            "application",
            assignment["application_id"],
            scores=scores,
        )


# --- Ranking ----------------------------------------------------------------------------------------


RANKING_SORTS = ("rank", "requested", "reference", "spread")
# The files the ranking shows: from screened eligible to the committee's decision.
RANKED = ("eligible", "in_review", "reviewed", "waitlisted", "awarded", "rejected")


@dataclass(frozen=True, slots=True)
class Mark:
    """A file's row in the ranking: its number of submitted reviews and, out of 20,
    their mean, median, spread and the value it is ranked by (None without reviews)."""

    reviews: int
    mean: Decimal | None
    median: Decimal | None
    spread: Decimal | None
    ranking: Decimal | None
    disagreement: bool


def _basis(rubric: tuple[aggregation.Criterion, ...], rank_by: str, threshold: Decimal) -> str:
    """What a stored mark was computed with, as a short digest."""
    text = json.dumps([[(c.key, c.weight, c.scale) for c in rubric], rank_by, str(threshold)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _hundredths(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


def _decimal(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 100


async def _marks_of(app_ids: list[int], call: dict, settings: dict) -> dict[int, FileMark]:
    """Compute the marks of ``app_ids`` from their submitted reviews (as FileMark rows,
    not saved)."""
    rubric = tuple(_criteria(call))
    threshold = Decimal(settings["threshold_hundredths"]) / 100
    basis = _basis(rubric, settings["rank_by"], threshold)
    reviews: dict[int, list[str]] = {app_id: [] for app_id in app_ids}
    for row in await Assignment.select(Assignment.application, Assignment.scores).where(
        Assignment.application.is_in(app_ids) & Assignment.submitted_at.is_not_null()
    ):
        scores = row["scores"]
        reviews[row["application"]].append(
            scores if isinstance(scores, str) else json.dumps(scores, sort_keys=True)
        )
    marks = {}
    for app_id, texts in reviews.items():
        result = _aggregate(tuple(sorted(texts)), rubric, settings["rank_by"], threshold)
        marks[app_id] = FileMark(
            application=app_id,
            basis=basis,
            reviews=result.reviews,
            mean=_hundredths(result.mean),
            median=_hundredths(result.median),
            spread=_hundredths(result.spread),
            ranking=_hundredths(result.ranking),
            disagreement=result.disagreement,
        )
    return marks


async def _store_mark(app_id: int, call_id: int) -> None:
    """Inside the transaction that submitted or reopened one of its reviews: the file's
    mark again. The file's row is locked first, so that two reviews of one file
    submitted at once each count the other (PostgreSQL)."""
    await for_update(Application.select(Application.id).where(Application.id == app_id))
    call = await calls.get_call(call_id)
    if not call["rubric"]:
        return
    mark = (await _marks_of([app_id], call, await settings_for(call_id)))[app_id]
    await FileMark.delete().where(FileMark.application == app_id)
    await FileMark.insert(mark)


async def _follow_reviews(app_id: int, actor: Actor) -> None:
    """Inside the transaction that changed a file's reviews or reviewers: « under
    review » becomes « reviewed » once every assigned review is submitted, and goes
    back when one is reopened or a reviewer is added."""
    app = await Application.select(Application.status).where(Application.id == app_id).first()
    rows = await Assignment.select(Assignment.submitted_at).where(Assignment.application == app_id)
    complete = bool(rows) and all(r["submitted_at"] is not None for r in rows)
    for action in ("reviews_complete", "reviews_reopened"):
        if states.APPLICATION.can(action, app["status"], "system") and complete == (
            action == "reviews_complete"
        ):
            await Application.update(
                {
                    Application.status: states.APPLICATION.target(action),
                    Application.updated_at: now(),
                }
            ).where(Application.id == app_id)
            await _audit(f"applications.{action}", actor, "application", app_id)


async def ranking(
    call_id: int,
    *,
    status: str = "",
    disagreement: bool = False,
    reviewer: int | None = None,
    sort: str = "rank",
) -> list[dict]:
    """Each file under review or decided (RANKED) with its mark, filtered by status, disagreement or reviewer, best first by default; the
    running total of the amounts requested follows the order shown. Marks are read as
    stored; those missing or computed with another rubric or settings are computed and
    stored first (a file's reviews are read only then)."""
    call = await calls.get_call(call_id)
    settings = await settings_for(call_id)
    apps = await Application.select(
        Application.id,
        Application.reference,
        Application.title,
        Application.requested_cents,
        Application.status,
        Application.organisation.name.as_alias("organisation_name"),
    ).where((Application.call == call_id) & Application.status.is_in(list(RANKED)))
    marks: dict[int, dict] = {}
    if call["rubric"]:
        basis = _basis(
            tuple(_criteria(call)),
            settings["rank_by"],
            Decimal(settings["threshold_hundredths"]) / 100,
        )
        marks = {
            m["application"]: m
            for m in await FileMark.select().where(
                (FileMark.application.call == call_id) & (FileMark.basis == basis)
            )
        }
        if stale := [a["id"] for a in apps if a["id"] not in marks]:
            marks.update(await _refresh_marks(stale, call, settings, basis))
    reviewed_by = None
    if reviewer is not None:
        reviewed_by = {
            r["application"]
            for r in await Assignment.select(Assignment.application).where(
                (Assignment.reviewer == reviewer) & (Assignment.application.call == call_id)
            )
        }
    rows = []
    for app in apps:
        if status and app["status"] != status:
            continue
        if reviewed_by is not None and app["id"] not in reviewed_by:
            continue
        m = marks.get(app["id"])
        mark = m and Mark(
            reviews=m["reviews"],
            mean=_decimal(m["mean"]),
            median=_decimal(m["median"]),
            spread=_decimal(m["spread"]),
            ranking=_decimal(m["ranking"]),
            disagreement=m["disagreement"],
        )
        if disagreement and not (mark and mark.disagreement):
            continue
        rows.append({**app, "aggregate": mark})

    def by_rank(r: dict) -> tuple:
        value = r["aggregate"].ranking if r["aggregate"] else None
        return (value is None, -(value or 0), r["id"])

    keys = {
        "rank": by_rank,
        "requested": lambda r: (-r["requested_cents"], r["id"]),
        "reference": lambda r: (r["reference"] or "", r["id"]),
        "spread": lambda r: (-(r["aggregate"].spread or 0) if r["aggregate"] else 0, r["id"]),
    }
    rows.sort(key=keys.get(sort, by_rank))
    running = 0
    for row in rows:
        running += row["requested_cents"]
        row["running_total"] = running
    return rows


async def _refresh_marks(
    app_ids: list[int], call: dict, settings: dict, basis: str
) -> dict[int, dict]:
    """Compute and store the marks of files that had no current one (read again in
    the transaction: a concurrent request may have stored them). A review submitted
    meanwhile stores its file's mark with the current basis: that row is kept (never
    deleted, and the insert gives way to it)."""
    async with write_transaction():
        current = {
            m["application"]: m
            for m in await FileMark.select().where(
                FileMark.application.is_in(app_ids) & (FileMark.basis == basis)
            )
        }
        if missing := [app_id for app_id in app_ids if app_id not in current]:
            computed = await _marks_of(missing, call, settings)
            await FileMark.delete().where(
                FileMark.application.is_in(missing) & (FileMark.basis != basis)
            )
            await FileMark.insert(*computed.values()).on_conflict(
                target=FileMark.application, action="DO NOTHING"
            )
            current.update({app_id: mark.to_dict() for app_id, mark in computed.items()})
    return current


# --- Declining, reopening, removing ----------------------------------------------------------


@lru_cache(maxsize=20_000)
def _aggregate(
    reviews: tuple[str, ...],
    rubric: tuple[aggregation.Criterion, ...],
    rank_by: str,
    threshold: Decimal,
) -> aggregation.Aggregate:
    """The aggregate of a file's reviews (their scores as stored, JSON). A pure
    function of its arguments, remembered: when a call's settings change back and
    forth, its marks are not all computed again."""
    return aggregation.aggregate(
        [json.loads(r) for r in reviews],
        rubric,
        rank_by=rank_by,
        disagreement_threshold=threshold,
    )


async def decline_with_conflict(
    assignment_id: int, reason: str, *, reviewer: CurrentUser, actor: Actor
) -> None:
    """A reviewer declares a conflict with the file's organisation, saying what links
    them (for the officers): the conflict is recorded and the (unsubmitted) assignment
    removed, so another reviewer can be given."""
    if not reason.strip():
        raise ReviewError("conflict_reason")
    async with write_transaction():
        assignment = await assignment_for(reviewer, assignment_id)
        if assignment is None:
            raise ReviewError("not_found")
        if assignment["submitted_at"] is not None:
            raise ReviewError("already_submitted")
        # Recording the conflict removes this assignment with any other on the organisation.
        await record_conflict(reviewer.id, assignment["organisation_id"], reason, actor=actor)
        await _audit(
            "reviews.declined",
            actor,
            "application",
            assignment["application_id"],
            reviewer=reviewer.id,
        )


async def reviews_of(app_id: int) -> list[dict]:
    """Every assignment of a file with its review (for the staff)."""
    rows = (
        await Assignment.select(
            Assignment.id,
            Assignment.scores,
            Assignment.opinion,
            Assignment.comment_staff,
            Assignment.comment_applicant,
            Assignment.submitted_at,
            Assignment.reviewer.full_name.as_alias("reviewer_name"),
        )
        .where(Assignment.application == app_id)
        .order_by(Assignment.id)
    )
    for row in rows:
        row["scores"] = _json(row["scores"])
    return rows


async def file_aggregate(call: dict, reviews: list[dict]) -> aggregation.Aggregate | None:
    """What the submitted reviews of one file say together (None without a rubric)."""
    rubric = _criteria(call)
    if not rubric:
        return None
    settings = await settings_for(call["id"])
    return aggregation.aggregate(
        [r["scores"] for r in reviews if r["submitted_at"] is not None],
        rubric,
        rank_by=settings["rank_by"],
        disagreement_threshold=Decimal(settings["threshold_hundredths"]) / 100,
    )


async def reopen(assignment_id: int, *, actor: Actor) -> None:
    """An officer reopens a submitted review so that its reviewer can change it."""
    async with write_transaction():
        row = (
            await Assignment.select(
                Assignment.application,
                Assignment.application.call.as_alias("call"),
                Assignment.submitted_at,
            )
            .where(Assignment.id == assignment_id)
            .first()
        )
        if row is None:
            raise ReviewError("not_found")
        await Assignment.update(
            {Assignment.submitted_at: None, Assignment.updated_at: now()}
        ).where(Assignment.id == assignment_id)
        if row["submitted_at"] is not None:
            await _store_mark(row["application"], row["call"])
            await _follow_reviews(row["application"], actor)
        await _audit(
            "reviews.reopened", actor, "application", row["application"], assignment=assignment_id
        )


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
            raise ReviewError("not_found")
        if row["submitted_at"] is not None:
            raise ReviewError("already_submitted")
        await Assignment.delete().where(Assignment.id == assignment_id)
        await _audit(
            "reviews.unassigned", actor, "application", row["application"], reviewer=row["reviewer"]
        )
        await _follow_reviews(row["application"], actor)
    return row["application"]


async def other_reviews(assignment: dict, settings: dict) -> list[dict]:
    """The other submitted reviews of the same file, as the call allows reviewers to
    see them: never, after submitting their own, or always."""
    visibility = settings["visibility"]
    if visibility == "never" or (visibility == "after_own" and assignment["submitted_at"] is None):
        return []
    rows = await Assignment.select(
        Assignment.scores, Assignment.opinion, Assignment.comment_staff
    ).where(
        (Assignment.application == assignment["application_id"])
        & (Assignment.id != assignment["id"])
        & Assignment.submitted_at.is_not_null()
    )
    for row in rows:
        row["scores"] = _json(row["scores"])
    return rows


def live_mark(call: dict, raw: dict[str, str]) -> Decimal | None:
    """The weighted mark /20 of what is typed so far, when every criterion has a mark."""
    scores, errors = clean_scores(call, raw, complete=True)
    if errors or not call["rubric"]:
        return None
    return aggregation.weighted_mark(scores, _criteria(call))


async def assign_manually(
    app_ids: Sequence[int], reviewer_id: int, *, call_id: int, actor: Actor
) -> None:
    """Give files to one reviewer of the pool (never a conflicted one): all or none.

    A refusal names the file in ``ReviewError.detail`` (its reference)."""
    async with write_transaction():
        if not await PoolMember.exists().where(
            (PoolMember.call == call_id) & (PoolMember.reviewer == reviewer_id)
        ):
            raise ReviewError("not_a_reviewer")
        if not app_ids:
            raise ReviewError("not_assignable")
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
                raise ReviewError("not_assignable", app and app["reference"])
            if app["organisation"] in conflicted:
                raise ReviewError("conflicted", app["reference"])
            if app_id in already:
                raise ReviewError("already_assigned", app["reference"])
        await Assignment.insert(
            *(
                Assignment(application=app_id, reviewer=reviewer_id, assigned_by=actor.user_id)
                for app_id in apps
            )
        )
        review = states.APPLICATION.step("start_review", "officer")
        await Application.update({Application.status: review.target}).where(
            Application.id.is_in(list(apps)) & Application.status.is_in(list(review.sources))
        )
        for app_id in apps:
            await _audit("reviews.assigned", actor, "application", app_id, reviewer=reviewer_id)
            await _follow_reviews(app_id, actor)  # a reviewed file is under review again


async def assignable_files(call_id: int) -> list[dict]:
    return (
        await Application.select(Application.id, Application.reference, Application.title)
        .where((Application.call == call_id) & Application.status.is_in(list(ASSIGNABLE_BY_HAND)))
        .order_by(Application.reference)
    )


async def scores_export_rows(call_id: int) -> tuple[list[str], list[list[Any]]]:
    """Every submitted review of the call: file, reviewer, marks, opinion, comments."""
    call = await calls.get_call(call_id)
    rows = (
        await Assignment.select(
            Assignment.scores,
            Assignment.opinion,
            Assignment.comment_staff,
            Assignment.comment_applicant,
            Assignment.submitted_at,
            Assignment.application.reference.as_alias("reference"),
            Assignment.application.organisation.name.as_alias("organisation"),
            Assignment.reviewer.full_name.as_alias("reviewer"),
        )
        .where((Assignment.application.call == call_id) & Assignment.submitted_at.is_not_null())
        .order_by(Assignment.application.reference)
    )
    header = [
        "reference",
        "organisation",
        "reviewer",
        *[c["title"] for c in call["rubric"]],
        "mark_20",
        "opinion",
        "comment_staff",
        "comment_applicant",
    ]
    lines = []
    for row in rows:
        scores = _json(row["scores"])
        mark = live_mark(call, {f"score_{k}": str(v) for k, v in scores.items()})
        lines.append(
            [
                row["reference"],
                row["organisation"],
                row["reviewer"],
                *[scores.get(c["key"], "") for c in call["rubric"]],
                mark,
                row["opinion"],
                row["comment_staff"],
                row["comment_applicant"],
            ]
        )
    return header, lines


# --- Reminders ----------------------------------------------------------------------------------

REMIND_BEFORE = timedelta(days=3)


async def send_reminders(at: datetime | None = None, *, base_url: str) -> int:
    """E-mail reviewers whose reviews are not submitted: once in the three days before
    the due date, once after it. Safe with several workers: a reminder is claimed by
    the conditional update that records it, in the transaction that writes the e-mail."""
    at = at or now()
    sent = 0
    due = await ReviewSettings.select(ReviewSettings.call, ReviewSettings.due_at).where(
        ReviewSettings.due_at.is_not_null()
    )
    for row in due:
        if at < row["due_at"] - REMIND_BEFORE:
            continue
        column = (
            Assignment.reminded_before_at if at < row["due_at"] else Assignment.reminded_after_at
        )
        kind = "before" if at < row["due_at"] else "after"
        pending = await Assignment.select(Assignment.id).where(
            (Assignment.application.call == row["call"])
            & Assignment.submitted_at.is_null()
            & column.is_null()
        )
        for assignment in pending:
            async with write_transaction():
                claimed = (
                    await Assignment.update({column: at})
                    .where(
                        (Assignment.id == assignment["id"])
                        & column.is_null()
                        & Assignment.submitted_at.is_null()
                    )
                    .returning(Assignment.id)
                )
                if not claimed:
                    continue
                person = (
                    await Assignment.select(
                        Assignment.reviewer.email.as_alias("email"),
                        Assignment.reviewer.language.as_alias("language"),
                        Assignment.application.reference.as_alias("reference"),
                    )
                    .where(Assignment.id == assignment["id"])
                    .first()
                )
                await enqueue_email(
                    to=person["email"],
                    template=f"review_reminder_{kind}",
                    language=person["language"],
                    context={
                        "reference": person["reference"],
                        "due": row["due_at"].isoformat(),
                        "url": f"{base_url}/evaluation/{assignment['id']}",
                    },
                )
                sent += 1
    return sent


def reminders_lifespan(settings, *, every_s: float = 3600):
    """For ``Litestar(lifespan=[...])``: send due reminders every hour (off in tests)."""
    return periodic_lifespan(
        settings,
        "review-reminders",
        lambda: send_reminders(base_url=settings.base_url),
        every_s=every_s,
    )
