"""The association's whole journey in a browser, as issue 17 asks, at 390 px and at
1280 px, and once at 390 px with JavaScript off:

- a new association goes from the call to a submitted file: « Candidater » signed out,
  sign-up through the confirmation e-mail, its organisation created, back to the call;
  an answer, a document sent, another answer (both kept); a conditional question
  toggled; the session ended on purpose while typing (nothing lost after signing in
  again); the summary and the sworn statement; the page after submission and the
  receipt (PDF);
- a grantee goes from « Mon espace » to its final report, refused without its
  documents, accepted with them, and its receipt (PDF).

axe finds no serious or critical violation on any page these walks visit, and at 390 px
none is wider than the screen; screenshots of « Mon espace », the summary, the page after
submission and the refused report are kept (E2E_SCREENSHOTS, default
var/e2e-screenshots/walk) to be looked at."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.demo.people import fictitious_organisation
from tests.e2e.conftest import Live, Watched
from tests.factories import MINIMAL_PDF

DEMO_PASSWORD = "demo-guichet-2026"
PASSWORD = "une phrase de passe solide"
CVL_CALL = "Compétences numériques et insertion des jeunes"
SHOTS = Path(os.environ.get("E2E_SCREENSHOTS", "var/e2e-screenshots")) / "walk"
CONDITION = re.compile("Le projet se déroule-t-il dans des quartiers prioritaires")


@dataclass(frozen=True)
class Run:
    name: str
    width: int
    javascript: bool
    number: int  # makes the new association's e-mail and SIRET unique
    grantee: str  # a demo laureate whose final report is due (no other test touches it)

    @property
    def viewport(self) -> dict:
        return {"width": self.width, "height": 844 if self.width < 600 else 800}


RUNS = [
    Run("390-sans-js", 390, False, 901, "porteur04@demo.guichet.test"),
    Run("390", 390, True, 902, "porteur02@demo.guichet.test"),
    Run("1280", 1280, True, 903, "porteur03@demo.guichet.test"),
]


class Walk:
    """A page of one run: every page it reaches is checked once (console errors, CSP
    with JavaScript, axe serious/critical), then the run fails listing them all."""

    def __init__(self, watched: Watched, run: Run, live: Live, checker=None):
        self.watched = watched
        self.page = watched.page
        self.run = run
        self.live = live
        self.checker = checker
        self.seen: set[str] = set()
        self.problems: list[str] = []
        # Refused forms (422) and the autosave met by an ended session (401) are logged
        # by the browser: expected where the walk provokes them.
        self.expected_statuses = {"422"}

    def accessibility_violations(self) -> list[str]:
        if self.run.javascript:
            return self.watched.serious_accessibility_violations()
        # axe waits on timers, which never fire with JavaScript off: it checks the page
        # as this browser shows it (its HTML now, the same styles) in a page with
        # JavaScript where the site's own scripts are refused.
        html, url = self.page.content(), self.page.url

        def serve(route):
            if route.request.url == url:
                route.fulfill(body=html, content_type="text/html; charset=utf-8")
            elif route.request.resource_type == "script":
                route.abort()
            else:
                route.continue_()

        self.checker.page.route("**/*", serve)
        try:
            self.checker.page.goto(url)
            return self.checker.serious_accessibility_violations()
        finally:
            self.checker.page.unroute("**/*", serve)

    def check(self, what: str = "") -> None:
        page = self.page
        page.wait_for_load_state()
        key = re.sub(r"/\d+", "/N", page.url.split("#")[0].split("?")[0]) + what
        if key in self.seen:
            return
        self.seen.add(key)
        for violation in self.accessibility_violations():
            self.problems.append(f"{page.url}{what}: {violation}")
        if self.run.javascript:
            for violation in self.watched.csp_violations():
                self.problems.append(f"{page.url}: CSP {violation}")
        # Nothing wider than a phone's screen: no column cut off, no sideways scroll.
        if self.run.width < 600:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                self.problems.append(f"{page.url}: {overflow} px wider than the screen")

    def shoot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        # caret="initial": hiding the caret injects a style the CSP refuses.
        self.page.screenshot(
            path=str(SHOTS / f"{name}-{self.run.name}.png"), full_page=True, caret="initial"
        )

    def sign_in(self, email: str, password: str) -> None:
        self.page.get_by_label("Adresse électronique").fill(email)
        self.page.get_by_label("Mot de passe").fill(password)
        self.check()
        self.page.get_by_role("button", name="Se connecter").click()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Se déconnecter").click()
        self.page.get_by_role("link", name="Se connecter").first.wait_for()

    def finish(self) -> None:
        errors = [e for e in self.watched.errors if not any(s in e for s in self.expected_statuses)]
        assert errors == [], errors
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture(params=RUNS, ids=[run.name for run in RUNS])
def walk(request, live: Live, browser):
    run: Run = request.param
    context = browser.new_context(
        locale="fr-FR", viewport=run.viewport, java_script_enabled=run.javascript
    )
    page = context.new_page()
    checker_context = browser.new_context(locale="fr-FR", viewport=run.viewport)
    walk = Walk(Watched(page), run, live, Watched(checker_context.new_page()))
    yield walk
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"failed-{run.name}.png"), full_page=True)
    context.close()
    checker_context.close()


def fill_answer(page, label, value: str) -> None:
    field = page.get_by_label(label)
    field.fill(value)


def test_a_new_association_from_the_call_to_a_submitted_file(walk: Walk):
    page, live, run = walk.page, walk.live, walk.run
    email = f"tresorerie{run.number}@asso-walk.test"
    organisation = fictitious_organisation(
        run.number, f"Les Ateliers {run.number}", "Tours", "37000", email
    )

    # The call, then « Candidater » signed out: sign-in says why, sign-up follows.
    page.goto(live.url + "/appels")
    walk.check()
    page.get_by_role("link", name=CVL_CALL).first.click()
    page.wait_for_url(re.compile(r"/appels/\d+$"))
    call_url = page.url
    walk.check()
    page.get_by_role("link", name="Candidater").click()
    page.get_by_text("Pour candidater à un appel").wait_for()
    walk.check()
    page.get_by_role("link", name="Créez un compte pour votre association").click()
    page.get_by_label("Prénom et nom").fill(f"Camille Trésorière {run.number}")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("J’ai pris connaissance").check()
    walk.check()
    page.get_by_role("button", name="Créer mon compte").click()
    page.get_by_role("heading", name="Vérifiez votre messagerie").wait_for()
    walk.check()
    (message,) = live.emails_to(email, "Confirmez")
    page.goto(live.link_in(message))
    walk.check()
    page.get_by_role("button", name="Confirmer mon adresse").click()
    page.get_by_text("Votre adresse électronique est confirmée").wait_for()
    walk.sign_in(email, PASSWORD)
    # Back to the call: no organisation yet, so create it, and back again.
    page.wait_for_url(call_url + "/candidater")
    walk.check()
    page.get_by_role("link", name="Créer une structure").click()
    labels = {
        "name": "Nom",
        "siret": "Numéro SIRET",
        "rna": "Numéro RNA (associations)",
        "street": "Numéro et rue",
        "postcode": "Code postal",
        "city": "Commune",
        "legal_rep_name": "Représentant·e légal·e (prénom et nom)",
        "legal_rep_title": "Qualité",
        "contact_email": "Adresse électronique de contact",
        "phone": "Téléphone",
        "iban": "IBAN",
        "bic": "BIC",
    }
    for key, label in labels.items():
        page.get_by_label(label, exact=True).fill(organisation[key])
    page.get_by_label("Forme juridique").select_option("association")
    walk.check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(call_url + "/candidater")

    # Eligibility, then the draft.
    page.get_by_label("Au nom de").select_option(label=organisation["name"])
    for question in page.locator("fieldset").all():
        question.get_by_label("Oui").check()
    walk.check()
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(re.compile(r"/dossiers/\d+$"))
    draft_url = page.url
    walk.check()

    # An answer, a document sent, another answer: both kept.
    page.get_by_label("Titre du projet").fill("Un atelier numérique pour l’emploi")
    page.get_by_label("Résumé du projet").fill("Réponse tapée avant la pièce.")
    files = live.data_dir / f"uploads-{run.name}"
    files.mkdir(exist_ok=True)
    (files / "statuts.pdf").write_bytes(MINIMAL_PDF)
    page.get_by_label(re.compile("fichier : Statuts de la structure")).set_input_files(
        str(files / "statuts.pdf")
    )
    page.get_by_role("button", name="Envoyer : Statuts de la structure").click()
    page.get_by_text("La pièce « Statuts de la structure » est jointe.").wait_for()
    assert page.url.split("#")[0] == draft_url
    walk.check(" (after an upload)")
    assert page.get_by_label("Résumé du projet").input_value() == "Réponse tapée avant la pièce."
    page.get_by_label("Durée de la formation (en mois)").fill("10")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Enregistré à").first.wait_for()
    page.goto(draft_url)
    assert page.get_by_label("Résumé du projet").input_value() == "Réponse tapée avant la pièce."
    assert page.get_by_label("Durée de la formation (en mois)").input_value() == "10"

    # The conditional question follows the answer it depends on.
    quartiers = page.get_by_role("group", name=CONDITION)
    conditional = page.locator("[data-condition-field]").first
    if run.javascript:
        quartiers.get_by_label("Non").check()
        conditional.wait_for(state="hidden")
        quartiers.get_by_label("Oui").check()
        conditional.wait_for(state="visible")
    else:
        # Without JavaScript it stays on the page, its condition in words.
        quartiers.get_by_label("Oui").check()
        assert conditional.get_by_text("Seulement si vous avez répondu « Oui »").is_visible()
    conditional.locator("textarea, input").first.fill("Les quartiers nord de Tours.")

    # The session ends on purpose while typing; nothing typed is lost.
    page.get_by_label("Résumé du projet").fill("Tapé pendant que la session prenait fin.")
    page.context.clear_cookies(name="guichet_session")
    if run.javascript:
        # The autosave meets the ended session: the page stays, and says so.
        walk.expected_statuses.add("401")
        page.get_by_label("Résumé du projet").blur()
        page.locator("#session-ended").wait_for()
        assert page.url == draft_url
        walk.check(" (session ended)")
        page.get_by_role("button", name="Me reconnecter en gardant mes réponses").click()
    else:
        page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_url(re.compile("/connexion"))
    page.get_by_text("elles sont conservées").wait_for()
    walk.check(" (session ended)")
    walk.sign_in(email, PASSWORD)
    page.wait_for_url(draft_url)
    page.get_by_text("Vos réponses non enregistrées ont été conservées.").wait_for()
    walk.check(" (answers kept)")
    assert page.get_by_label("Résumé du projet").input_value() == (
        "Tapé pendant que la session prenait fin."
    )
    assert conditional.locator("textarea, input").first.input_value() == (
        "Les quartiers nord de Tours."
    )

    # The rest of the file: the budget, then « Vérifier et déposer ».
    for amount in page.locator("input[name^='budget_']").all():
        amount.fill("")
    page.get_by_label("64 – Charges de personnel").fill("30 000")
    page.get_by_label(re.compile("^74 – Subvention demandée")).fill("20 000")
    page.get_by_label(re.compile("^75 – ")).fill("10 000")
    page.get_by_label("Date de démarrage prévue").fill("2027-03-01")
    page.get_by_label("Jeunes de 16 à 25 ans").check()
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Enregistré à").first.wait_for()
    for document in ("RIB", "Budget prévisionnel signé"):
        page.get_by_label(re.compile(f"fichier : {document}$")).set_input_files(
            str(files / "statuts.pdf")
        )
        page.get_by_role("button", name=f"Envoyer : {document}").click()
        page.get_by_text(f"La pièce « {document} » est jointe.").wait_for()
    page.get_by_role("link", name="Vérifier et déposer mon dossier").click()
    page.get_by_role("heading", name="Vérifier et déposer").wait_for()
    assert page.get_by_text("Tapé pendant que la session prenait fin.").is_visible()
    walk.check()
    # Each part's « Modifier » stays beside its title, even a title on two lines.
    for head in page.locator(".summary__head").all():
        title, change = head.locator("h2").bounding_box(), head.locator("a").bounding_box()
        assert change["y"] < title["y"] + title["height"], head.inner_text()
    walk.shoot("verifier-et-deposer")
    page.get_by_label("Vos nom et prénom").fill(f"Camille Trésorière {run.number}")
    page.get_by_label("Votre qualité").fill("Trésorière")
    page.get_by_label(re.compile("^Je certifie exactes les informations")).check()
    page.get_by_role("button", name="Déposer mon dossier").click()
    page.get_by_role("heading", name="Et maintenant ?").wait_for()
    assert page.get_by_text(f"par Camille Trésorière {run.number} (Trésorière)").is_visible()
    walk.check()
    walk.shoot("apres-depot")

    receipt_url = page.get_by_role(
        "link", name="Télécharger l’accusé de réception (PDF)"
    ).get_attribute("href")
    receipt = page.request.get(live.url + receipt_url)
    assert receipt.ok
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages).split()
    )
    assert "Accusé de réception" in text
    assert f"Camille Trésorière {run.number}, Trésorière, certifie exactes les informations" in text
    walk.finish()


def test_a_grantee_from_my_space_to_an_accepted_final_report(walk: Walk):
    page, live, run = walk.page, walk.live, walk.run
    page.goto(live.url + "/connexion")
    walk.sign_in(run.grantee, DEMO_PASSWORD)
    page.wait_for_url(live.url + "/mon-espace")
    page.get_by_role("heading", name="Mon espace").wait_for()
    walk.check()
    walk.shoot("mon-espace")
    # Each « Rédiger le bilan » says which report it is (two may be due).
    page.get_by_role("link", name=re.compile("^Rédiger le bilan : bilan final IDF-2017")).click()
    page.get_by_label("Ce qui a été réalisé").wait_for()
    walk.check()
    page.get_by_label("Ce qui a été réalisé").fill("Trois promotions formées.")
    page.get_by_label(re.compile("^64 – Charges de personnel")).fill("130 000")
    confirm = re.compile("^Les pièces justificatives sont jointes")
    page.get_by_label(confirm).check()
    page.get_by_role("button", name="Déposer le bilan").click()
    # The error summary names each missing document.
    summary = page.locator(".error-summary")
    summary.get_by_text("Rapport d’activité final : Joignez cette pièce").wait_for()
    assert "État récapitulatif des dépenses" in summary.inner_text()
    walk.check(" (refused)")
    walk.shoot("bilan-refuse")
    assert page.get_by_label(re.compile("^64 – Charges de personnel")).input_value() in (
        "130 000",
        "130\u202f000,00",
    )
    pdf = {"mimeType": "application/pdf", "buffer": MINIMAL_PDF}
    page.get_by_label(re.compile("^Rapport d’activité final")).set_input_files(
        {"name": "rapport-activite.pdf", **pdf}
    )
    page.get_by_label(re.compile("^État récapitulatif des dépenses")).set_input_files(
        {"name": "etat-des-depenses.pdf", **pdf}
    )
    page.get_by_role("button", name="Joindre — Rapport d’activité final").click()
    page.get_by_text("Le document « etat-des-depenses.pdf » est joint.").wait_for()
    walk.check(" (documents joined)")
    page.get_by_label(confirm).check()
    page.get_by_role("button", name="Déposer le bilan").click()
    page.get_by_text("Votre bilan est déposé.").wait_for()
    walk.check(" (submitted)")
    receipt_url = page.get_by_role(
        "link", name="Télécharger l’accusé de réception (PDF)"
    ).get_attribute("href")
    receipt = page.request.get(live.url + receipt_url)
    assert receipt.ok
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages)
    assert "Accusé de réception" in text and "bilan final" in text
    assert "rapport-activite.pdf" in text and "etat-des-depenses.pdf" in text
    walk.finish()
