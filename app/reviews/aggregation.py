"""Scores of one application: each review's mark, and what the reviews say together.

Pure functions on marks, no database. A rubric (grille) is a sequence of criteria;
each has a ``weight`` (positive integer) and a ``scale`` (the highest mark; marks go
from 0 to ``scale``). A review gives one mark per criterion.

A review's mark out of 20 is ``20 × Σ(weight × mark / scale) / Σ weight``: each
criterion counts by its weight whatever its scale.

Rounding: every computation is exact (rational arithmetic on the int and ``Decimal``
marks given), and each value returned is rounded once, half-up, to 2 decimals. So the
mean of three marks is the rounded mean of the exact marks, not the mean of rounded
marks. Two deliberate exceptions, so that what is shown stays consistent:

- the marks out of 100 are exactly 5 × the rounded marks out of 20 (12.35/20 is shown
  as 61.75/100, never 61.73);
- the disagreement flag compares the rounded spread (the one shown) with the
  threshold: a spread shown as 4.00 is not flagged for a threshold of 4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import lcm
from types import MappingProxyType
from typing import Literal

Mark = int | Decimal
RankBy = Literal["mean", "median"]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One line of the rubric: marks from 0 to ``scale``, counted ``weight`` times."""

    key: str
    title: str
    weight: int
    scale: int


@dataclass(frozen=True, slots=True)
class Aggregate:
    """What the reviews of one application say together (2 decimals, half-up).

    - ``reviews``: number of reviews;
    - ``criterion_means``: criterion key → mean mark on that criterion's own scale
      (None without reviews), in rubric order;
    - ``marks``: each review's mark out of 20, in the order given;
    - ``mean``, ``median``: of the reviews' marks, out of 20 (None without reviews);
    - ``mean_100``, ``median_100``: the same out of 100 (5 × the values out of 20);
    - ``spread``: highest minus lowest review mark out of 20 (0 for one review);
    - ``disagreement``: spread strictly above the call's threshold;
    - ``rank_by``, ``ranking``: which of mean and median ranks the application, and
      its value out of 20.
    """

    reviews: int
    criterion_means: Mapping[str, Decimal | None]
    marks: tuple[Decimal, ...]
    mean: Decimal | None
    median: Decimal | None
    mean_100: Decimal | None
    median_100: Decimal | None
    spread: Decimal | None
    disagreement: bool
    rank_by: RankBy
    ranking: Decimal | None


def criteria(rubric: Sequence[Mapping]) -> tuple[Criterion, ...]:
    """A call's rubric as stored (its criteria as mappings) as ``Criterion``s."""
    return tuple(
        Criterion(key=c["key"], title=c["title"], weight=c["weight"], scale=c["scale"])
        for c in rubric
    )


def check_rubric(rubric: Sequence[Criterion]) -> None:
    """Refuse a rubric that cannot score: empty, duplicate keys, weight or scale ≤ 0."""
    if not rubric:
        raise ValueError("the rubric has no criterion")
    keys = [c.key for c in rubric]
    if len(set(keys)) != len(keys):
        raise ValueError("two criteria share a key")
    for c in rubric:
        for name, value in (("weight", c.weight), ("scale", c.scale)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"criterion {c.key!r}: {name} must be a positive integer")


def weighted_mark(scores: Mapping[str, Mark], rubric: Sequence[Criterion]) -> Decimal:
    """One review's mark out of 20, rounded half-up to 2 decimals."""
    check_rubric(rubric)
    return _round(_exact_mark(scores, rubric))


