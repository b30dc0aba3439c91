"""Grant follow-up in a browser, on the demo's Le PoleS grant (200 000 €, 50/30/20,
160 000 € paid): the dashboard's figures, the final report with lower spending (its
effect shown before submitting, refused without its documents, accepted with them, its
receipt a PDF) that shrinks the last instalment, a payment above what is left refused, the right one
recorded, and the CSV export matching the ledger to the cent."""

import csv
import io
import re
from decimal import Decimal

from pypdf import PdfReader

from tests.e2e.conftest import Live, Watched
from tests.e2e.test_review import sign_in, sign_out
from tests.factories import MINIMAL_PDF as DOCUMENT_PDF


def normalised(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_final_report_reduction_payment_and_export(live: Live, watched: Watched):
    page = watched.page
    sign_in(page, live, "finances@demo.guichet.test")
    page.goto(live.url + "/finances")
    page.get_by_role("link", name="Le numérique au service de la formation professionnelle").click()
    row = page.locator("tr").filter(has_text="IDF-2017-0001")
    cells = normalised(row.inner_text())
    assert "200 000,00 €" in cells and "160 000,00 €" in cells and "40 000,00 €" in cells
    grant_url = live.url + row.get_by_role("link", name="IDF-2017-0001").get_attribute("href")
    watched.assert_clean()
    sign_out(page)

    # Le PoleS reports: 234 000 € spent of the 260 000 € planned (90 %).
    sign_in(page, live, "porteur@demo.guichet.test")
    page.goto(live.url + "/dossiers")
    page.get_by_role("link", name="IDF-2017-0001").click()
    page.get_by_role("link", name="Voir la décision, le courrier et la suite").click()
    page.get_by_role("link", name="Bilan final").click()
    page.get_by_label("Ce qui a été réalisé").fill(
        "Trois promotions formées, 31 stagiaires en emploi."
    )
    for label, amount in [
        ("60 – Achats", "39 000"),
        ("61 – Services extérieurs", "26 000"),
        ("62 – Autres services extérieurs", "39 000"),
        ("64 – Charges de personnel", "130 000"),
    ]:
        page.get_by_label(re.compile("^" + re.escape(label))).fill(amount)
    page.get_by_role("button", name="Déposer le bilan").click()  # not confirmed: refused
    page.get_by_text("Cochez la case pour déposer le bilan").first.wait_for()
    confirm = re.compile("^Les pièces justificatives sont jointes")
    page.get_by_label(confirm).check()
    # Before submitting, the effect of the figures on the grant.
    effect = normalised(page.locator("#report-effect").inner_text())
    assert (
        "Vous déclarez 234 000,00 € de dépenses pour 260 000,00 € prévus : la subvention "
        "pourra être réduite à 180 000,00 € (au lieu de 200 000,00 €)."
    ) in effect, effect
    # Without its required documents: refused, what was typed kept.
    page.get_by_role("button", name="Déposer le bilan").click()
    page.get_by_text("Joignez cette pièce avant de déposer le bilan.").first.wait_for()
    assert page.get_by_label(re.compile("^64 – Charges de personnel")).input_value() == "130 000"
    # Both documents chosen, sent with « Joindre » (what was typed is saved with them).
    pdf = {"mimeType": "application/pdf", "buffer": DOCUMENT_PDF}
    page.get_by_label(re.compile("^Rapport d’activité final")).set_input_files(
        {"name": "rapport-activite.pdf", **pdf}
    )
    page.get_by_label(re.compile("^État récapitulatif des dépenses")).set_input_files(
        {"name": "etat-des-depenses.pdf", **pdf}
    )
    page.get_by_role("button", name="Joindre — Rapport d’activité final").click()
    page.get_by_text("Le document « etat-des-depenses.pdf » est joint.").wait_for()
    saved = page.get_by_label(re.compile("^64 – Charges de personnel")).input_value()
    assert normalised(saved) == "130 000,00"
    page.get_by_label(confirm).check()
    page.get_by_role("button", name="Déposer le bilan").click()
    page.get_by_text("Votre bilan est déposé.").wait_for()
    # Its acknowledgement of receipt (PDF).
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger l’accusé de réception (PDF)").click()
    reader = PdfReader(download.value.path())
    text = normalised("".join(p.extract_text() for p in reader.pages))
    assert "Accusé de réception" in text and "dépôt de votre bilan final" in text
    assert "IDF-2017-0001" in text and "234 000,00 €" in text
    assert "rapport-activite.pdf" in text and "etat-des-depenses.pdf" in text
    watched.errors = [e for e in watched.errors if "422" not in e]  # the refusals above
    watched.assert_clean()
    sign_out(page)

    # The officer approves it and applies the proportional reduction.
    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(grant_url)
    page.locator("section").filter(has_text="Bilan final").get_by_role(
        "button", name="Valider le bilan"
    ).click()
    page.get_by_text("Le bilan est validé.").wait_for()
    page.get_by_role("button", name="Appliquer la réduction proportionnelle").click()
    page.get_by_text("La subvention est réduite de 20").wait_for()
    third = page.get_by_role("table", name="Échéances").locator("tbody tr").nth(2)
    assert "20 000,00 €" in normalised(third.inner_text())
    third.get_by_role("button", name="Valider pour paiement").click()
    page.get_by_text("L’échéance est validée pour paiement.").wait_for()
    watched.assert_clean()
    sign_out(page)

    # Finance: 50 000 € is refused, 20 000 € recorded.
    sign_in(page, live, "finances@demo.guichet.test")
    page.goto(grant_url)
    page.get_by_label("Montant (€)").fill("50 000")
    page.get_by_label("Référence du versement (numéro de mandat)").fill("M-2019-00042")
    page.get_by_role("button", name="Enregistrer le versement").click()
    page.get_by_text("au-dessus de ce qui reste à payer").first.wait_for()
    assert "20 000,00 €" in normalised(page.locator(".error-summary").inner_text())
    watched.errors.clear()  # the refused form came back as 422: the browser logs it
    page.get_by_label("Montant (€)").fill("20 000")
    page.get_by_role("button", name="Enregistrer le versement").click()
    page.get_by_text("Le versement est enregistré.").wait_for()
    totals = normalised(page.locator(".totals").inner_text())
    assert "180 000,00 €" in totals and "Reste à payer\n0,00 €" in totals
    watched.assert_clean()

    # The export for the accounting system matches the ledger to the cent.
    call = re.search(
        r"appel=(\d+)",
        page.locator("a", has_text="Le numérique au service").first.get_attribute("href"),
    ).group(1)
    export = page.request.get(f"{live.url}/finances/export/versements.csv?appel={call}")
    assert export.status == 200
    rows = list(csv.DictReader(io.StringIO(export.text().lstrip("\ufeff")), delimiter=";"))
    poles = [r for r in rows if r["Numéro de dossier"] == "IDF-2017-0001"]
    signed = [Decimal(r["Montant signé (€)"].replace(",", ".")) for r in poles]
    assert sum(signed) == Decimal("180000.00")
    ledger = page.get_by_role("table", name="Grand livre").locator("tbody tr")
    shown = sum(
        Decimal(
            normalised(ledger.nth(i).locator("td").nth(3).inner_text())
            .replace(" ", "")
            .replace("€", "")
            .replace("−", "-")
            .replace(",", ".")
        )
        for i in range(ledger.count())
    )
    assert shown == Decimal("180000.00")
