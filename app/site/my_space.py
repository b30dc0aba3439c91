"""« Mon espace »: the page an applicant or grantee starts from. Their files in
progress with their deadline, the files with messages they have not read, and what is
expected of them (complete a file sent back, accept an award, send the signed
agreement, submit a report), the overdue first. A fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.applications import services as applications
from app.applications.services import ApplicationSummary
from app.core.time import paris_date
from app.grants import todo
from app.organisations import joining


@dataclass(frozen=True, slots=True)
class MySpace:
    in_progress: list[ApplicationSummary]  # drafts and files sent back, deadline first
    unread: list[ApplicationSummary]  # files with messages of the staff not yet read
    # A file sent back (kind ``complete``) and the grants' tasks, the overdue first.
    expected: list[todo.GrantTask]
    files: int  # every file of the person's organisations
    # Requests to join the organisations the person owns, waiting for their answer.
    join_requests: list[dict] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.files or self.expected)


async def my_space(user_id: int, at: datetime) -> MySpace:
    """What « Mon espace » shows this person at ``at`` (five queries at most)."""
    files = await applications.applications_of(user_id)
    today = paris_date(at)
    expected = [
        todo.GrantTask(
            "complete",
            f.id,
            f.reference,
            f.title,
            f.organisation_name,
            due=paris_date(f.complete_by) if f.complete_by else None,
            overdue=f.overdue(at),
        )
        for f in files
        if f.status == "to_complete"
    ]
    expected += await todo.tasks_of(user_id, today)
    expected.sort(key=lambda e: (not e.overdue, e.due or date.max, e.application))
    in_progress = sorted(
        (f for f in files if f.in_progress), key=lambda f: (f.deadline or at, f.id)
    )
    return MySpace(
        in_progress=in_progress,
        unread=[f for f in files if f.unread],
        expected=expected,
        files=len(files),
        join_requests=await joining.requests_to_answer(user_id),
    )
