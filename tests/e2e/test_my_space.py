"""The demo applicant's way from sign-in to a submitted file, at 390 px and 1280 px:
they land on « Mon espace », open their draft, read it back on « Vérifier et
déposer », make the sworn statement, see « Et maintenant ? », and the receipt prints
the statement. Screenshots of the three pages at both widths are kept for review."""

import io
import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.e2e.conftest import Live, Watched, _live

PASSWORD = "demo-guichet-2026"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
SHOTS = Path(os.environ.get("E2E_SCREENSHOTS", "var/e2e-screenshots"))


def both_widths(watched: Watched, name: str) -> None:
    """Screenshot the page at both widths (full page), then check it is clean."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = watched.page
    for label, size in (("390", PHONE), ("1280", LAPTOP)):
        page.set_viewport_size(size)
        # caret="initial": hiding the caret injects a style the CSP refuses.
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True, caret="initial")
        # Nothing wider than the phone's screen: no column cut off, no sideways scroll.
        if label == "390":
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (name, overflow)
    watched.assert_clean()


@pytest.fixture(scope="module")
def live(databases, tmp_path_factory):
    """The demo untouched by the other browser tests (they submit its report and its
    draft, read its message): this walk starts from what `make run` shows."""
    yield from _live(databases, tmp_path_factory)


def test_from_my_space_to_a_submitted_file_with_its_statement(live: Live, watched: Watched):
    page = watched.page
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill("porteur@demo.guichet.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(live.url + "/mon-espace")
    page.get_by_role("heading", name="Mon espace").wait_for()
    assert page.get_by_text("Déposer le bilan final").is_visible()
    assert page.get_by_text("1 nouveau message").is_visible()
    both_widths(watched, "mon-espace")

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name=re.compile("Continuer : L.école du web à Orléans")).click()
    page.get_by_role("link", name="Vérifier et déposer mon dossier").click()
    page.get_by_role("heading", name="Vérifier et déposer").wait_for()
    assert page.get_by_text("Une nouvelle école du web").is_visible()  # the answers, read back
    both_widths(watched, "verifier-et-deposer")

    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Déposer mon dossier").click()  # no statement: refused
    page.get_by_text("Cochez la case pour certifier exactes les informations").first.wait_for()
    watched.errors = [e for e in watched.errors if "422" not in e]  # the refusal above
    page.get_by_label("Vos nom et prénom").fill("Alex Exemple")
    page.get_by_label("Votre qualité").fill("Président·e")
    page.get_by_label(re.compile("^Je certifie exactes les informations")).check()
    page.get_by_role("button", name="Déposer mon dossier").click()
    page.get_by_role("heading", name="Et maintenant ?").wait_for()
    assert page.get_by_text("par Alex Exemple (Président·e)").is_visible()
    assert page.locator("input[readonly]").count() == 0  # a summary, not greyed-out fields
    both_widths(watched, "apres-depot")

    # « Mes dossiers »: the reference or « brouillon », the deadline; cards on a phone.
    page.goto(live.url + "/dossiers")
    assert page.locator("td[data-label='Date limite']").count() > 0
    both_widths(watched, "mes-dossiers")
    page.go_back()

    receipt_url = page.get_by_role(
        "link", name="Télécharger l’accusé de réception (PDF)"
    ).get_attribute("href")
    receipt = page.request.get(live.url + receipt_url)
    assert receipt.ok
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages)
    text = " ".join(text.split())
    assert "Déclaration sur l’honneur" in text
    assert "Alex Exemple, Président·e, certifie exactes les informations" in text
