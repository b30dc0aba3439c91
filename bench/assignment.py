"""Automatic reviewer assignment at the size of a large call.

2 000 applications × 40 reviewers, 3 reviews wanted, about 2 % of pairs conflicted,
200 existing assignments. Goal: median under 2 seconds.

Run from the project root: ``python -m bench.assignment``.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from app.reviews.assignment import auto_assign

APPLICATIONS = 2000
REVIEWERS = 40
WANTED = 3
CONFLICT_RATE = 0.02
EXISTING = 200
RUNS = 5
GOAL_SECONDS = 2.0


def instance(seed: int = 2016):
    rng = random.Random(seed)
    applications = list(range(1, APPLICATIONS + 1))
    reviewers = list(range(1001, 1001 + REVIEWERS))
    conflicts = {(a, r) for a in applications for r in reviewers if rng.random() < CONFLICT_RATE}
    existing: set[tuple[int, int]] = set()
    while len(existing) < EXISTING:
        pair = (rng.choice(applications), rng.choice(reviewers))
        if pair not in conflicts:
            existing.add(pair)
    return applications, reviewers, existing, conflicts


def main() -> int:
    applications, reviewers, existing, conflicts = instance()
    timings = []
    plan = None
    for _ in range(RUNS):
        start = time.perf_counter()
        plan = auto_assign(applications, reviewers, WANTED, existing, conflicts)
        timings.append(time.perf_counter() - start)
    assert plan is not None
    median = statistics.median(timings)
    loads = plan.load.values()
    print(
        f"auto_assign {APPLICATIONS} applications × {REVIEWERS} reviewers, wanted={WANTED}, "
        f"{len(conflicts)} conflicts, {len(existing)} existing"
    )
    print(f"  new pairs: {len(plan.new_pairs)}, shortfalls: {len(plan.shortfalls)}")
    print(f"  load: min {min(loads)}, max {max(loads)}, spread {plan.spread}")
    print(f"  median of {RUNS} runs: {median:.3f} s (goal < {GOAL_SECONDS} s)")
    return 0 if median < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
