"""One table, two formats, that open right in French Excel (and English Excel): the CSV
read back as French Excel reads it (BOM, ``;``, decimal comma → numbers, day/month/year
dates), the XLSX read with openpyxl (date cells, amounts as numbers in the euro format,
bold frozen header, autofilter, totals row), and text that would run as a formula kept
as text in both."""

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.core.exports import FORMULA_START, csv_lines, neutralise, xlsx_response
from app.core.i18n import use_locale

HEADER = ["Référence", "Montant (€)", "Nombre", "Date de valeur", "Saisi le", "Note"]
ROWS = [
    ["IDF-2017-0001", Decimal("200000"), 3, date(2017, 5, 17), datetime(2026, 11, 26, 9, 30, tzinfo=UTC), "=SUM(A1)"],
    ["IDF-2017-0002", Decimal("-12.5"), 4, None, None, "-5 €"],
    ["IDF-2017-0003", Decimal("1234567.89"), 0, date(2017, 12, 31), None, None],
]  # fmt: skip


def csv_of(rows, locale="fr"):
    async def collect():
        return "".join([line async for line in csv_lines(HEADER, rows, locale=locale)])

    return asyncio.run(collect())


def read_as_french_excel(text: str) -> list[list]:
    """What French Excel does with the file: a BOM says UTF-8, cells split on « ; », a
    cell of digits with a decimal comma is a number, dd/mm/yyyy is a date."""
    assert text.startswith("\ufeff")
    table = []
    for row in csv.reader(io.StringIO(text[1:]), delimiter=";"):
        cells = []
        for cell in row:
            try:
                cells.append(Decimal(cell.replace(",", ".")) if "," in cell else int(cell))
            except (ArithmeticError, ValueError):
                try:
                    cells.append(datetime.strptime(cell, "%d/%m/%Y").date())
                except ValueError:
                    cells.append(cell)
        table.append(cells)
    return table


def test_csv_opens_in_french_excel_with_numbers_and_dates():
    text = csv_of(ROWS)
    assert text.splitlines()[0] == "\ufeffRéférence;Montant (€);Nombre;Date de valeur;Saisi le;Note"
    table = read_as_french_excel(text)
    assert table[1][:4] == ["IDF-2017-0001", Decimal("200000.00"), 3, date(2017, 5, 17)]
    assert table[1][4] == "26/11/2026 10:30"  # Paris time, as on screen
    assert table[2][1] == Decimal("-12.50")  # a negative amount stays a number
    assert sum(r[1] for r in table[1:]) == Decimal("1434555.39")
    assert "1234567,89" in text  # no thousands separator to confuse the parser


def test_csv_in_english_uses_commas_and_points():
    text = csv_of(ROWS, locale="en")
    lines = text.splitlines()
    assert lines[0] == "\ufeffRéférence,Montant (€),Nombre,Date de valeur,Saisi le,Note"
    assert lines[1] == "IDF-2017-0001,200000.00,3,2017-05-17,2026-11-26 10:30,'=SUM(A1)"


def test_text_that_would_run_is_neutralised_everywhere():
    for start in FORMULA_START:
        assert neutralise(start + "x") == "'" + start + "x"
    assert neutralise("Le PoleS") == "Le PoleS" and neutralise(None) == ""
    assert neutralise(" =x") == " =x"  # only the first character counts
    table = read_as_french_excel(csv_of(ROWS))
    assert table[1][5] == "'=SUM(A1)" and table[2][5] == "'-5 €"
    assert table[3][5] == ""  # empty stays empty, not « ' »


@pytest.fixture
def workbook(tmp_path):
    def build(rows, locale="fr"):
        with use_locale(locale):
            response = asyncio.run(xlsx_response(tmp_path, "t.xlsx", HEADER, rows, locale=locale))
        return load_workbook(response.file_path).active

    return build


def test_xlsx_has_date_cells_euro_amounts_header_filter_and_totals(workbook):
    sheet = workbook(ROWS)
    assert [c.value for c in sheet[1]] == HEADER
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F4"
    amount, day, instant = sheet["B2"], sheet["D2"], sheet["E2"]
    assert amount.value == 200000 and amount.data_type == "n" and "€" in amount.number_format
    assert day.is_date and day.value == datetime(2017, 5, 17)
    assert instant.is_date and instant.value == datetime(2026, 11, 26, 10, 30)
    assert sheet["C2"].value == 3 and "€" not in sheet["C2"].number_format
    # The totals row: a label, and a sum of the visible rows under each amount column.
    assert sheet["A5"].value == "Total" and sheet["A5"].font.b
    assert sheet["B5"].value == "=SUBTOTAL(109,B2:B4)" and "€" in sheet["B5"].number_format
    # User text is text, never a formula.
    assert sheet["F2"].value == "'=SUM(A1)" and sheet["F2"].data_type == "s"


def test_xlsx_in_english(workbook):
    sheet = workbook(ROWS, locale="en")
    assert sheet["A5"].value == "Total" and sheet["D2"].number_format == "yyyy-mm-dd"
    assert workbook(ROWS)["D2"].number_format == "dd/mm/yyyy"
