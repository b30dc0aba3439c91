"""Spreadsheet exports: written row by row to a temporary file (xlsxwriter's
constant-memory mode), sent, then removed. The one XLSX path of the app."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from litestar.background_tasks import BackgroundTask
from litestar.response import File, Stream

from app.core.time import PARIS

CENT = Decimal("0.01")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _rows(rows: Iterable[list[Any]] | AsyncIterable[list[Any]]):
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


async def xlsx_response(
    folder: Path,
    filename: str,
    header: list[str],
    rows: Iterable[list[Any]] | AsyncIterable[list[Any]],
) -> File:
    """A workbook of ``header`` and ``rows``: Decimals as numbers with two decimals,
    date-times in Paris time, text always as text (never a formula)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".xlsx", dir=folder)
    os.close(fd)
    workbook = xlsxwriter.Workbook(name, {"constant_memory": True, "strings_to_formulas": False})
    try:
        sheet = workbook.add_worksheet()
        money = workbook.add_format({"num_format": "#,##0.00"})
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_row(0, 0, header)
        number = 1
        async for row in _rows(rows):
            for column, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Decimal):
                    sheet.write_number(number, column, float(value), money)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(number, column, value)
                elif isinstance(value, datetime):
                    sheet.write_datetime(
                        number, column, value.astimezone(PARIS).replace(tzinfo=None), when
                    )
                else:
                    sheet.write_string(number, column, str(value))
            number += 1
        workbook.close()
    except BaseException:
        workbook.close()
        os.unlink(name)
        raise
    return File(
        path=name,
        filename=filename,
        media_type=XLSX_MEDIA_TYPE,
        background=BackgroundTask(os.unlink, name),
    )


def csv_cell(value: Any) -> str:
    """A CSV cell: text that a spreadsheet would run as a formula is kept as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def csv_lines(
    header: list[str], rows: Iterable[list[Any]] | AsyncIterable[list[Any]]
) -> AsyncIterator[str]:
    """A CSV file line by line for a streamed response: UTF-8 with a BOM and ``;`` (what
    French spreadsheets open directly). Numbers and ISO dates pass as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield "\ufeff" + flush()
    async for row in _rows(rows):
        writer.writerow([_csv_value(v) for v in row])
        yield flush()


def _csv_value(value: Any) -> Any:
    # Amounts stay numbers (never text, even negative), with two decimals.
    if isinstance(value, Decimal):
        return value.quantize(CENT)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.astimezone(PARIS).isoformat()  # Paris time, as shown on screen
    return csv_cell(value)


async def table_response(
    extension: str,
    folder: Path,
    stem: str,
    header: list[str],
    rows: Iterable[list[Any]] | AsyncIterable[list[Any]],
) -> Stream | File:
    """One table as a streamed CSV file or as an XLSX workbook (``extension``), from
    the same rows of typed values: Decimals (euros), date-times, numbers and text."""
    filename = f"{stem}.{extension}"
    if extension == "xlsx":
        return await xlsx_response(folder, filename, header, rows)
    return Stream(
        csv_lines(header, rows),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
