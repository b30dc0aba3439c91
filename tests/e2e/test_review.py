"""Screening and review in a browser, on the demo's 2017 call: the officer screens 20
files and auto-assigns 2 reviewers each with a declared conflict respected; two
reviewers score the same file far apart; the ranking shows marks out of 20, the
median and a disagreement flag; the conflicted reviewer cannot reach Le PoleS's file
or its documents."""

import re

from tests.e2e.conftest import Live, Watched

PASSWORD = "demo-guichet-2026"
REVIEWERS = {
    "Camille Placeholder": "evaluation@demo.guichet.test",
    "Évaluateur Démo Un": "relecture1@demo.guichet.test",
    "Évaluatrice Démo Deux": "relecture2@demo.guichet.test",
}


def sign_in(page, live, email):
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()


def sign_out(page):
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name="Se connecter").first.wait_for()


def test_screen_assign_score_rank(live: Live, watched: Watched):
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(live.url + "/instruction/appels")
    page.get_by_role("link", name="Le numérique au service de la formation professionnelle").click()
    page.wait_for_url(re.compile(r"/instruction/appels/\d+$"))
    call_url = page.url
    page.goto(call_url + "/dossiers")
    poles_link = page.get_by_role("link", name="IDF-2017-0001")
    poles_id = poles_link.get_attribute("href").rsplit("/", 1)[1]
    boxes = page.locator("input[name=ids]")
    for i in range(20):
        boxes.nth(i).check()
    page.get_by_role("button", name="Enregistrer pour les dossiers cochés").click()
    page.get_by_text("20 dossiers examinés.").wait_for()
    watched.assert_clean()

    page.goto(call_url + "/evaluation")
    page.get_by_label("Évaluations par dossier").fill("2")
    page.get_by_label("Classer par").select_option("median")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_text("Les réglages de l’évaluation sont enregistrés.").wait_for()
    for name, email in REVIEWERS.items():
        page.get_by_label("Ajouter un évaluateur").select_option(label=f"{name} ({email})")
        page.get_by_role("button", name="Ajouter", exact=True).click()
        page.locator("section[aria-labelledby=pool] li").filter(has_text=name).wait_for()
    page.get_by_label("Évaluateur·rice", exact=True).select_option(label="Camille Placeholder")
    page.get_by_label("Structure", exact=True).select_option(label="Le PoleS")
    page.get_by_label("Lien (facultatif)").fill("Ancienne bénévole")
    page.get_by_role("button", name="Enregistrer le conflit").click()
    page.get_by_text("Le conflit d’intérêts est enregistré").wait_for()

    page.get_by_role("link", name="Voir l’aperçu de l’affectation automatique").click()
    page.get_by_text("40 nouvelles affectations.").wait_for()
    page.get_by_role("button", name="Enregistrer ces affectations").click()
    page.get_by_text("40 affectations enregistrées.").wait_for()
    watched.assert_clean()

    # Pick a file and its two reviewers.
    page.goto(call_url + "/classement")
    first = page.locator("table tbody tr").first.get_by_role("link")
    reference = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/evaluations$"))
    names = [n for n in REVIEWERS if page.get_by_text(n, exact=True).count()]
    assert len(names) == 2
    sign_out(page)

    for name, marks in zip(names, (("5", "5", "5", "5"), ("1", "0", "1", "0")), strict=True):
        sign_in(page, live, REVIEWERS[name])
        page.goto(live.url + "/evaluation")
        page.get_by_role("link", name=re.compile(reference)).click()
        inputs = page.locator("input[type=number]")
        for i, mark in enumerate(marks):
            inputs.nth(i).fill(mark)
        page.get_by_label("Avis général").select_option(
            "favourable" if marks[0] == "5" else "unfavourable"
        )
        page.get_by_role("button", name="Soumettre mon évaluation").click()
        page.get_by_text("Votre évaluation est soumise.").wait_for()
        watched.assert_clean()
        sign_out(page)

    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(call_url + "/classement?desaccord=1")
    row = page.locator("table tbody tr").filter(has_text=reference)
    text = row.inner_text()
    assert "désaccord" in text
    assert "Médiane /20" in page.locator("table thead").inner_text()
    watched.assert_clean()
    sign_out(page)

    # The conflicted reviewer never reaches Le PoleS's file or its documents.
    sign_in(page, live, "evaluation@demo.guichet.test")
    assert "IDF-2017-0001" not in page.goto(live.url + "/evaluation").text()
    assert page.goto(f"{live.url}/dossiers/{poles_id}").status == 404
    assert page.goto(f"{live.url}/dossiers/{poles_id}/pieces/1").status == 404
