"""The committee's sheet in a browser at its real size: a call of 300 reviewed files
(tests/e2e/committee_300.py), decided by the officer with two bulk actions — the 120
files marked 13 or more receive the amount requested (1 800 000 € of an envelope of
2 000 000 €), the 180 others are rejected with one reason — after awarding all 300 at
once was refused for the envelope; then the annex to the deliberation lists the 300
files with the right total, as PDF and XLSX."""

import io
import re
import sys
import time

import openpyxl
import pypdf
import pytest

from tests.e2e import committee_300 as data
from tests.e2e.conftest import Live, Watched, _live

REASON = "Le projet est moins bien classé que ceux retenus dans l'enveloppe."


@pytest.fixture(scope="module")
def live(databases, tmp_path_factory):
    """A server whose database holds only the call of 300 files (no demo)."""
    yield from _live(
        databases, tmp_path_factory, fill=[sys.executable, "-m", "tests.e2e.committee_300"]
    )


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def ticks(page):
    return page.locator('input[type=checkbox][name="ids"]')


def filter_sheet(page, expected: str, *, decision: str = "Tous", mark_min: str = "") -> None:
    page.get_by_label("Décision", exact=True).select_option(label=decision)
    page.get_by_label("Note de", exact=True).fill(mark_min)
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(re.escape(expected)))


def tick_all(page, expected: int) -> None:
    page.get_by_role("button", name="Tout sélectionner").click()
    rows = ticks(page)
    assert rows.count() == expected
    # Every box ticked, checked in one round trip rather than 300.
    assert rows.evaluate_all("boxes => boxes.every(b => b.checked)")


def test_300_files_decided_with_two_bulk_actions_and_the_annex(
    live: Live, watched: Watched, tmp_path
):
    page = watched.page
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(data.OFFICER)
    page.get_by_label("Mot de passe").fill(data.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    page.goto(live.url + "/instruction/appels")
    page.get_by_role("link", name=data.TITLE).first.click()
    page.wait_for_url(re.compile(r"/instruction/appels/\d+$"))
    page.get_by_role("link", name="Décisions", exact=True).click()
    page.wait_for_url(re.compile(r"/decisions$"))
    sheet = page.url

    started = time.perf_counter()
    page.goto(sheet)
    loaded = time.perf_counter() - started
    assert ticks(page).count() == data.FILES
    assert "300 dossiers affichés" in plain(page.locator(".select-bar").inner_text())
    # Best ranked first: the 15 files marked 20, then those marked 19…
    marks = page.locator(".decision-sheet tbody td:nth-child(4)").all_inner_texts()
    assert len(marks) == 300 and marks[0].startswith("20") and marks[-1].startswith("1,")
    watched.assert_clean()  # the 300 rows: no console error, no CSP violation, axe clean
    assert loaded < 10, f"the sheet of 300 files took {loaded:.1f} s"

    # All 300 at once would need 4 500 000 €: refused, the ticks kept, nothing decided.
    tick_all(page, 300)
    page.get_by_role("button", name="Accorder le montant demandé aux dossiers cochés").click()
    page.wait_for_load_state()
    message = plain(page.locator(".error-summary, [role=alert]").first.inner_text())
    assert "dépasseraient l’enveloppe" in message, message
    assert "4 500 000,00 €" in message and "2 000 000,00 €" in message
    assert ticks(page).evaluate_all("boxes => boxes.filter(b => b.checked).length") == 300
    assert "0 attribution" in plain(page.locator("#decision-totals").inner_text())

    # The top of the ranking, within the envelope: the 120 files marked 13 or more.
    page.goto(sheet)
    filter_sheet(page, "mark_min=13", mark_min=str(data.TOP_MARK))
    tick_all(page, data.TOP_FILES)
    page.get_by_role("button", name="Accorder le montant demandé aux dossiers cochés").click()
    page.get_by_text(re.compile(r"120 dossiers ont reçu le montant demandé")).wait_for()
    assert "mark_min=13" in page.url  # the filters stay

    # The rest, rejected with one reason.
    filter_sheet(page, "decision=none", decision="non décidé")
    tick_all(page, data.FILES - data.TOP_FILES)
    page.get_by_label("Motif du refus").fill(REASON)
    page.get_by_role("button", name="Refuser les dossiers cochés").click()
    page.get_by_text("180 dossiers refusés.").wait_for()

    # The sticky totals, and every one of the 300 rows decided.
    page.goto(sheet)
    totals = plain(page.locator("#decision-totals").inner_text())
    assert "Proposé à ce jour\n1 800 000,00 €" in totals, totals
    assert "Reste\n200 000,00 €" in totals, totals
    assert "120 attributions" in totals and "180 rejets" in totals
    assert "300 décisions pas encore publiées" in totals
    assert page.locator(".decision-sheet .tag--award").count() == 120
    assert page.locator(".decision-sheet .tag--reject").count() == 180
    assert page.get_by_text("— non décidé —").count() == 0
    # The totals stay in sight at the foot of a long sheet.
    page.locator(".decision-sheet tbody tr").last.scroll_into_view_if_needed()
    assert page.locator("#decision-totals").is_visible()
    box = page.locator("#decision-totals").bounding_box()
    assert box is not None and 0 <= box["y"] < page.viewport_size["height"]

    # The annex: 300 lines, 120 grants, 1 800 000 €.
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Annexe à la délibération (PDF)").click()
    assert pdf_download.value.suggested_filename.endswith("-projet.pdf")
    reader = pypdf.PdfReader(pdf_download.value.path())
    text = plain(" ".join(p.extract_text() for p in reader.pages))
    assert "PROJET" in text and "120 subventions" in text
    assert len(set(re.findall(r"C300-\d{4}", text))) == 300
    assert "1 800 000,00 €" in text

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Annexe au format Excel").click()
    with open(xlsx_download.value.path(), "rb") as workbook:
        sheet_xlsx = openpyxl.load_workbook(io.BytesIO(workbook.read())).active
    lines = [[c.value for c in row] for row in sheet_xlsx.iter_rows(min_row=3, max_row=302)]
    assert len({line[0] for line in lines}) == 300
    assert all(line[0].startswith("C300-") for line in lines)
    amounts = [line[4] for line in lines if line[4]]
    assert len(amounts) == 120 and sum(amounts) == data.TOP_CENTS / 100
    total = [c.value for c in sheet_xlsx[303]]
    assert total[0] == "Total" and total[4] == "=SUM(E3:E302)"
