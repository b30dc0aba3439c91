"""Scoring: the reviewer's files and reviews (drafts, submission), the officer's
reopening, and what a file's reviews do to its state.

A conflicted reviewer never sees an organisation's file: every query that gives a
reviewer a file filters their declared links out (``assignment_for``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from piccolo.query.functions.aggregate import Count
from piccolo.querystring import QueryString

from app.accounts.services import CurrentUser
from app.applications import services as applications
from app.applications.states import APPLICATION
from app.applications.tables import Application
from app.calls import services as calls
from app.core import audit
from app.core.audit import Actor
from app.core.db import prepared, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.numbers import whole_number
from app.core.time import now
from app.permissions import funders_for
from app.reviews import aggregation, marks
from app.reviews.errors import ReviewError
from app.reviews.settings import ReviewSetup, due_dates, settings_for
from app.reviews.states import REVIEW, state_of
from app.reviews.tables import Assignment, Conflict

OPINIONS = ("favourable", "reserved", "unfavourable")
OPINION_LABELS = {
    "favourable": N_("favourable"),
    "reserved": N_("reserved"),
    "unfavourable": N_("unfavourable"),
}
NOT_FOUND = N_("Not found.")
ABOVE_SCALE = N_("This mark is above the maximum: give a mark between 0 and %(scale)d.")
ALREADY_SUBMITTED = N_("This review is submitted: an officer must reopen it before it changes.")


# --- Read models ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewAssignment:
    """A reviewer's assignment to a file, with their review (draft or submitted)."""

    id: int
    application_id: int
    call_id: int
    organisation_id: int
    reviewer_id: int
    scores: Mapping[str, int]
    opinion: str
    comment_staff: str
    comment_applicant: str
    submitted_at: datetime | None
    updated_at: datetime | None

    @property
    def state(self) -> str:
        return state_of(self.submitted_at)

    @property
    def actions(self) -> frozenset[str]:
        """What its reviewer may do with it now (``states.REVIEW``)."""
        return REVIEW.allowed(self.state, "reviewer")

    def form_values(self) -> dict[str, str]:
        """The review as the form shows it (``score_<criterion>``, opinion, comments)."""
        return {
            **{f"score_{k}": str(v) for k, v in self.scores.items()},
            "opinion": self.opinion,
            "comment_staff": self.comment_staff,
            "comment_applicant": self.comment_applicant,
        }


@dataclass(frozen=True, slots=True)
class FileUnderReview:
    """What a reviewer reads of an assigned file: its answers, its budget, the amount
    requested; the organisation's name only when the review is not blind."""

    id: int
    reference: str
    title: str
    organisation_name: str | None
    funder_name: str
    requested_cents: int
    answers: Mapping[str, Any]
    budget: Mapping[str, Any]
    form: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class MyReview:
    """A row of the reviewer's dashboard."""

    id: int
    reference: str | None
    title: str
    call_id: int
    call_title: str
    submitted_at: datetime | None
    updated_at: datetime | None
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class OtherReview:
    """Another reviewer's submitted review of the same file, as a reviewer sees it."""

    scores: Mapping[str, int]
    opinion: str
    comment_staff: str


@dataclass(frozen=True, slots=True)
class FileReview:
    """One review of a file as officers read it, with what they may do with it."""

    id: int
    reviewer_name: str
    scores: Mapping[str, int]
    opinion: str
    comment_staff: str
    comment_applicant: str
    submitted_at: datetime | None
    mark: Decimal | None = None  # out of 20, when every criterion has a mark
    actions: frozenset[str] = field(default_factory=frozenset)


# --- Marks typed ------------------------------------------------------------------------


def clean_scores(
    rubric: Sequence[Mapping[str, Any]], raw: Mapping[str, str], *, complete: bool
) -> tuple[dict[str, int], dict[str, str]]:
    """Marks typed for each criterion (0 to its scale); all of them when submitting.
    Returns the marks and the problems (form field ``score_<key>`` → message)."""
    scores: dict[str, int] = {}
    problems: dict[str, str] = {}
    for criterion in rubric:
        name = f"score_{criterion['key']}"
        text = (raw.get(name) or "").strip()
        if not text:
            if complete:
                problems[name] = N_("Give a mark for this criterion.")
            continue
        score = whole_number(text)
        if score is not None and score > criterion["scale"]:
            # Filled with the criterion's scale where it is shown (``%(scale)d``).
            problems[name] = ABOVE_SCALE
            continue
        if score is None or score < 0:
            problems[name] = N_("Give a whole mark between 0 and the criterion's maximum.")
            continue
        scores[criterion["key"]] = score
    return scores, problems


