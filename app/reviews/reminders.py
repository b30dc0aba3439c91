"""E-mails to reviewers whose reviews are not in: before and after the due date."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.core.db import write_transaction
from app.core.outbox import enqueue_email
from app.core.periodic import periodic_lifespan
from app.core.time import now
from app.reviews.tables import Assignment, ReviewSettings

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
