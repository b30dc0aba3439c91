"""What later domains have built on a call's setup, read from their tables by name.

Calls come before applications, reviews and decisions (docs/architecture.md): it may not
import them, so their tables are reached through ``LazyTableReference`` (as
``core/tables.py`` reaches the accounts' users); nothing changes in the database. Each
question here backs one rule of ``calls.services``; all the queries are in this module.

« Depends », precisely:
- an eligibility question or a document: the call has an application (any status,
  withdrawn included): every application was let in by the questions as they were
  worded and was filled against the documents as they were listed;
- a criterion: a review of one of the call's files (a draft or a submitted one) holds a
  mark for it, or the rubric is locked (``services.lock_rubric``).
"""

from __future__ import annotations

from piccolo.columns import LazyTableReference

APPLICATION = LazyTableReference("Application", app_name="applications")
ASSIGNMENT = LazyTableReference("Assignment", app_name="reviews")
REVIEW_SETTINGS = LazyTableReference("ReviewSettings", app_name="reviews")
POOL_MEMBER = LazyTableReference("PoolMember", app_name="reviews")
DECISION = LazyTableReference("Decision", app_name="decisions")


async def has_applications(call_id: int) -> bool:
    application = APPLICATION.resolve()
    return await application.exists().where(application.call == call_id)


async def scored_criteria(call_id: int) -> set[str]:
    """The criteria (keys) some review of this call's files has marked, draft or not."""
    assignment = ASSIGNMENT.resolve()
    rows = await (
        assignment.select(assignment.scores)
        .where(assignment.application.call == call_id)
        .output(load_json=True)
    )
    return {key for row in rows for key in (row["scores"] or {})}


async def review_planned(call_id: int) -> bool:
    """The officers have set up the call's review: settings saved or a reviewer in
    its pool (every call may be reviewed; until then its rubric may wait)."""
    settings, pool = REVIEW_SETTINGS.resolve(), POOL_MEMBER.resolve()
    return await settings.exists().where(settings.call == call_id) or await pool.exists().where(
        pool.call == call_id
    )


async def committed_cents(call_id: int) -> int:
    """What the committee has awarded on this call (published or not): the envelope's
    part already spoken for, as the decision sheet counts it."""
    decision = DECISION.resolve()
    rows = await decision.select(decision.amount_cents).where(
        (decision.call == call_id) & (decision.outcome == "award")
    )
    return sum(int(r["amount_cents"]) for r in rows)