def live_mark(rubric: Sequence[Mapping[str, Any]], raw: Mapping[str, str]) -> Decimal | None:
    """The weighted mark /20 of what is typed so far, when every criterion has a mark."""
    scores, problems = clean_scores(rubric, raw, complete=True)
    if problems or not rubric:
        return None
    return aggregation.weighted_mark(scores, aggregation.criteria(rubric))


def mark_of(rubric: Sequence[Mapping[str, Any]], scores: Mapping[str, int]) -> Decimal | None:
    """The weighted mark /20 of a review as stored."""
    return live_mark(rubric, {f"score_{k}": str(v) for k, v in scores.items()})


# --- The reviewer's files ----------------------------------------------------------------


def mine(reviewer_id: int, funders: frozenset[int] | None = None):
    """The reviewer's assignments, without files of organisations they declared a link
    with; with ``funders`` (roles per funder), only of those funders' calls."""
    conflicted = Conflict.select(Conflict.organisation).where(Conflict.reviewer == reviewer_id)
    condition = (Assignment.reviewer == reviewer_id) & Assignment.application.organisation.not_in(
        conflicted
    )
    if funders is not None:
        funder = Assignment.application.call.funder
        condition = condition & (funder.is_in(sorted(funders)) if funders else funder == 0)
    return condition


async def assignment_for(reviewer: CurrentUser, assignment_id: int) -> ReviewAssignment | None:
    """The reviewer's own assignment, never one on an organisation they are conflicted
    with (None: answered as 404)."""
    row = await (
        Assignment.select(
            Assignment.id,
            Assignment.reviewer,
            Assignment.scores,
            Assignment.opinion,
            Assignment.comment_staff,
            Assignment.comment_applicant,
            Assignment.submitted_at,
            Assignment.updated_at,
            Assignment.application.id.as_alias("application_id"),
            Assignment.application.call.id.as_alias("call_id"),
            Assignment.application.organisation.id.as_alias("organisation_id"),
        )
        # A reviewer of some funders only: their assignments of those funders' calls
        # (an empty set is someone without the role: their own assignments, as ever).
        .where(
            (Assignment.id == assignment_id)
            & mine(reviewer.id, funders_for(reviewer, "review") or None)
        )
        .output(load_json=True)
        .first()
    )
    if row is None:
        return None
    return ReviewAssignment(
        id=row["id"],
        application_id=row["application_id"],
        call_id=row["call_id"],
        organisation_id=row["organisation_id"],
        reviewer_id=row["reviewer"],
        scores=row["scores"] or {},
        opinion=row["opinion"],
        comment_staff=row["comment_staff"],
        comment_applicant=row["comment_applicant"],
        submitted_at=row["submitted_at"],
        updated_at=row["updated_at"],
    )


async def file_for_review(assignment: ReviewAssignment, setup: ReviewSetup) -> FileUnderReview:
    """The file of an assignment ``assignment_for`` gave (the reviewer's right to read
    it: their own assignment, no conflict), as its reviewer reads it."""
    row = await (
        Application.select(
            Application.id,
            Application.reference,
            Application.title,
            Application.requested_cents,
            Application.answers,
            Application.budget,
            Application.organisation.name.as_alias("organisation_name"),
            Application.call.funder.name.as_alias("funder_name"),
            Application.form_version.form.as_alias("form"),
        )
        .where(Application.id == assignment.application_id)
        .output(load_json=True)
        .first()
    )
    return FileUnderReview(
        id=row["id"],
        reference=row["reference"] or "",
        title=row["title"],
        organisation_name=None if setup.blind else row["organisation_name"],
        funder_name=row["funder_name"],
        requested_cents=row["requested_cents"],
        answers=row["answers"] or {},
        budget=row["budget"] or {},
        form=row["form"] or {},
    )


@dataclass(frozen=True, slots=True)
class ReviewDocument:
    """A document of the file as its reviewer sees it: on a blind call, named after the
    call's document (« Budget prévisionnel ») and downloaded under a neutral name, never
    the name the organisation gave its file (which often holds the organisation's
    name); the call's documents about the organisation itself are not shown at all."""

    id: int
    name: str
    download_name: str
    document_key: str  # the call's document, or the file question it answers


