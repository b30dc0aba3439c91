"""« À traiter »: what waits for each staff role, counted in SQL.

Each queue (files to screen, late reviews, instalments to pay…) is one query, grouped
by call where the work is done call by call: the page costs the same number of queries
for 1 file or 30 000. Who sees which queue is ``app.permissions``' business; the page
links each line to the list where the work is done (the template knows the routes,
this module only the numbers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count, Sum

from app.accounts.services import invitation_pending
from app.accounts.tables import User
from app.applications.tables import Application, ApplicationStatus
from app.core.db import within
from app.core.time import now
from app.decisions.tables import Decision
from app.grants.states import INSTALMENT
from app.grants.tables import Grant, GrantStatus, Instalment, Recovery, Report
from app.permissions import can_administer, can_manage_calls, can_pay, can_review, funders_for
from app.reviews.scoring import mine
from app.reviews.tables import Assignment, Decline, ReviewSettings

ITEMS_SHOWN = 10  # grant lines listed under a queue that has no list page of its own


@dataclass(frozen=True, slots=True)
class CallLine:
    """The part of a queue in one call."""

    call_id: int
    call_title: str
    count: int
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GrantLine:
    grant_id: int
    reference: str
    organisation_name: str


@dataclass(frozen=True, slots=True)
class Queue:
    """One kind of waiting work: ``key`` names it for the page (its words, its link)."""

    key: str
    count: int
    calls: tuple[CallLine, ...] = ()
    grants: tuple[GrantLine, ...] = ()
    amount_cents: int | None = None


@dataclass(frozen=True, slots=True)
class WorkQueues:
    officer: tuple[Queue, ...] = ()
    reviewer: tuple[Queue, ...] = ()
    finance: tuple[Queue, ...] = ()
    admin: tuple[Queue, ...] = ()

    @property
    def empty(self) -> bool:
        return not any(q.count for q in (*self.officer, *self.reviewer, *self.finance, *self.admin))


def _by_call(rows: Sequence[dict], key: str, due: dict[int, datetime] | None = None) -> Queue:
    calls = tuple(
        CallLine(
            call_id=r["call_id"],
            call_title=r["call_title"],
            count=r["count"],
            due_at=(due or {}).get(r["call_id"]),
        )
        for r in sorted(rows, key=lambda r: (r["call_title"], r["call_id"]))
    )
    return Queue(key=key, count=sum(c.count for c in calls), calls=calls)


def _application_count(condition, funders: frozenset[int] | None):
    """Files matching ``condition``, counted per call (one query), of ``funders``."""
    return within(
        Application.select(
            Application.call.id.as_alias("call_id"),
            Application.call.title.as_alias("call_title"),
            Count(alias="count"),
        )
        .where(condition)
        .group_by(Application.call.id, Application.call.title),
        Application.call.funder,
        funders,
    )


# A file given back by a reviewer for a conflict and not given to someone else since:
# fewer assignments than its call wants (2 without settings).
_SHORT_OF_REVIEWS = WhereRaw(
    '(SELECT COUNT(*) FROM review_assignment a WHERE a.application = "application"."id") < '
    'COALESCE((SELECT s.reviews_wanted FROM review_settings s WHERE s."call" = '
    '"application"."call"), 2)'
)


async def officer_queues(at: datetime, funders: frozenset[int] | None = None) -> tuple[Queue, ...]:
    """The officers' queues, of ``funders`` (None: every funder)."""
    submitted = Application.status == ApplicationStatus.submitted.value
    to_screen = await _application_count(
        submitted & (Application.completion_message == ""), funders
    )
    answered = await _application_count(submitted & (Application.completion_message != ""), funders)
    late = await within(
        Assignment.select(
            Assignment.application.call.id.as_alias("call_id"),
            Assignment.application.call.title.as_alias("call_title"),
            Count(alias="count"),
        )
        .where(
            Assignment.submitted_at.is_null()
            & Assignment.application.call.is_in(
                ReviewSettings.select(ReviewSettings.call).where(ReviewSettings.due_at < at)
            )
        )
        .group_by(Assignment.application.call.id, Assignment.application.call.title),
        Assignment.application.call.funder,
        funders,
    )
    declined = await _application_count(
        Application.status.is_in(
            [ApplicationStatus.eligible.value, ApplicationStatus.in_review.value]
        )
        & Application.id.is_in(Decline.select(Decline.application))
        & _SHORT_OF_REVIEWS,
        funders,
    )
    to_publish = await within(
        Decision.select(
            Decision.call.id.as_alias("call_id"),
            Decision.call.title.as_alias("call_title"),
            Count(alias="count"),
        )
        .where(Decision.published_at.is_null())
        .group_by(Decision.call.id, Decision.call.title),
        Decision.call.funder,
        funders,
    )
    to_approve = await within(Instalment.count(), Instalment.grant.call.funder, funders).where(
        Instalment.status.is_in(list(INSTALMENT.sources("approve")))
    )
    reports = await _grant_lines(
        Grant.id.is_in(Report.select(Report.grant).where(Report.status == "submitted")),
        funders,
    )
    agreements = await _grant_lines(
        (Grant.status == GrantStatus.active.value)
        & Grant.agreement_required.eq(True)
        & Grant.agreement_uploaded_at.is_not_null()
        & Grant.id.not_in(
            Instalment.select(Instalment.grant).where(Instalment.status.is_in(["approved", "paid"]))
        ),
        funders,
    )
    return (
        _by_call(to_screen, "to_screen"),
        _by_call(answered, "answered"),
        _by_call(late, "late_reviews"),
        _by_call(declined, "declined"),
        _by_call(to_publish, "to_publish"),
        Queue(key="to_approve", count=to_approve),
        Queue(key="reports", count=reports[0], grants=reports[1]),
        Queue(key="agreements", count=agreements[0], grants=agreements[1]),
        await _recoveries(funders),
    )


