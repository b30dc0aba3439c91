"""One table, two formats: the CSV cells of typed rows (amounts stay numbers with two
decimals, date-times in ISO 8601 at Paris time, text that a spreadsheet would run kept as text)."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from app.core.exports import csv_lines


def csv_of(rows):
    async def collect():
        return "".join([line async for line in csv_lines(["a", "b", "c", "d"], rows)])

    return asyncio.run(collect())


def test_typed_cells():
    text = csv_of(
        [
            [Decimal("200000"), Decimal("-12.5"), 3, True],
            [datetime(2026, 11, 26, 9, 30, tzinfo=UTC), "=SUM(A1)", "-5 €", None],
        ]
    )
    assert text == (
        "\ufeffa;b;c;d\r\n200000.00;-12.50;3;True\r\n2026-11-26T10:30:00+01:00;'=SUM(A1);'-5 €;\r\n"
    )
