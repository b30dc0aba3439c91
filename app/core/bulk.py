"""Many rows inserted, or given the same new values, in chunks both databases accept.

One INSERT carries one bind parameter per column of each row: asyncpg refuses a
statement of more than 32 767 (PostgreSQL's limit), SQLite (3.32 and later) more than
32 766. ``insert_many`` is the one way to insert a number of rows that grows with the
data (marks of a call, assignments of a plan): call it inside the ``write_transaction``
that makes the change, so that every chunk is written or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from piccolo.table import Table

# Bind parameters of one statement, under both databases' limits.
MAX_PARAMETERS = 32_000


def chunk_size(table: type[Table]) -> int:
    """Rows per INSERT for ``table``: every column counted, so that any row fits."""
    return max(1, MAX_PARAMETERS // len(table._meta.columns))


def chunked(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def insert_many(
    table: type[Table], rows: Iterable[Table], *, ignore_conflicts_on: Any = None
) -> int:
    """Insert ``rows`` (instances of ``table``) in as few statements as the limit
    allows; ``ignore_conflicts_on``: a unique column whose conflicts insert nothing
    (``ON CONFLICT (column) DO NOTHING``). Returns the number of rows given."""
    rows = list(rows)
    for part in chunked(rows, chunk_size(table)):
        query = table.insert(*part)
        if ignore_conflicts_on is not None:
            query = query.on_conflict(target=ignore_conflicts_on, action="DO NOTHING")
        await query
    return len(rows)


async def update_where_in(table: type[Table], values: dict[Any, Any], ids: Sequence[int]) -> int:
    """``UPDATE table SET values WHERE id IN ids``, the ids in chunks under the bind
    limit: the one way to give many rows the same new values (call it inside the
    ``write_transaction`` that makes the change). Returns the number of ids given."""
    ids = sorted(set(ids))
    for part in chunked(ids, MAX_PARAMETERS - len(values)):
        await table.update(values).where(table._meta.primary_key.is_in(list(part)))
    return len(ids)
