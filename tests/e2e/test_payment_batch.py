"""Finance's payment batch in a browser, on the demo (four first instalments approved and
waiting): select all, make the batch, export it — the CSV read as French Excel reads it
(BOM, « ; », decimal comma → numbers), the XLSX with openpyxl (date cells, euro amounts,
a totals row) — then mark it paid with the mandate number: the instalments leave the
list of what waits, and marking again is not offered."""

import csv
import io
import re
from datetime import datetime
from decimal import Decimal

from openpyxl import load_workbook

from tests.e2e.conftest import Live, Watched
from tests.e2e.test_review import sign_in, sign_out


def normalised(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_finance_exports_a_payment_batch_and_marks_it_paid(live: Live, watched: Watched):
    page = watched.page
    sign_in(page, live, "finances@demo.guichet.test")
    page.goto(live.url + "/finances")
    page.get_by_role("link", name="Lots de mandatement").click()
    page.get_by_role("link", name="Tout sélectionner").click()
    boxes = page.get_by_role("checkbox")
    page.wait_for_url(re.compile(r"/finances/lots\?tous=1"))
    assert boxes.count() >= 4 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    waiting = boxes.count()
    page.get_by_role("button", name="Constituer un lot des échéances sélectionnées").click()
    page.get_by_text("Le lot est prêt").wait_for()
    page.wait_for_url(re.compile(r"/finances/lots/\d+$"))
    batch = re.search(r"/finances/lots/(\d+)$", page.url).group(1)
    shown_total = normalised(page.locator("tfoot").inner_text())

    # The CSV as French Excel opens it: numbers with a decimal comma that add up.
    href = page.get_by_role("link", name="CSV").get_attribute("href")
    export = page.request.get(live.url + href)
    assert export.status == 200 and export.body().startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(export.text().lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == waiting
    amounts = [Decimal(r["Montant (€)"].replace(",", ".")) for r in rows]
    total = sum(amounts)
    assert f"{total:,.2f}".replace(",", " ").replace(".", ",") in shown_total
    assert all(r["IBAN"].startswith("FR") and r["SIRET"].isdigit() for r in rows)
    assert {r["Référence de la décision"] for r in rows} == {"CP 2017-123"}

    # The workbook: a date cell for the decision, euro amounts, a totals row.
    href = page.get_by_role("link", name="Excel").get_attribute("href")
    sheet = load_workbook(io.BytesIO(page.request.get(live.url + href).body())).active
    header = [c.value for c in sheet[1]]
    amount = header.index("Montant (€)") + 1
    decided = sheet.cell(2, header.index("Date de la décision") + 1)
    assert decided.is_date and decided.value == datetime(2017, 5, 17)
    assert "€" in sheet.cell(2, amount).number_format
    assert sheet.cell(waiting + 2, 1).value == "Total"
    assert sheet.cell(waiting + 2, amount).value == f"=SUBTOTAL(109,G2:G{waiting + 1})"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref

    # The mandate is issued: the batch is marked paid, once.
    page.get_by_label("Numéro de mandat du lot").fill("M-2019-00100")
    page.get_by_label("Date de valeur").fill("2019-04-02")
    page.get_by_role("button", name="Marquer payé").click()
    page.get_by_text(f"{waiting} versements enregistrés.").wait_for()
    assert "M-2019-00100" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Marquer payé").count() == 0
    page.goto(live.url + "/finances/lots")
    assert page.get_by_role("checkbox").count() == 0
    assert f"Lot {batch}" in page.locator("main").inner_text()
    watched.assert_clean()
    sign_out(page)