async def _grant_lines(
    condition, funders: frozenset[int] | None
) -> tuple[int, tuple[GrantLine, ...]]:
    """How many grants match, and the first ITEMS_SHOWN of them (two queries)."""
    count = await within(Grant.count(), Grant.call.funder, funders).where(condition)
    rows = await within(
        Grant.select(
            Grant.id.as_alias("grant_id"),
            Grant.application.reference.as_alias("reference"),
            Grant.organisation.name.as_alias("organisation_name"),
        )
        .where(condition)
        .order_by(Grant.id)
        .limit(ITEMS_SHOWN),
        Grant.call.funder,
        funders,
    )
    return count, tuple(GrantLine(**r) for r in rows)


async def _recoveries(funders: frozenset[int] | None) -> Queue:
    query = Recovery.select(Count(alias="count"), Sum(Recovery.amount_cents, alias="amount"))
    row = await (
        within(query, Recovery.grant.call.funder, funders).where(Recovery.status == "open").first()
    )
    return Queue(key="recoveries", count=row["count"], amount_cents=row["amount"] or 0)


async def reviewer_queues(
    reviewer_id: int, funders: frozenset[int] | None = None
) -> tuple[Queue, ...]:
    rows = await (
        Assignment.select(
            Assignment.application.call.id.as_alias("call_id"),
            Assignment.application.call.title.as_alias("call_title"),
            Count(alias="count"),
        )
        .where(mine(reviewer_id, funders) & Assignment.submitted_at.is_null())
        .group_by(Assignment.application.call.id, Assignment.application.call.title)
    )
    due = {
        r["call"]: r["due_at"]
        for r in await ReviewSettings.select(ReviewSettings.call, ReviewSettings.due_at).where(
            ReviewSettings.call.is_in([r["call_id"] for r in rows] or [0])
        )
    }
    return (_by_call(rows, "reviews", due),)


async def finance_queues(funders: frozenset[int] | None = None) -> tuple[Queue, ...]:
    """Finance's queues, of ``funders`` (None: every funder)."""
    query = Instalment.select(Count(alias="count"), Sum(Instalment.amount_cents, alias="amount"))
    row = await (
        within(query, Instalment.grant.call.funder, funders)
        .where(Instalment.status.is_in(list(INSTALMENT.sources("pay"))))
        .first()
    )
    return (
        Queue(key="to_pay", count=row["count"], amount_cents=row["amount"] or 0),
        await _recoveries(funders),
    )


async def admin_queues() -> tuple[Queue, ...]:
    invitations = await User.count().where(invitation_pending())
    return (Queue(key="invitations", count=invitations),)


async def queues_for(user) -> WorkQueues:
    """The queues of every role the person holds, each of the funders it is held for."""
    at = now()
    return WorkQueues(
        officer=await officer_queues(at, funders_for(user, "manage_calls"))
        if can_manage_calls(user)
        else (),
        reviewer=await reviewer_queues(user.id, funders_for(user, "review"))
        if can_review(user)
        else (),
        finance=await finance_queues(funders_for(user, "pay")) if can_pay(user) else (),
        admin=await admin_queues() if can_administer(user) else (),
    )
