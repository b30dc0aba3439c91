"""The application form without a dead end, in a browser without JavaScript at 390 px:
« Candidater » signed out leads to sign-in and back to the call; a document sent
between two answers keeps both; a session that ends on purpose before « Save » loses
nothing: sign-in brings the answers back. Then, with JavaScript: a conditional question
appears and disappears, and the budget totals follow the typing."""

import re

from tests.e2e.conftest import Live
from tests.factories import MINIMAL_PDF

DEMO_PASSWORD = "demo-guichet-2026"
CVL_CALL = "Compétences numériques et insertion des jeunes"


def test_a_no_js_journey_through_sign_in_an_upload_and_an_ended_session(live: Live, browser):
    context = browser.new_context(
        locale="fr-FR", java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    try:
        page.goto(live.url + "/appels")
        page.get_by_role("link", name=CVL_CALL).first.click()
        call_url = page.url
        page.get_by_role("link", name="Candidater").click()
        assert "/connexion" in page.url
        page.get_by_text("Pour candidater à un appel").wait_for()

        page.get_by_label("Adresse électronique").fill("porteur@demo.guichet.test")
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        # Back to the call, on its application page.
        assert page.url == call_url + "/candidater"
        page.get_by_label("Au nom de").select_option(label="Le PoleS")
        for question in page.locator("fieldset").all():
            question.get_by_label("Oui").check()
        page.get_by_role("button", name="Continuer").click()
        assert re.search(r"/dossiers/\d+$", page.url), page.url
        draft_url = page.url

        # An answer, a document sent with the form, another answer: both kept.
        page.get_by_label("Résumé du projet").fill("Réponse tapée avant la pièce.")
        files = live.data_dir / "uploads-journey"
        files.mkdir(exist_ok=True)
        (files / "statuts.pdf").write_bytes(MINIMAL_PDF)
        # « Choisir un fichier », or « Remplacer le fichier » on the demo's own draft.
        page.get_by_label(re.compile("fichier : Statuts de la structure")).set_input_files(
            str(files / "statuts.pdf")
        )
        page.get_by_role("button", name="Envoyer : Statuts de la structure").click()
        page.get_by_text("La pièce « Statuts de la structure » est jointe.").wait_for()
        assert page.url.split("#")[0] == draft_url
        assert page.get_by_label("Résumé du projet").input_value() == (
            "Réponse tapée avant la pièce."
        )
        page.get_by_label("Durée de la formation (en mois)").fill("10")
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        page.get_by_text("Enregistré à").first.wait_for()
        page.goto(draft_url)
        assert page.get_by_label("Résumé du projet").input_value() == (
            "Réponse tapée avant la pièce."
        )
        assert page.get_by_label("Durée de la formation (en mois)").input_value() == "10"

        # The session ends on purpose while an answer is being typed; « Save » then.
        page.get_by_label("Résumé du projet").fill("Tapé pendant que la session prenait fin.")
        context.clear_cookies(name="guichet_session")
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        assert "/connexion" in page.url
        page.get_by_text("elles sont conservées").wait_for()
        page.get_by_label("Adresse électronique").fill("porteur@demo.guichet.test")
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        assert page.url == draft_url
        page.get_by_text("Vos réponses non enregistrées ont été conservées.").wait_for()
        assert page.get_by_label("Résumé du projet").input_value() == (
            "Tapé pendant que la session prenait fin."
        )
        page.get_by_role("button", name="Enregistrer", exact=True).click()
        page.get_by_text("Enregistré à").first.wait_for()
        page.goto(draft_url)
        assert page.get_by_label("Résumé du projet").input_value() == (
            "Tapé pendant que la session prenait fin."
        )
        # Without JavaScript, a conditional question is shown with its condition in words.
        page.get_by_text(
            "Seulement si vous avez répondu « Oui » à « Le projet se déroule-t-il dans des "
            "quartiers prioritaires ? »."
        ).wait_for()
    finally:
        context.close()


def test_with_javascript_conditions_and_budget_totals_follow_the_typing(live: Live, watched):
    page = watched.page
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill("porteur@demo.guichet.test")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    # Le PoleS's file on the open call (the one the test above started, or a new one).
    page.goto(live.url + "/appels")
    page.get_by_role("link", name=CVL_CALL).first.click()
    page.get_by_role("link", name="Candidater").click()
    page.get_by_label("Au nom de").select_option(label="Le PoleS")
    for fieldset in page.locator("fieldset").all():
        fieldset.get_by_label("Oui").check()
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(re.compile(r"/dossiers/\d+$"))
    question = page.locator("[data-condition-field]").first
    quartiers = page.get_by_role(
        "group", name=re.compile("Le projet se déroule-t-il dans des quartiers prioritaires")
    )
    quartiers.get_by_label("Non").check()
    question.wait_for(state="hidden")
    quartiers.get_by_label("Oui").check()
    question.wait_for(state="visible")

    for amount in page.locator("input[name^='budget_']").all():
        amount.fill("")
    page.get_by_label("64 – Charges de personnel").fill("1 000")
    page.get_by_label(re.compile("^74 – Subvention demandée")).fill("600")
    page.locator("#total-charges").get_by_text(re.compile("1\u202f000,00")).wait_for()
    assert "C’est au-dessus de la part maximale" not in page.locator("#budget-summary").inner_text()
    page.get_by_label(re.compile("^74 – Subvention demandée")).fill("900")
    page.locator("#budget-summary").get_by_text(
        re.compile("C’est au-dessus de la part maximale")
    ).wait_for()
    watched.assert_clean()
