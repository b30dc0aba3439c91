"""Each file's mark, kept (``FileMark``) so that the ranking of a call of thousands of
files does not read every review: written by the write that changes it, in its
transaction: a review submitted or reopened (``store_mark``), the call's ranking
settings saved (``refresh_marks``, every file of the call). The ranking only reads
them, never writes (a GET never writes): a file without a stored mark has no
submitted review. ``basis`` records the rubric and settings a mark was computed with.
The rubric cannot change once a review is submitted (``calls.lock_rubric``)."""

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
from app.core.bulk import chunked, insert_many
from app.core.db import for_update
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
    def none(cls) -> Mark:
        """A file without a submitted review (and without a stored mark)."""
        return cls(reviews=0, mean=None, median=None, spread=None, ranking=None, disagreement=False)

    @classmethod
    def stored(cls, row: Mapping[str, Any]) -> Mark:
        """From a ``FileMark`` row (hundredths)."""
        return cls(
            reviews=row["reviews"],
            mean=_decimal(row["mean"]),
            median=_decimal(row["median"]),
            spread=_decimal(row["spread"]),
            ranking=_decimal(row["ranking"]),
            disagreement=bool(row["disagreement"]),
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
    for part in chunked(app_ids, 1000):
        for row in await Assignment.select(Assignment.application, Assignment.scores).where(
            Assignment.application.is_in(list(part)) & Assignment.submitted_at.is_not_null()
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


async def refresh_marks(call_id: int) -> int:
    """Inside the write transaction that invalidated them (the call's ranking settings
    saved, reviews written without the services): the marks of every file of the call
    with a reviewer, computed again from its submitted reviews. The ranking only reads
    them (a file without a stored mark has no submitted review). Returns how many."""
    # The files locked first, as ``store_mark`` does (PostgreSQL): a review submitted
    # meanwhile is either counted here or computed after these settings.
    await for_update(Application.select(Application.id).where(Application.call == call_id))
    call = await calls.get_call(call_id)
    await FileMark.delete().where(
        FileMark.application.is_in(
            Application.select(Application.id).where(Application.call == call_id)
        )
    )
    if not call["rubric"]:
        return 0
    app_ids = sorted(
        {
            r["application"]
            for r in await Assignment.select(Assignment.application).where(
                Assignment.application.call == call_id
            )
        }
    )
    computed = await _marks_of(app_ids, call["rubric"], await settings_for(call_id))
    return await insert_many(FileMark, computed.values())
