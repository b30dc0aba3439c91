"""Automatic assignment of reviewers to applications (pure rules, no database).

The officer asks for ``wanted`` reviews per application. ``auto_assign`` proposes the
pairs to add — a preview the service shows before saving anything — under these rules:

- a conflicted pair (conflict of interest declared or recorded) is never proposed;
- a reviewer is never proposed twice for the same application;
- existing pairs are kept as they are and count toward ``wanted`` and toward the
  reviewer's load, even when the pair has since become conflicted (such pairs are
  reported in ``conflicted_existing`` for the officer to deal with, not removed);
- every application gets ``wanted`` reviews, or as many as its non-conflicted
  reviewers allow; the others are reported in ``shortfalls`` with what is missing;
- the same input, in any order, gives the same plan (no randomness; every choice is
  broken by id).

Balance guarantee (exact, proved below and checked by tests against an independent
max-flow computation): among all plans that obey the rules above and fill every
application as far as it can be filled, the returned plan has the smallest possible
highest load and the largest possible lowest load among the pool's reviewers. Hence its
spread (highest − lowest load) is the smallest achievable; in particular it is ≤ 1
whenever any valid plan reaches ≤ 1. When it is more than 1 the constraints force it:
existing assignments that are already unbalanced, or reviewers whose conflicts leave
them too few applications.

How: a greedy pass fills the most constrained applications first (fewest eligible
reviewers), each with the least-loaded eligible reviewers (ties by reviewer id). A
repair pass then looks for chains of moves: reviewer r0 hands one of its new
applications to r1, r1 hands another to r2, …, ending at rk; only r0's load drops and
only rk's rises, every move keeping the rules. While a chain leads from a most-loaded
reviewer to one with at least 2 fewer, or from one with at least 2 more to a
least-loaded reviewer, it is applied (each application lowers the sum of squared loads,
so the pass ends). When no such chain exists, the set S of reviewers reachable from the
most-loaded ones holds loads ≥ max − 1, and no valid plan can put fewer new pairs into
S (every application with a new pair in S already uses all its eligible reviewers
outside S): the highest load cannot go lower. The mirror argument holds for the lowest
load. Existing pairs are never moved.

Loads count only reviewers of the pool (``reviewers``), including their existing pairs
on applications outside ``applications``; an existing pair with a reviewer who left the
pool still counts toward its application's ``wanted``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Pair = tuple[int, int]  # (application_id, reviewer_id)


@dataclass(frozen=True, slots=True)
class Shortfall:
    """An application that cannot get ``wanted`` reviews.

    ``reason`` is ``"conflicts"`` when the pool has enough reviewers but conflicts rule
    out too many of them, ``"too_few_reviewers"`` when the pool is too small anyway.
    """

    application: int
    missing: int
    reason: Literal["conflicts", "too_few_reviewers"]


@dataclass(frozen=True, slots=True)
class AssignmentPlan:
    """A preview of automatic assignment; nothing is saved until the service does it.

    - ``new_pairs``: (application_id, reviewer_id) pairs to add, sorted;
    - ``load``: reviewer_id → number of applications after the plan (existing + new),
      for every reviewer of the pool, in reviewer-id order;
    - ``shortfalls``: applications left below ``wanted``, sorted by application id;
    - ``conflicted_existing``: existing pairs that are conflicted, sorted (kept, not
      removed: the officer decides).
    """

    new_pairs: tuple[Pair, ...]
    load: Mapping[int, int]
    shortfalls: tuple[Shortfall, ...]
    conflicted_existing: tuple[Pair, ...]

    @property
    def spread(self) -> int:
        """Highest minus lowest load in the pool (0 for an empty pool)."""
        return max(self.load.values()) - min(self.load.values()) if self.load else 0

    def added_to(self, reviewer: int) -> tuple[int, ...]:
        """The applications this plan adds to ``reviewer``, sorted."""
        return tuple(a for a, r in self.new_pairs if r == reviewer)


def auto_assign(
    applications: Sequence[int],
    reviewers: Sequence[int],
    wanted: int,
    existing: Iterable[Pair],
    conflicts: Iterable[Pair],
) -> AssignmentPlan:
    """Propose reviewers so that each application gets ``wanted`` reviews, balanced.

    See the module docstring for the rules and the exact balance guarantee.
    Duplicated ids or pairs in the input are ignored; ``wanted`` must be ≥ 0.
    """
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 0:
        raise ValueError("wanted must be a non-negative integer")
    apps = sorted(set(applications))
    pool = sorted(set(reviewers))
    in_pool = set(pool)
    existing_set = set(existing)
    conflict_set = set(conflicts)

    load = dict.fromkeys(pool, 0)
    assigned: dict[int, set[int]] = {a: set() for a in apps}
    for a, r in existing_set:
        if r in in_pool:
            load[r] += 1
        if a in assigned:
            assigned[a].add(r)

    eligible: dict[int, frozenset[int]] = {}
    target: dict[int, int] = {}
    shortfalls: list[Shortfall] = []
    for a in apps:
        needed = max(0, wanted - len(assigned[a]))
        free = [r for r in pool if r not in assigned[a]]
        eligible[a] = frozenset(r for r in free if (a, r) not in conflict_set)
        target[a] = min(needed, len(eligible[a]))
        if target[a] < needed:
            reason: Literal["conflicts", "too_few_reviewers"] = (
                "conflicts" if len(free) >= needed else "too_few_reviewers"
            )
            shortfalls.append(Shortfall(a, needed - target[a], reason))

    # Greedy: the most constrained applications first, so that the flexible ones,
    # placed last, can even out the loads.
    new_of: dict[int, set[int]] = {r: set() for r in pool}
    for a in sorted(apps, key=lambda a: (len(eligible[a]), a)):
        if not target[a]:
            continue
        chosen = sorted(eligible[a], key=lambda r: (load[r], r))[: target[a]]
        for r in chosen:
            load[r] += 1
            new_of[r].add(a)
            assigned[a].add(r)

    _rebalance(pool, load, new_of, eligible)

    new_pairs = tuple(sorted((a, r) for r in pool for a in new_of[r]))
    return AssignmentPlan(
        new_pairs=new_pairs,
        load=MappingProxyType({r: load[r] for r in pool}),
        shortfalls=tuple(shortfalls),
        conflicted_existing=tuple(sorted(p for p in existing_set if p in conflict_set)),
    )


def _rebalance(
    pool: list[int],
    load: dict[int, int],
    new_of: dict[int, set[int]],
    eligible: Mapping[int, frozenset[int]],
) -> None:
    """Apply improving chains of moves until the highest load is as low as it can be
    and the lowest as high as it can be (see the module docstring). Mutates its
    arguments."""
    if len(pool) < 2:
        return
    # accepts[r]: applications that could be handed to r (eligible, not existing on r).
    accepts: dict[int, set[int]] = {r: set() for r in pool}
    for a, rs in eligible.items():
        for r in rs:
            accepts[r].add(a)

    def movable(giver: int, taker: int) -> int | None:
        """The smallest application ``giver`` holds as a new pair and ``taker`` may take."""
        candidates = (new_of[giver] & accepts[taker]) - new_of[taker]
        return min(candidates) if candidates else None

    def apply(path: list[tuple[int, int, int]]) -> None:
        for giver, application, taker in path:
            new_of[giver].remove(application)
            new_of[taker].add(application)
        load[path[0][0]] -= 1
        load[path[-1][2]] += 1

    def chain_down(top: int) -> list[tuple[int, int, int]] | None:
        """A chain from a reviewer at load ``top`` to one at ≤ top − 2."""
        starts = [r for r in pool if load[r] == top]
        parent: dict[int, tuple[int, int]] = {}
        seen = set(starts)
        queue = deque(starts)
        while queue:
            giver = queue.popleft()
            if not new_of[giver]:
                continue
            for taker in pool:
                if taker in seen:
                    continue
                application = movable(giver, taker)
                if application is None:
                    continue
                seen.add(taker)
                parent[taker] = (giver, application)
                if load[taker] <= top - 2:
                    return _unwind(parent, taker, forward=True)
                queue.append(taker)
        return None

    def chain_up(bottom: int) -> list[tuple[int, int, int]] | None:
        """A chain from a reviewer at ≥ bottom + 2 to one at load ``bottom``."""
        ends = [r for r in pool if load[r] == bottom]
        child: dict[int, tuple[int, int]] = {}
        seen = set(ends)
        queue = deque(ends)
        while queue:
            taker = queue.popleft()
            if not accepts[taker]:
                continue
            for giver in pool:
                if giver in seen:
                    continue
                application = movable(giver, taker)
                if application is None:
                    continue
                seen.add(giver)
                child[giver] = (taker, application)
                if load[giver] >= bottom + 2:
                    return _unwind(child, giver, forward=False)
                queue.append(giver)
        return None

    while True:
        top, bottom = max(load[r] for r in pool), min(load[r] for r in pool)
        if top - bottom <= 1:
            return
        path = chain_down(top) or chain_up(bottom)
        if path is None:
            return
        apply(path)


def _unwind(
    links: dict[int, tuple[int, int]], last: int, *, forward: bool
) -> list[tuple[int, int, int]]:
    """Turn BFS links into (giver, application, taker) moves from the chain's start."""
    moves = []
    node = last
    while node in links:
        other, application = links[node]
        moves.append((other, application, node) if forward else (node, application, other))
        node = other
    if forward:
        moves.reverse()
    return moves
