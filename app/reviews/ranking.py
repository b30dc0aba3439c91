"""The ranking of a call's files by their marks, what one file's reviews say
together, and the export of every submitted review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.applications.tables import Application
from app.calls import services as calls
from app.reviews import aggregation
from app.reviews.marks import Mark, marks_of_call
from app.reviews.scoring import FileReview, mark_of
from app.reviews.settings import settings_for
from app.reviews.tables import Assignment

RANKING_SORTS = ("rank", "requested", "reference", "spread")
# The files the ranking shows: from screened eligible to the committee's decision.
RANKED = ("eligible", "in_review", "reviewed", "waitlisted", "awarded", "rejected")


@dataclass(frozen=True, slots=True)
class RankedFile:
    """A file in the ranking: its mark (None without a rubric) and the running total
    of the amounts requested, counted in the order shown."""

    id: int
    reference: str | None
    title: str
    organisation_name: str
    status: str
    requested_cents: int
    aggregate: Mark | None
    running_total: int = 0


def _by_rank(row: RankedFile) -> tuple:
    value = row.aggregate.ranking if row.aggregate else None
    return (value is None, -(value or 0), row.id)


SORT_KEYS = {
    "rank": _by_rank,
    "requested": lambda r: (-r.requested_cents, r.id),
    "reference": lambda r: (r.reference or "", r.id),
    "spread": lambda r: (-(r.aggregate.spread or 0) if r.aggregate else 0, r.id),
}


async def ranked_files(
    call_id: int,
    *,
    status: str = "",
    disagreement: bool = False,
    reviewer: int | None = None,
    sort: str = "rank",
) -> list[RankedFile]:
    """Each file under review or decided (RANKED) with its mark, filtered by status,
    disagreement or reviewer, best first by default; the running total of the amounts
    requested follows the order shown. Marks are read as stored (``marks``)."""
    call = await calls.get_call(call_id)
    setup = await settings_for(call_id)
    apps = await Application.select(
        Application.id,
        Application.reference,
        Application.title,
        Application.requested_cents,
        Application.status,
        Application.organisation.name.as_alias("organisation_name"),
    ).where((Application.call == call_id) & Application.status.is_in(list(RANKED)))
    marks: dict[int, Mark] = {}
    if call["rubric"]:
        marks = await marks_of_call(call_id, [a["id"] for a in apps], call["rubric"], setup)
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
        mark = marks.get(app["id"])
        if disagreement and not (mark and mark.disagreement):
            continue
        rows.append(RankedFile(**app, aggregate=mark))
    rows.sort(key=SORT_KEYS.get(sort, _by_rank))
    ranked, running = [], 0
    for row in rows:
        running += row.requested_cents
        ranked.append(replace(row, running_total=running))
    return ranked


async def file_aggregate(
    call_id: int, rubric: Sequence[Mapping[str, Any]], reviews: Sequence[FileReview]
) -> aggregation.Aggregate | None:
    """What the submitted reviews of one file say together (None without a rubric)."""
    if not rubric:
        return None
    setup = await settings_for(call_id)
    return aggregation.aggregate(
        [r.scores for r in reviews if r.submitted_at is not None],
        aggregation.criteria(rubric),
        rank_by=setup.rank_by,
        disagreement_threshold=setup.threshold,
    )


async def scores_export_rows(call_id: int) -> tuple[list[str], list[list[Any]]]:
    """Every submitted review of the call: file, reviewer, marks, opinion, comments."""
    call = await calls.get_call(call_id)
    rows = await (
        Assignment.select(
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
        .output(load_json=True)
    )
    rubric = call["rubric"]
    header = [
        "reference",
        "organisation",
        "reviewer",
        *[c["title"] for c in rubric],
        "mark_20",
        "opinion",
        "comment_staff",
        "comment_applicant",
    ]
    lines = []
    for row in rows:
        scores = row["scores"] or {}
        lines.append(
            [
                row["reference"],
                row["organisation"],
                row["reviewer"],
                *[scores.get(c["key"], "") for c in rubric],
                mark_of(rubric, scores),
                row["opinion"],
                row["comment_staff"],
                row["comment_applicant"],
            ]
        )
    return header, lines
