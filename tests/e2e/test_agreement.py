"""The grant agreement in a browser, on the demo's Parcours Tech award (1 500 000 €, not
yet accepted): the officer generates the agreement, the association's representative
accepts the grant and signs the agreement with the code e-mailed to them, the officer
countersigns; only then does the first instalment become approvable. The signed PDF's
evidence page holds both signatures and the document's fingerprint."""

import re

from pypdf import PdfReader

from tests.e2e.conftest import Live, Watched
from tests.e2e.test_review import sign_in, sign_out

REPRESENTATIVE = "porteur18@demo.guichet.test"
REFERENCE = "IDF-2017-0019"


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " "))


def test_signed_by_both_sides_then_the_first_instalment_is_approvable(live: Live, watched: Watched):
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(live.url + "/finances")
    page.get_by_role("link", name="Le numérique au service de la formation professionnelle").click()
    row = page.locator("tr").filter(has_text=REFERENCE)
    grant_url = live.url + row.get_by_role("link", name=REFERENCE).get_attribute("href")
    page.goto(grant_url)
    page.get_by_role("link", name="La convention et ses signatures").click()
    page.get_by_role("button", name="Générer la convention").click()
    page.get_by_text("La convention est générée").wait_for()
    fingerprint = page.locator("#sign code").first.inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint)
    watched.assert_clean()
    sign_out(page)

    # The representative accepts the grant, then signs the agreement online.
    sign_in(page, live, REPRESENTATIVE)
    page.goto(live.url + "/dossiers")
    page.get_by_role("link", name=REFERENCE).click()
    page.get_by_role("link", name="Voir la décision, le courrier et la suite").click()
    page.get_by_label("Nom de la personne qui signe pour la structure").fill("Camille Fictive")
    page.get_by_label("Sa qualité").fill("Présidente")
    page.get_by_label(re.compile("^J’accepte la subvention")).check()
    page.get_by_role("button", name="Accepter la subvention").click()
    page.get_by_text("Vous avez accepté la subvention.").wait_for()
    page.get_by_role("link", name=re.compile("^La convention : la lire")).click()
    assert fingerprint in page.locator("#sign").inner_text()
    watched.assert_clean()
    page.get_by_role("button", name="M’envoyer un code").click()
    page.get_by_text("Un code est envoyé à").wait_for()
    mail = live.emails_to(REPRESENTATIVE, "Votre code pour signer la convention")[-1]
    code = re.search(r"\b(\d{6})\b", mail.get_body(("plain",)).get_content()).group(1)
    page.get_by_label(re.compile("^Votre nom")).fill("Camille Fictive")
    page.get_by_label("Votre qualité").fill("Présidente")
    page.get_by_label("Le code reçu par courriel").fill(code)
    page.get_by_role("button", name="Signer la convention").click()  # consent not ticked
    page.get_by_text("Cochez la case pour signer cette convention.").first.wait_for()
    page.get_by_label("Le code reçu par courriel").fill(code)
    page.get_by_label(re.compile("^J’ai lu cette convention")).check()
    page.get_by_role("button", name="Signer la convention").click()
    page.get_by_text("Vous avez signé la convention.").wait_for()
    watched.errors = [e for e in watched.errors if "422" not in e]  # the refusal above
    watched.assert_clean()
    sign_out(page)

    # The officer: the first instalment is due but waits for the countersignature.
    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(grant_url)
    instalments = page.locator("#instalments + div table")
    assert "La convention doit d’abord être signée" in instalments.inner_text()
    assert page.get_by_role("button", name=re.compile("^Valider pour paiement")).count() == 0
    page.get_by_role("link", name="La convention et ses signatures").click()
    page.get_by_label("Votre qualité").fill("Cheffe du service, par délégation")
    page.get_by_label(re.compile("^Je contresigne cette convention")).check()
    page.get_by_role("button", name="Contresigner la convention").click()
    page.get_by_text("La convention est signée par les deux parties").first.wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF signé, avec sa page de preuve").click()
    reader = PdfReader(download.value.path())
    evidence = normalised(reader.pages[-1].extract_text())
    for words in (
        "Preuve des signatures électroniques",
        "Camille Fictive",
        REPRESENTATIVE,
        "Cheffe du service, par délégation",
        "instruction@demo.guichet.test",
    ):
        assert words in evidence, words
    assert fingerprint in evidence.replace(" ", "")
    assert "Article 2 — Montant de la subvention" in normalised(reader.pages[0].extract_text())
    watched.assert_clean()

    page.goto(grant_url)
    page.get_by_role("button", name=re.compile("^Valider pour paiement")).first.click()
    page.get_by_text("L’échéance est validée pour paiement.").wait_for()
    watched.assert_clean()
