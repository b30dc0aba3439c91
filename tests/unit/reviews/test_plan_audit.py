"""A saved plan of thousands of pairs is audited in as few entries as the summary's size
limit allows, every pair listed once."""

import random

from app.core.audit import summary_json
from app.reviews.pool import audit_parts


def test_a_large_plan_is_listed_whole_in_a_few_entries_each_under_the_limit():
    rng = random.Random(20)
    pairs = {(rng.randrange(1, 10_000_000), rng.randrange(100_000, 100_040)) for _ in range(6000)}
    parts = audit_parts(sorted(pairs))
    assert 1 < len(parts) <= 20
    for n, part in enumerate(parts, start=1):
        summary_json({"count": 60_000, "part": n, "parts": len(parts), "files_by_reviewer": part})
    listed = [(a, int(r)) for part in parts for r, apps in part.items() for a in apps]
    assert sorted(listed) == sorted(pairs)


def test_a_small_plan_is_one_entry():
    assert audit_parts([(3, 7), (1, 7), (2, 9)]) == [{"7": [1, 3], "9": [2]}]