async def review_documents(
    file: FileUnderReview, call_documents: Sequence[Mapping[str, Any]], *, blind: bool
) -> list[ReviewDocument]:
    rows = await applications.current_attachments(file.id)
    if not blind:
        return [
            ReviewDocument(a.id, a.original_name, a.original_name, a.document_key) for a in rows
        ]
    labels = {d["key"]: d["label"] for d in call_documents}
    # The organisation's own papers would name it: not shown at all.
    hidden = {d["key"] for d in call_documents if d.get("about_organisation")}
    rows = [a for a in rows if a.document_key not in hidden]
    documents = []
    for n, a in enumerate(rows, start=1):
        extension = a.original_name.rpartition(".")[2].lower() if "." in a.original_name else ""
        label = labels.get(a.document_key) or f"{n}"
        neutral = f"{file.reference or file.id}-{a.document_key}-{n}"
        documents.append(
            ReviewDocument(
                a.id,
                label,
                f"{neutral}.{extension}" if extension.isalnum() else neutral,
                a.document_key,
            )
        )
    return documents


async def my_assignment_counts(
    reviewer_id: int, *, funders: frozenset[int] | None = None
) -> tuple[int, int]:
    """(reviewed, assigned) for the reviewer's dashboard (of ``funders``: None, all)."""
    query = prepared(
        (my_assignment_counts, funders),
        lambda reviewer_id: Assignment.select(
            Count().as_alias("total"), Count(Assignment.submitted_at).as_alias("done")
        ).where(mine(reviewer_id, funders)),
    )
    row = await query.first(reviewer_id=reviewer_id)
    return row["done"], row["total"]


async def my_assignments(
    reviewer_id: int, *, limit: int, offset: int = 0, funders: frozenset[int] | None = None
) -> list[MyReview]:
    """One page of the reviewer's files, those still to review first, with the due
    date of their call (of ``funders``: None, every funder)."""
    query = prepared(
        (my_assignments, funders, limit, offset),
        lambda reviewer_id: (
            Assignment.select(
                Assignment.id,
                Assignment.submitted_at,
                Assignment.updated_at,
                Assignment.application.reference.as_alias("reference"),
                Assignment.application.title.as_alias("title"),
                Assignment.application.call.title.as_alias("call_title"),
                Assignment.application.call.id.as_alias("call_id"),
            )
            .where(mine(reviewer_id, funders))
            # To review first (NULLs sort differently on SQLite and PostgreSQL: say it).
            .order_by(
                QueryString(f'"{Assignment._meta.tablename}"."submitted_at" IS NOT NULL'),
                Assignment.id,
            )
            .limit(limit)
            .offset(offset)
        ),
    )
    rows = await query.run(reviewer_id=reviewer_id)
    due = await due_dates(r["call_id"] for r in rows)
    return [MyReview(**r, due_at=due.get(r["call_id"])) for r in rows]


async def save_review(
    assignment_id: int,
    raw: Mapping[str, str],
    *,
    reviewer: CurrentUser,
    submit: bool,
    actor: Actor,
) -> None:
    """Save a draft, or submit (every criterion, an opinion); a submitted review is
    changed only after an officer reopens it. A refused form names every problem at
    once (``ReviewError.problems``)."""
    action = "submit" if submit else "save"
    async with write_transaction():
        assignment = await assignment_for(reviewer, assignment_id)
        if assignment is None:
            raise ReviewError("not_found", NOT_FOUND)
        if action not in assignment.actions:
            raise ReviewError("already_submitted", ALREADY_SUBMITTED, field="opinion")
        call = await calls.get_call(assignment.call_id)
        scores, problems = clean_scores(call["rubric"], raw, complete=submit)
        opinion = raw.get("opinion", "")
        if submit and opinion not in OPINIONS:
            problems["opinion"] = N_("Choose an overall opinion.")
        if problems:
            field_, message = next(iter(problems.items()))
            raise ReviewError("invalid", message, field=field_, problems=problems)
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
            await calls.lock_rubric(assignment.call_id)
            await marks.store_mark(assignment.application_id, assignment.call_id)
            await follow_reviews(assignment.application_id, actor)
        await audit.record_by(
            actor,
            "reviews.submitted" if submit else "reviews.saved",
            "application",
            assignment.application_id,
            scores=scores,
        )


