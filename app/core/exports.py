"""Spreadsheet exports that open right in French (or English) Excel: the one CSV and
XLSX path of the app (the open-data file follows its own schema, ``decisions/opendata``).

Rows are typed values, the same for both formats: ``Decimal`` = an amount in euros,
``int`` = a number, ``date`` / ``datetime`` = a date / an instant (shown at Paris
time), ``str`` = text (never run as a formula: ``neutralise``), ``None`` = empty.

- CSV, French: UTF-8 with a BOM, ``;`` between cells, decimal comma (« 1234,50 »),
  dates « 17/05/2017 »; English: UTF-8 with a BOM, ``,``, decimal point, ISO dates.
- XLSX (xlsxwriter, constant memory: written row by row to a temporary file, sent,
  then removed): real date cells, amounts as numbers in the euro format, a bold
  frozen header row with an autofilter, and a totals row under the amount columns.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from litestar.background_tasks import BackgroundTask
from litestar.response import File, Stream

from app.core.i18n import get_locale
from app.core.i18n import gettext as _
from app.core.time import PARIS

CENT = Decimal("0.01")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a spreadsheet reads as the start of a formula (or of a hidden one, after a tab
# or a carriage return): such a text cell gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """Text a person typed, made safe for a spreadsheet cell: a value starting like a
    formula (=, +, -, @, tab, CR) gets a leading apostrophe, so it shows as typed and
    never runs. Used by every CSV and XLSX cell holding text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


csv_cell = neutralise  # the name the audit trail's CSV used


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one language's spreadsheet reads a CSV file."""

    delimiter: str
    decimal: str
    date: str  # strftime
    when: str  # strftime, Paris time
    xlsx_date: str
    xlsx_when: str
    xlsx_money: str


DIALECTS = {
    "fr": Dialect(";", ",", "%d/%m/%Y", "%d/%m/%Y %H:%M", "dd/mm/yyyy", "dd/mm/yyyy hh:mm",
                  '#,##0.00 "€";-#,##0.00 "€"'),
    "en": Dialect(",", ".", "%Y-%m-%d", "%Y-%m-%d %H:%M", "yyyy-mm-dd", "yyyy-mm-dd hh:mm",
                  '"€"#,##0.00;-"€"#,##0.00'),
}  # fmt: skip


def dialect(locale: str | None = None) -> Dialect:
    return DIALECTS.get(locale or get_locale(), DIALECTS["fr"])


async def _rows(rows: Iterable[list[Any]] | AsyncIterable[list[Any]]):
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


def _paris(value: datetime) -> datetime:
    return value.astimezone(PARIS).replace(tzinfo=None) if value.tzinfo else value


def _column_name(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


async def xlsx_response(
    folder: Path,
    filename: str,
    header: list[str],
    rows: Iterable[list[Any]] | AsyncIterable[list[Any]],
    *,
    locale: str | None = None,
) -> File:
    """A workbook of ``header`` and ``rows`` (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".xlsx", dir=folder)
    os.close(fd)
    style = dialect(locale)
    total_label = _("Total")
    workbook = xlsxwriter.Workbook(
        name,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False},
    )
    try:
        sheet = workbook.add_worksheet()
        bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        money = workbook.add_format({"num_format": style.xlsx_money})
        money_total = workbook.add_format({"num_format": style.xlsx_money, "bold": True})
        day = workbook.add_format({"num_format": style.xlsx_date})
        when = workbook.add_format({"num_format": style.xlsx_when})
        text = workbook.add_format({"num_format": "@"})
        for column, title in enumerate(header):
            sheet.set_column(column, column, min(max(len(title) + 2, 12), 40))
        sheet.write_row(0, 0, [neutralise(title) for title in header], bold)
        sheet.freeze_panes(1, 0)
        sums: dict[int, Decimal] = {}
        number = 1
        async for row in _rows(rows):
            for column, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Decimal):
                    sheet.write_number(number, column, float(value), money)
                    sums[column] = sums.get(column, Decimal(0)) + value
                elif isinstance(value, bool):
                    sheet.write_string(number, column, _("yes") if value else _("no"))
                elif isinstance(value, int | float):
                    sheet.write_number(number, column, value)
                elif isinstance(value, datetime):
                    sheet.write_datetime(number, column, _paris(value), when)
                elif isinstance(value, date):
                    sheet.write_datetime(
                        number, column, datetime.combine(value, datetime.min.time()), day
                    )
                else:
                    sheet.write_string(number, column, neutralise(value), text)
            number += 1
        last = number - 1
        if header:
            sheet.autofilter(0, 0, max(last, 1), len(header) - 1)
        if sums:
            # SUBTOTAL(109, …) sums the rows the autofilter leaves visible.
            first_money = min(sums)
            if first_money > 0:
                sheet.write_string(number, 0, total_label, bold)
            for column, value in sums.items():
                letter = _column_name(column)
                sheet.write_formula(
                    number,
                    column,
                    f"=SUBTOTAL(109,{letter}2:{letter}{max(last, 1) + 1})",
                    money_total,
                    float(value),
                )
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


def csv_value(value: Any, style: Dialect) -> str:
    """One CSV cell in ``style``: amounts as numbers with two decimals and the
    language's decimal mark (never neutralised, even negative: we wrote them), dates
    and Paris times as that language's spreadsheet reads them, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT)).replace(".", style.decimal)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", style.decimal)
    if isinstance(value, datetime):
        return _paris(value).strftime(style.when)
    if isinstance(value, date):
        return value.strftime(style.date)
    return neutralise(value)


async def csv_lines(
    header: list[str],
    rows: Iterable[list[Any]] | AsyncIterable[list[Any]],
    *,
    locale: str | None = None,
) -> AsyncIterator[str]:
    """A CSV file line by line for a streamed response, in the language's dialect
    (French: BOM, ``;``, decimal comma — what French Excel opens directly)."""
    style = dialect(locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=style.delimiter, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralise(title) for title in header])
    yield "\ufeff" + flush()
    async for row in _rows(rows):
        writer.writerow([csv_value(v, style) for v in row])
        yield flush()


async def table_response(
    extension: str,
    folder: Path,
    stem: str,
    header: list[str],
    rows: Iterable[list[Any]] | AsyncIterable[list[Any]],
) -> Stream | File:
    """One table as a streamed CSV file or as an XLSX workbook (``extension``), from
    the same rows of typed values, in the language of the page that asked."""
    filename = f"{stem}.{extension}"
    locale = get_locale()
    if extension == "xlsx":
        return await xlsx_response(folder, filename, header, rows, locale=locale)
    return Stream(
        csv_lines(header, rows, locale=locale),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
