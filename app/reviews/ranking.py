"""The ranking of a call's files by their marks, what one file's reviews say
together, and the export of every submitted review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.applications.tables import Application
from app.calls import services as calls
from app.core.db import is_sqlite
from app.core.i18n import gettext as _
from app.reviews import aggregation
from app.reviews.marks import Mark
from app.reviews.scoring import OPINION_LABELS, FileReview, mark_of
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


# ORDER BY of each sort, with a rubric (marks) and without (no marks: by id); every
# one ends on the file's id, so that ties keep one order and the running total one
# value. References compare by code point on both databases (COLLATE "C" on
# PostgreSQL; SQLite's BINARY compares UTF-8 bytes, the same order).
_ORDER = {
    "rank": "(m.ranking IS NULL), m.ranking DESC, a.id",
    "requested": "a.requested_cents DESC, a.id",
    "reference": "COALESCE(a.reference, ''){collate}, a.id",
    "spread": "COALESCE(m.spread, 0) DESC, a.id",
}
_ORDER_WITHOUT_MARKS = {**_ORDER, "rank": "a.id", "spread": "a.id"}
_STATUSES = ", ".join(f"'{s}'" for s in RANKED)  # constants of the code, not input


def _where(
    call_id: int, *, status: str, disagreement: bool, reviewer: int | None, marked: bool
) -> tuple[str, list[Any]]:
    """The WHERE clause of the ranking's filters and its values (``{}`` placeholders)."""
    sql = [f'a."call" = {{}} AND a.status IN ({_STATUSES})']
    values: list[Any] = [call_id]
    if status:
        sql.append("a.status = {}")
        values.append(status)
    if disagreement:
        # Without a rubric no file has a mark, none disagrees.
        sql.append("m.disagreement = {}" if marked else "1 = 0")
        if marked:
            values.append(True)
    if reviewer is not None:
        sql.append(
            "EXISTS (SELECT 1 FROM review_assignment r "
            "WHERE r.application = a.id AND r.reviewer = {})"
        )
        values.append(reviewer)
    return " AND ".join(sql), values


_FROM = "FROM application a LEFT JOIN review_file_mark m ON m.application = a.id "


async def ranked_count(
    call_id: int, *, status: str = "", disagreement: bool = False, reviewer: int | None = None
) -> int:
    """How many files ``ranked_files`` gives with these filters (one query)."""
    call = await calls.get_call(call_id)
    where, values = _where(
        call_id,
        status=status,
        disagreement=disagreement,
        reviewer=reviewer,
        marked=bool(call["rubric"]),
    )
    rows = await Application.raw(f"SELECT COUNT(*) AS n {_FROM}WHERE {where}", *values)
    return int(rows[0]["n"])


async def ranked_files(
    call_id: int,
    *,
    status: str = "",
    disagreement: bool = False,
    reviewer: int | None = None,
    sort: str = "rank",
    limit: int | None = None,
    offset: int = 0,
) -> list[RankedFile]:
    """Each file under review or decided (RANKED) with its mark, filtered by status,
    disagreement or reviewer, best first by default; the running total of the amounts
    requested follows the order shown, over every file before the row (earlier pages
    too). One query, sorted, summed and paged in SQL (window functions over the
    narrow rows, the page's titles and organisations joined after); marks are
    read as stored (``marks``: kept by the writes, never computed here)."""
    call = await calls.get_call(call_id)
    marked = bool(call["rubric"])
    where, values = _where(
        call_id, status=status, disagreement=disagreement, reviewer=reviewer, marked=marked
    )
    collate = ' COLLATE "C"' if not is_sqlite() else ""
    order = (_ORDER if marked else _ORDER_WITHOUT_MARKS).get(sort, _ORDER["rank"])
    order = order.format(collate=collate)
    page = ""
    if limit is not None:
        page = " LIMIT {} OFFSET {}"
        values += [limit, max(offset, 0)]
    # The window runs over the narrow rows (id, amount, sort keys) of every file; the
    # titles and organisations are read for the page's rows only. Only the code's
    # constants go into the text (ORDER, the filters' placeholders); values are bound.
    rows = await Application.raw(
        "WITH ranked_page AS (SELECT a.id, "  # noqa: S608  # nosec B608
        f"SUM(a.requested_cents) OVER (ORDER BY {order} "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_total, "
        f"ROW_NUMBER() OVER (ORDER BY {order}) AS ranked_position "
        f"{_FROM}WHERE {where} ORDER BY {order}{page}) "
        "SELECT a.id, a.reference, a.title, a.status, a.requested_cents, "
        "o.name AS organisation_name, m.reviews, m.mean, m.median, m.spread, m.ranking, "
        "m.disagreement, p.running_total "
        "FROM ranked_page p JOIN application a ON a.id = p.id "
        "JOIN organisation o ON o.id = a.organisation "
        "LEFT JOIN review_file_mark m ON m.application = a.id "
        "ORDER BY p.ranked_position",
        *values,
    )
    return [
        RankedFile(
            id=r["id"],
            reference=r["reference"],
            title=r["title"],
            organisation_name=r["organisation_name"],
            status=r["status"],
            requested_cents=r["requested_cents"],
            aggregate=(
                None if not marked else Mark.stored(r) if r["reviews"] is not None else Mark.none()
            ),
            running_total=int(r["running_total"]),  # a NUMERIC on PostgreSQL
        )
        for r in rows
    ]


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


def _mark_number(mark: Any) -> float | None:
    # A number, not an amount: the exports write Decimals as euros.
    return None if mark is None else float(mark)


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
        _("File number"),
        _("Organisation"),
        _("Reviewer"),
        *[c["title"] for c in rubric],
        _("Mark /20"),
        _("Opinion"),
        _("Opinion (code)"),
        _("Comment for the staff"),
        _("Comment for the applicant"),
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
                _mark_number(mark_of(rubric, scores)),
                _(OPINION_LABELS[row["opinion"]]) if row["opinion"] in OPINION_LABELS else "",
                row["opinion"],
                row["comment_staff"],
                row["comment_applicant"],
            ]
        )
    return header, lines