def aggregate(
    reviews: Sequence[Mapping[str, Mark]],
    rubric: Sequence[Criterion],
    *,
    rank_by: RankBy,
    disagreement_threshold: Decimal | int,
) -> Aggregate:
    """Combine the reviews of one application (see the module docstring for rounding).

    Raises ValueError when a review misses a criterion, has one the rubric does not
    know, or gives a mark outside 0..scale; TypeError for a mark that is neither an int
    nor a Decimal (a float would carry binary rounding errors into the ranking).
    """
    _checked(tuple(rubric))
    if rank_by not in ("mean", "median"):
        raise ValueError("rank_by must be 'mean' or 'median'")
    threshold = _as_fraction(disagreement_threshold, "disagreement_threshold")
    if threshold < 0:
        raise ValueError("disagreement_threshold must not be negative")

    exact = [_exact_mark(review, rubric) for review in reviews]
    if not exact:
        return Aggregate(
            reviews=0,
            criterion_means=MappingProxyType(dict.fromkeys((c.key for c in rubric), None)),
            marks=(),
            mean=None,
            median=None,
            mean_100=None,
            median_100=None,
            spread=None,
            disagreement=False,
            rank_by=rank_by,
            ranking=None,
        )

    count = len(exact)
    criterion_means: dict[str, Decimal | None] = {
        c.key: _round(
            Fraction(
                sum(r[c.key] if type(r[c.key]) is int else Fraction(r[c.key]) for r in reviews)
            )
            / count
        )
        for c in rubric
    }
    ordered = sorted(exact)
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    mean = _round(sum(exact, Fraction(0)) / count)
    median_20 = _round(median)
    spread = _round(ordered[-1] - ordered[0])
    return Aggregate(
        reviews=count,
        criterion_means=MappingProxyType(criterion_means),
        marks=tuple(_round(m) for m in exact),
        mean=mean,
        median=median_20,
        mean_100=mean * 5,
        median_100=median_20 * 5,
        spread=spread,
        disagreement=Fraction(spread) > threshold,
        rank_by=rank_by,
        ranking=mean if rank_by == "mean" else median_20,
    )


@lru_cache(maxsize=64)
def _checked(rubric: tuple[Criterion, ...]) -> bool:
    check_rubric(rubric)
    return True


@lru_cache(maxsize=64)
def _plan(rubric: tuple[Criterion, ...]) -> tuple[frozenset[str], tuple[int, ...], int]:
    """For a rubric: its keys, each criterion's integer factor over a common
    denominator (weight × L / scale, L the scales' lcm), and that denominator × Σ weight.
    A review's exact mark /20 is then 20 × Σ factor × mark / denominator."""
    common = lcm(*(c.scale for c in rubric))
    factors = tuple(c.weight * (common // c.scale) for c in rubric)
    return frozenset(c.key for c in rubric), factors, common * sum(c.weight for c in rubric)


def _exact_mark(scores: Mapping[str, Mark], rubric: Sequence[Criterion]) -> Fraction:
    keys, factors, denominator = _plan(tuple(rubric))
    if len(scores) != len(keys) or scores.keys() != keys:
        missing = [c.key for c in rubric if c.key not in scores]
        if missing:
            raise ValueError(f"no mark for criterion {', '.join(map(repr, missing))}")
        unknown = sorted(set(scores) - keys)
        raise ValueError(f"mark for an unknown criterion {', '.join(map(repr, unknown))}")
    total: Fraction | int = 0
    for c, factor in zip(rubric, factors, strict=True):
        value = scores[c.key]
        # Whole marks stay in integer arithmetic (fast); Decimals go through Fraction.
        mark = value if type(value) is int else _as_fraction(value, c.key)
        if not 0 <= mark <= c.scale:
            raise ValueError(f"criterion {c.key!r}: mark {value} is outside 0–{c.scale}")
        total += factor * mark
    return Fraction(20 * total) / denominator


def _as_fraction(value: Mark, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"{what}: expected an int or a Decimal, got {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{what}: {value} is not a number")
    return Fraction(value)


def _round(value: Fraction) -> Decimal:
    """Half-up to 2 decimals, exactly, from a rational value (never negative here)."""
    if value < 0:
        raise ValueError("marks are never negative")
    cents, rest = divmod(value.numerator * 100, value.denominator)
    if 2 * rest >= value.denominator:
        cents += 1
    return Decimal(cents).scaleb(-2)
