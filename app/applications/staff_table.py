"""The staff's table of a call's applications: filtered, sorted and paged in SQL, and
the same rows for the exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from app.applications.models import StaffRow
from app.applications.tables import Application

PAGE_SIZE = 50
SORTS = {
    "reference": Application.reference,
    "organisation": Application.organisation.name,
    "title": Application.title,
    "requested": Application.requested_cents,
    "submitted": Application.submitted_at,
    "updated": Application.updated_at,
    "status": Application.status,
}


@dataclass
class TableQuery:
    status: str = ""
    # Only files sent back « to complete » and completed by the applicant since.
    answered: bool = False
    organisation: str = ""
    q: str = ""
    min_cents: int | None = None
    max_cents: int | None = None
    submitted_from: datetime | None = None
    submitted_until: datetime | None = None
    sort: str = "reference"
    descending: bool = False
    page: int = 1


def _table_conditions(call_id: int, query: TableQuery) -> list:
    conditions = [Application.call == call_id]
    if query.status:
        conditions.append(Application.status == query.status)
    if query.answered:
        conditions.append(
            (Application.status == "submitted") & (Application.completion_message != "")
        )
    if query.organisation:
        conditions.append(Application.organisation.name.ilike(f"%{query.organisation}%"))
    if query.q:
        pattern = f"%{query.q}%"
        conditions.append(
            Application.title.ilike(pattern)
            | Application.reference.ilike(pattern)
            | Application.organisation.name.ilike(pattern)
        )
    if query.min_cents is not None:
        conditions.append(Application.requested_cents >= query.min_cents)
    if query.max_cents is not None:
        conditions.append(Application.requested_cents <= query.max_cents)
    if query.submitted_from is not None:
        conditions.append(Application.submitted_at >= query.submitted_from)
    if query.submitted_until is not None:
        conditions.append(Application.submitted_at < query.submitted_until)
    return conditions


TABLE_COLUMNS = (
    Application.id,
    Application.reference,
    Application.title,
    Application.status,
    Application.requested_cents,
    Application.submitted_at,
    Application.updated_at,
    Application.organisation.name.as_alias("organisation_name"),
)


async def staff_table(call_id: int, query: TableQuery) -> tuple[list[StaffRow], int]:
    """One page of the call's applications, filtered and sorted in SQL (two queries,
    whatever the number of rows)."""
    conditions = _table_conditions(call_id, query)
    column = SORTS.get(query.sort, Application.reference)
    rows = (
        await Application.select(*TABLE_COLUMNS)
        .where(*conditions)
        .order_by(column, ascending=not query.descending)
        .order_by(Application.id)
        .limit(PAGE_SIZE)
        .offset((max(query.page, 1) - 1) * PAGE_SIZE)
    )
    total = await Application.count().where(*conditions)
    return [StaffRow(**row) for row in rows], total


async def iter_table(
    call_id: int, query: TableQuery, batch_size: int = 500
) -> AsyncIterator[StaffRow]:
    """Every matching application, in id order, ``batch_size`` at a time (exports)."""
    conditions = _table_conditions(call_id, query)
    last_id = 0
    while True:
        rows = (
            await Application.select(
                *TABLE_COLUMNS, Application.organisation.siret.as_alias("siret")
            )
            .where(Application.id > last_id, *conditions)
            .order_by(Application.id)
            .limit(batch_size)
        )
        for row in rows:
            yield StaffRow(**row)
        if len(rows) < batch_size:
            return
        last_id = rows[-1]["id"]
