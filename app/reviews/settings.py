"""How a call's files are reviewed: reviews per file, due date, blind review, what
reviewers see of the others' reviews, what ranks the files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.numbers import NumberError, parse_decimal, whole_number
from app.core.time import TimeError, parse_paris
from app.reviews.errors import ReviewError
from app.reviews.tables import ReviewSettings, Visibility

RANK_BY = ("mean", "median")

# A due date as typed that is not a Paris time (``core.time.TimeError``'s codes).
_DUE_AT = {
    "datetime": N_("Enter a date and time, e.g. 17/03/2017 12:00."),
    "datetime_gap": N_(
        "This time does not exist in Paris (the clocks go forward): choose another."
    ),
}


@dataclass(frozen=True, slots=True)
class ReviewSetup:
    """A call's review settings (the defaults until an officer saves some)."""

    call_id: int
    reviews_wanted: int = 2
    due_at: datetime | None = None
    blind: bool = False
    visibility: str = Visibility.after_own.value  # never | after_own | always
    rank_by: str = "mean"  # mean | median
    # Disagreement when reviewers' marks /20 differ by more than this (hundredths).
    threshold_hundredths: int = 400

    @property
    def threshold(self) -> Decimal:
        """The disagreement threshold, in points out of 20."""
        return Decimal(self.threshold_hundredths) / 100


def _setup(row: Mapping[str, Any]) -> ReviewSetup:
    return ReviewSetup(
        call_id=row["call"],
        reviews_wanted=row["reviews_wanted"],
        due_at=row["due_at"],
        blind=row["blind"],
        visibility=row["visibility"],
        rank_by=row["rank_by"],
        threshold_hundredths=row["threshold_hundredths"],
    )


async def settings_for(call_id: int) -> ReviewSetup:
    row = await ReviewSettings.select().where(ReviewSettings.call == call_id).first()
    return _setup(row) if row else ReviewSetup(call_id=call_id)


async def due_dates(call_ids: Iterable[int]) -> dict[int, datetime]:
    """The due date of each of these calls that has one."""
    rows = await ReviewSettings.select(ReviewSettings.call, ReviewSettings.due_at).where(
        ReviewSettings.call.is_in(sorted(set(call_ids)) or [0])
        & ReviewSettings.due_at.is_not_null()
    )
    return {r["call"]: r["due_at"] for r in rows}


async def save_settings(call_id: int, values: Mapping[str, Any], *, actor: Actor) -> None:
    """reviews_wanted 1–10, rank by mean or median, what reviewers see of the others'
    reviews, the disagreement threshold in points /20 (0 to 20), a due date in Paris."""
    wanted = whole_number(str(values.get("reviews_wanted", "")))
    if wanted is None or not 1 <= wanted <= 10:
        raise ReviewError(
            "reviews_wanted",
            N_("Enter a number of reviews per file between 1 and 10."),
            field="reviews_wanted",
        )
    if values.get("rank_by") not in RANK_BY:
        raise ReviewError("rank_by", N_("Choose an option from the list."), field="rank_by")
    if values.get("visibility") not in tuple(Visibility):
        raise ReviewError("visibility", N_("Choose an option from the list."), field="visibility")
    try:
        threshold = parse_decimal(str(values.get("threshold", "")))
    except NumberError:
        threshold = None
    if threshold is None or not 0 <= threshold <= 20:
        raise ReviewError(
            "threshold", N_("Enter a gap in points out of 20, e.g. 4."), field="threshold"
        )
    due_at = None
    if values.get("due_at"):
        try:
            due_at = parse_paris(values["due_at"])
        except TimeError as exc:
            raise ReviewError(exc.code, _DUE_AT[exc.code], field="due_at") from None
    columns = {
        ReviewSettings.reviews_wanted: wanted,
        ReviewSettings.rank_by: values["rank_by"],
        ReviewSettings.visibility: values["visibility"],
        ReviewSettings.blind: values.get("blind") == "yes",
        ReviewSettings.threshold_hundredths: int(threshold * 100),
        ReviewSettings.due_at: due_at,
    }
    async with write_transaction():
        if await ReviewSettings.exists().where(ReviewSettings.call == call_id):
            await ReviewSettings.update(columns).where(ReviewSettings.call == call_id)
        else:
            await ReviewSettings.insert(
                ReviewSettings(call=call_id, **{c._meta.name: v for c, v in columns.items()})
            )
        await audit.record_by(actor, "reviews.settings_changed", "call", call_id, wanted=wanted)
        # What the marks are computed with may have changed: they follow, in this
        # transaction (the ranking only reads them). Imported here: marks reads settings.
        from app.reviews.marks import refresh_marks

        await refresh_marks(call_id)
