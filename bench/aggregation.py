"""Ranking aggregation at the size of a large call.

10 000 applications × 3 reviews × 8 criteria (weights 1–3, scales 5–20), marks
drawn at random. Goal: median under 2 seconds for the whole ranking, so the
ranking page of the largest call stays usable.

Run from the project root: ``python -m bench.aggregation``.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from decimal import Decimal

from app.reviews.aggregation import Criterion, aggregate

APPLICATIONS = 10_000
REVIEWS = 3
RUNS = 5
GOAL_SECONDS = 2.0


def instance(seed: int = 2026):
    rng = random.Random(seed)
    rubric = tuple(
        Criterion(
            key=f"c{i}",
            title=f"Critère {i}",
            weight=rng.randint(1, 3),
            scale=rng.choice((5, 10, 20)),
        )
        for i in range(8)
    )
    files = [
        [{c.key: rng.randint(0, c.scale) for c in rubric} for _ in range(REVIEWS)]
        for _ in range(APPLICATIONS)
    ]
    return rubric, files


def main() -> int:
    rubric, files = instance()
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        results = [
            aggregate(reviews, rubric, rank_by="median", disagreement_threshold=Decimal("4"))
            for reviews in files
        ]
        timings.append(time.perf_counter() - start)
    median = statistics.median(timings)
    disagreements = sum(1 for r in results if r.disagreement)
    print(f"aggregate {APPLICATIONS} applications × {REVIEWS} reviews × {len(rubric)} criteria")
    print(f"  disagreements (spread > 4/20): {disagreements}")
    print(f"  median of {RUNS} runs: {median:.3f} s (goal < {GOAL_SECONDS} s)")
    return 0 if median < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