async def other_reviews(assignment: ReviewAssignment, setup: ReviewSetup) -> list[OtherReview]:
    """The other submitted reviews of the same file, as the call allows reviewers to
    see them: never, after submitting their own, or always."""
    if setup.visibility == "never" or (
        setup.visibility == "after_own" and assignment.submitted_at is None
    ):
        return []
    rows = await (
        Assignment.select(Assignment.scores, Assignment.opinion, Assignment.comment_staff)
        .where(
            (Assignment.application == assignment.application_id)
            & (Assignment.id != assignment.id)
            & Assignment.submitted_at.is_not_null()
        )
        .output(load_json=True)
    )
    return [
        OtherReview(
            scores=r["scores"] or {}, opinion=r["opinion"], comment_staff=r["comment_staff"]
        )
        for r in rows
    ]


# --- Officers --------------------------------------------------------------------------------


async def reviews_of(app_id: int, rubric: Sequence[Mapping[str, Any]] = ()) -> list[FileReview]:
    """Every assignment of a file with its review, its mark on ``rubric`` and what an
    officer may do with it (for the staff)."""
    rows = await (
        Assignment.select(
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
        .output(load_json=True)
    )
    return [
        FileReview(
            **{**r, "scores": r["scores"] or {}},
            mark=mark_of(rubric, r["scores"] or {}) if rubric else None,
            actions=REVIEW.allowed(state_of(r["submitted_at"]), "officer"),
        )
        for r in rows
    ]


async def file_of_assignment(assignment_id: int) -> int | None:
    """The file an assignment is on (None: no such assignment)."""
    row = await (
        Assignment.select(Assignment.application).where(Assignment.id == assignment_id).first()
    )
    return row["application"] if row else None


async def reopen(assignment_id: int, *, actor: Actor) -> None:
    """An officer reopens a submitted review so that its reviewer can change it; the
    file's mark and state follow."""
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
            raise ReviewError("not_found", NOT_FOUND)
        if not REVIEW.can("reopen", state_of(row["submitted_at"]), "officer"):
            raise ReviewError(
                "not_submitted", N_("This review is not submitted: there is nothing to reopen.")
            )
        await Assignment.update(
            {Assignment.submitted_at: None, Assignment.updated_at: now()}
        ).where(Assignment.id == assignment_id)
        await marks.store_mark(row["application"], row["call"])
        await follow_reviews(row["application"], actor)
        await audit.record_by(
            actor, "reviews.reopened", "application", row["application"], assignment=assignment_id
        )


async def follow_reviews(app_id: int, actor: Actor, *, after_removal: bool = False) -> None:
    """Inside the transaction that changed a file's reviews or reviewers: « under
    review » becomes « reviewed » once every assigned review is submitted, and goes
    back when one is reopened or a reviewer is added. After a reviewer is taken off
    (``after_removal``: a decline, a conflict, an officer), a file left with fewer
    reviews than its call wants goes back « under review », to get a replacement."""
    app = (
        await Application.select(Application.status, Application.call)
        .where(Application.id == app_id)
        .first()
    )
    wanted = (await settings_for(app["call"])).reviews_wanted if after_removal else 0
    rows = await Assignment.select(Assignment.submitted_at).where(Assignment.application == app_id)
    complete = (
        bool(rows) and len(rows) >= wanted and all(r["submitted_at"] is not None for r in rows)
    )
    action = "reviews_complete" if complete else "reviews_reopened"
    if not APPLICATION.can(action, app["status"], "system"):
        return
    await Application.update(
        {
            Application.status: APPLICATION.fire(action, app["status"], "system"),
            Application.updated_at: now(),
        }
    ).where(Application.id == app_id)
    await audit.record_by(actor, f"applications.{action}", "application", app_id)


async def applicant_comments(app_ids: Iterable[int]) -> dict[int, list[str]]:
    """The submitted reviews' comments meant for the applicant, per file (for the
    rejection letters of a call that shares them)."""
    comments: dict[int, list[str]] = {}
    for review in (
        await Assignment.select(Assignment.application, Assignment.comment_applicant)
        .where(
            Assignment.application.is_in(list(app_ids) or [0])
            & Assignment.submitted_at.is_not_null()
        )
        .order_by(Assignment.id)
    ):
        if review["comment_applicant"].strip():
            comments.setdefault(review["application"], []).append(review["comment_applicant"])
    return comments
