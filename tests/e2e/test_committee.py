"""The committee's sheet in a browser, on the demo's Centre-Val de Loire call: the
officer narrows the sheet to the files reviewed, ticks them all (the script), awards
the amount requested to three, rejects the others with one reason, and downloads the
annex to the deliberation (PDF and XLSX, marked « projet »)."""

import io
import re

import openpyxl
import pypdf

from tests.e2e.conftest import Live, Watched

PASSWORD = "demo-guichet-2026"
CVL_CALL = "Compétences numériques et insertion des jeunes"


def sign_in(page, live, email):
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()


def ticks(page):
    return page.locator('input[type=checkbox][name="ids"]')


def test_committee_decides_in_two_bulk_actions_and_exports_the_annex(
    live: Live, watched: Watched, tmp_path
):
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(live.url + "/instruction/appels")
    # The open call, not next year's edition (a draft of the same title).
    page.locator("tbody tr", has=page.locator(".tag--published")).get_by_role(
        "link", name=CVL_CALL
    ).click()
    page.wait_for_url(re.compile(r"/instruction/appels/\d+$"))
    page.get_by_role("link", name="Décisions", exact=True).click()
    page.wait_for_url(re.compile(r"/decisions$"))
    page.get_by_label("Statut").select_option(label="évalué")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"status=reviewed"))
    rows = ticks(page)
    assert rows.count() == 5

    # « Tout sélectionner » ticks the rows here (no request: the URL stays).
    url = page.url
    page.get_by_role("button", name="Tout sélectionner").click()
    assert all(rows.nth(i).is_checked() for i in range(5)) and page.url == url
    rows.nth(3).uncheck()
    rows.nth(4).uncheck()
    watched.assert_clean()
    page.get_by_role("button", name="Accorder le montant demandé aux dossiers cochés").click()
    page.get_by_text(re.compile(r"3 dossiers ont reçu le montant demandé")).wait_for()
    assert "status=reviewed" in page.url  # the filters stay

    page.get_by_label("Décision", exact=True).select_option(label="non décidé")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"decision=none"))
    assert ticks(page).count() == 2
    page.get_by_role("button", name="Tout sélectionner").click()
    page.get_by_label("Motif du refus").fill("Le projet ne répond pas aux priorités de l'appel.")
    page.get_by_role("button", name="Refuser les dossiers cochés").click()
    page.get_by_text("2 dossiers refusés.").wait_for()
    totals = page.locator("#decision-totals").inner_text()
    assert "3 attributions" in totals and "2 rejets" in totals
    watched.assert_clean()

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Annexe à la délibération (PDF)").click()
    pdf = pdf_download.value
    assert pdf.suggested_filename.endswith("-projet.pdf")
    reader = pypdf.PdfReader(pdf.path())
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "PROJET" in text and "3 subventions" in text
    assert len(re.findall(r"CVL-2026-\d{4}", text)) == 5

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Annexe au format Excel").click()
    with open(xlsx_download.value.path(), "rb") as workbook:
        sheet = openpyxl.load_workbook(io.BytesIO(workbook.read())).active
    assert "PROJET" in sheet["A1"].value and sheet.freeze_panes == "A3"
    amounts = [sheet.cell(row=r, column=5).value for r in range(3, 8)]
    assert sum(a for a in amounts if a) > 0 and sheet.cell(row=8, column=1).value == "Total"

    # One row's own form, opened and saved in place (htmx): the totals follow.
    page.goto(page.url.split("?")[0])
    url = page.url
    row = page.locator("tr", has=page.get_by_role("link", name="CVL-2026-0006"))
    row.get_by_role("link", name=re.compile("Modifier")).click()
    page.get_by_label("Décision sur CVL-2026-0006").select_option(label="attribuer")
    page.get_by_label("Montant attribué (€)").fill("10 000")
    assert page.url == url  # swapped in place, no navigation
    page.get_by_role("button", name=re.compile("Enregistrer")).click()
    page.locator("#decision-totals", has_text="4 attributions").wait_for()
    assert page.get_by_label("Décision sur CVL-2026-0006").count() == 0
    watched.assert_clean()
