"""E-mails to reviewers about their assignments: the new files given to them (one
message per reviewer, whatever the way they were assigned) and the officer's reminder
« Relancer ». Both are written in the transaction of the change that causes them.

A reviewer of a blind call learns the files' references and titles, never the
organisation's name: no e-mail here names it."""

from __future__ import annotations

from collections.abc import Iterable

from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.outbox import enqueue_email
from app.core.time import now
from app.reviews.settings import due_dates
from app.reviews.tables import Assignment

Pair = tuple[int, int]  # (application_id, reviewer_id)


def _files_query(condition):
    return (
        Assignment.select(
            Assignment.id,
            Assignment.reviewer,
            Assignment.reviewer.email.as_alias("email"),
            Assignment.reviewer.language.as_alias("language"),
            Assignment.application.reference.as_alias("reference"),
            Assignment.application.title.as_alias("title"),
            Assignment.application.call.id.as_alias("call_id"),
            Assignment.application.call.title.as_alias("call_title"),
        )
        .where(condition)
        .order_by(Assignment.reviewer, Assignment.id)
    )


async def _send_grouped(rows: list[dict], template: str, base_url: str) -> dict[int, int]:
    """One e-mail per reviewer listing their files of ``rows``; returns reviewer →
    number of files listed."""
    due = await due_dates(r["call_id"] for r in rows)
    by_reviewer: dict[int, list[dict]] = {}
    for row in rows:
        by_reviewer.setdefault(row["reviewer"], []).append(row)
    for files in by_reviewer.values():
        first = files[0]
        calls = {f["call_id"] for f in files}
        await enqueue_email(
            to=first["email"],
            template=template,
            language=first["language"],
            context={
                "files": [
                    {
                        "reference": f["reference"] or "",
                        "title": f["title"],
                        "call": f["call_title"],
                        "due": due.get(f["call_id"]),
                        "url": f"{base_url}/evaluation/{f['id']}",
                    }
                    for f in files
                ],
                "count": len(files),
                "due": due.get(first["call_id"]) if len(calls) == 1 else None,
                "url": f"{base_url}/evaluation",
            },
        )
    return {reviewer: len(files) for reviewer, files in by_reviewer.items()}


async def notify_assigned(pairs: Iterable[Pair], *, base_url: str = "") -> int:
    """Each reviewer given new files gets one e-mail listing them with the due date.
    Called by every service that creates assignments (automatic, by hand, in bulk),
    inside its transaction, once the rows are inserted. Returns the e-mails queued."""
    pairs = sorted(set(pairs))
    if not pairs:
        return 0
    condition = None
    for reviewer in sorted({r for _a, r in pairs}):
        apps = [a for a, r in pairs if r == reviewer]
        clause = (Assignment.reviewer == reviewer) & Assignment.application.is_in(apps)
        condition = clause if condition is None else condition | clause
    rows = await _files_query(condition)
    return len(await _send_grouped(rows, "review_assigned", base_url))


async def remind_now(
    call_id: int, *, reviewer_id: int | None, late_only: bool, actor: Actor, base_url: str = ""
) -> int:
    """« Relancer »: one reminder now to a reviewer of the call (or to every reviewer
    with a late review, ``late_only``) listing their reviews of the call not submitted
    yet; each reminder is written in the audit trail. Returns the reminders sent."""
    async with write_transaction():
        condition = (Assignment.application.call == call_id) & Assignment.submitted_at.is_null()
        if reviewer_id is not None:
            condition &= Assignment.reviewer == reviewer_id
        if late_only:
            due = (await due_dates([call_id])).get(call_id)
            if due is None or due >= now():
                return 0
        sent = await _send_grouped(await _files_query(condition), "review_reminder_now", base_url)
        for reviewer, count in sent.items():
            await audit.record_by(
                actor, "reviews.reminded", "call", call_id, reviewer=reviewer, files=count
            )
    return len(sent)
