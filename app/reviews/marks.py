"""Each file's mark, kept (``FileMark``) so that the ranking of a call of thousands of
files does not read every review: written in the transaction that submits or reopens
one of its reviews, and by the ranking for files without one, or whose ``basis`` (the
rubric and ranking settings it was computed with) has changed since."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from app.applications.tables import Application
from app.calls import services as calls
from app.core.db import for_update, write_transaction
from app.reviews import aggregation
from app.reviews.settings import ReviewSetup, settings_for
from app.reviews.tables import Assignment, FileMark


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

    @classmethod
    def stored(cls, row: Mapping[str, Any]) -> Mark:
        """From a ``FileMark`` row (hundredths)."""
        return cls(
            reviews=row["reviews"],
            mean=_decimal(row["mean"]),
            median=_decimal(row["median"]),
            spread=_decimal(row["spread"]),
            ranking=_decimal(row["ranking"]),
            disagreement=row["disagreement"],
        )


def basis(rubric: Sequence[Mapping[str, Any]], setup: ReviewSetup) -> str:
    """What a stored mark was computed with, as a short digest."""
    text = json.dumps(
        [
            [(c.key, c.weight, c.scale) for c in aggregation.criteria(rubric)],
            setup.rank_by,
            str(setup.threshold),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _hundredths(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


def _decimal(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 100


@lru_cache(maxsize=20_000)
def _aggregate(
    reviews: tuple[str, ...],
    rubric: tuple[aggregation.Criterion, ...],
    rank_by: str,
    threshold: Decimal,
) -> aggregation.Aggregate:
    """The aggregate of a file's reviews (their scores as stored, JSON text: the key
    this cache remembers). A pure function of its arguments, remembered: when a call's
    settings change back and forth, its marks are not all computed again."""
    return aggregation.aggregate(
        [json.loads(r) for r in reviews],
        rubric,
        rank_by=rank_by,
        disagreement_threshold=threshold,
    )


async def _marks_of(
    app_ids: list[int], rubric: Sequence[Mapping[str, Any]], setup: ReviewSetup
) -> dict[int, FileMark]:
    """Compute the marks of ``app_ids`` from their submitted reviews (as FileMark rows,
    not saved)."""
    criteria = aggregation.criteria(rubric)
    current = basis(rubric, setup)
    reviews: dict[int, list[str]] = {app_id: [] for app_id in app_ids}
    for row in await Assignment.select(Assignment.application, Assignment.scores).where(
        Assignment.application.is_in(app_ids) & Assignment.submitted_at.is_not_null()
    ):
        scores = row["scores"]  # the text as stored: the cache's key
        reviews[row["application"]].append(
            scores if isinstance(scores, str) else json.dumps(scores, sort_keys=True)
        )
    found = {}
    for app_id, texts in reviews.items():
        result = _aggregate(tuple(sorted(texts)), criteria, setup.rank_by, setup.threshold)
        found[app_id] = FileMark(
            application=app_id,
            basis=current,
            reviews=result.reviews,
            mean=_hundredths(result.mean),
            median=_hundredths(result.median),
            spread=_hundredths(result.spread),
            ranking=_hundredths(result.ranking),
            disagreement=result.disagreement,
        )
    return found


async def store_mark(app_id: int, call_id: int) -> None:
    """Inside the transaction that submitted or reopened one of its reviews: the file's
    mark again. The file's row is locked first, so that two reviews of one file
    submitted at once each count the other (PostgreSQL)."""
    await for_update(Application.select(Application.id).where(Application.id == app_id))
    call = await calls.get_call(call_id)
    if not call["rubric"]:
        return
    mark = (await _marks_of([app_id], call["rubric"], await settings_for(call_id)))[app_id]
    await FileMark.delete().where(FileMark.application == app_id)
    await FileMark.insert(mark)


async def marks_of_call(
    call_id: int, app_ids: Sequence[int], rubric: Sequence[Mapping[str, Any]], setup: ReviewSetup
) -> dict[int, Mark]:
    """The marks of these files of the call, as stored; those missing or computed on
    another basis are computed and stored first (a file's reviews are read only then)."""
    current = basis(rubric, setup)
    rows = {
        m["application"]: m
        for m in await FileMark.select().where(
            (FileMark.application.call == call_id) & (FileMark.basis == current)
        )
    }
    if stale := [app_id for app_id in app_ids if app_id not in rows]:
        rows.update(await _refresh(stale, rubric, setup, current))
    return {app_id: Mark.stored(row) for app_id, row in rows.items()}


async def _refresh(
    app_ids: list[int], rubric: Sequence[Mapping[str, Any]], setup: ReviewSetup, current: str
) -> dict[int, dict]:
    """Compute and store the marks of files that had no current one (read again in
    the transaction: a concurrent request may have stored them). A review submitted
    meanwhile stores its file's mark with the current basis: that row is kept (never
    deleted, and the insert gives way to it)."""
    async with write_transaction():
        rows = {
            m["application"]: m
            for m in await FileMark.select().where(
                FileMark.application.is_in(app_ids) & (FileMark.basis == current)
            )
        }
        if missing := [app_id for app_id in app_ids if app_id not in rows]:
            computed = await _marks_of(missing, rubric, setup)
            await FileMark.delete().where(
                FileMark.application.is_in(missing) & (FileMark.basis != current)
            )
            await FileMark.insert(*computed.values()).on_conflict(
                target=FileMark.application, action="DO NOTHING"
            )
            rows.update({app_id: mark.to_dict() for app_id, mark in computed.items()})
    return rows
