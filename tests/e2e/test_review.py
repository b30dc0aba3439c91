"""Screening and review in a browser, on the demo's 2017 call: the officer screens 20
files and auto-assigns 2 reviewers each with a declared conflict respected; two
reviewers score the same file far apart; the ranking shows marks out of 20, the
median and a disagreement flag; the conflicted reviewer cannot reach Le PoleS's file
or its documents."""

import re

from tests.e2e.conftest import BACKGROUND_S, Live, Watched

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


def test_screen_assign_score_rank(live_before_committee: Live, watched: Watched):
    live = live_before_committee
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
    page.get_by_text("20 dossiers déclarés recevables.").wait_for()
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
    reviews = page.locator("ul.item-list")  # (the conflicts on the organisation are listed apart)
    names = [n for n in REVIEWERS if reviews.get_by_text(n, exact=True).count()]
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


def test_committee_awards_rejects_publishes_and_the_association_accepts(
    live_before_committee: Live, watched: Watched, tmp_path
):
    """After the review above: the committee awards 200 000 € to Le PoleS and rejects
    another file; publishing writes both letters; Le PoleS accepts online."""
    import io
    import shutil
    import subprocess

    import pypdf

    live = live_before_committee
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(live.url + "/instruction/appels")
    page.get_by_role("link", name="Le numérique au service de la formation professionnelle").click()
    page.wait_for_url(re.compile(r"/instruction/appels/\d+$"))
    call_url = page.url
    page.get_by_role("link", name="Décisions").click()
    page.wait_for_url(re.compile(r"/decisions$"))

    page.get_by_text("Délibération, signataire et échéancier par défaut").click()
    page.get_by_label("Référence de la délibération").fill("CP 2017-123")
    page.get_by_label("Date de la délibération").fill("2017-05-17")
    page.get_by_label("Nom du signataire").fill("Présidence Démo")
    page.get_by_label("Échéancier de versement").select_option("50-30-20")
    page.get_by_role("button", name="Enregistrer les réglages").click()
    page.get_by_text("Les réglages de la commission sont enregistrés.").wait_for()

    # Award Le PoleS: its row's form opens in place (htmx), the row and the totals come
    # back without a reload; a refused amount keeps the form open with its message.
    def open_row(reference: str):
        row = page.locator("tr", has=page.get_by_role("link", name=reference))
        row.get_by_role("link", name=re.compile("Modifier")).click()
        page.get_by_label(f"Décision sur {reference}").wait_for()

    open_row("IDF-2017-0001")
    page.get_by_label("Décision sur IDF-2017-0001").select_option("award")
    page.get_by_label("Montant attribué (€)").fill("250 000")
    page.get_by_role("button", name=re.compile("Enregistrer")).click()
    page.get_by_text("au-dessus du montant demandé").wait_for()
    page.get_by_label("Montant attribué (€)").fill("200 000")
    page.get_by_role("button", name=re.compile("Enregistrer")).click()
    page.locator("#decision-totals").get_by_text("200\u202f000,00\u00a0€").first.wait_for()
    open_row("IDF-2017-0002")
    page.get_by_label("Décision sur IDF-2017-0002").select_option("reject")
    page.get_by_label("Motif (en cas de rejet)").fill("Le budget ne tient pas.")
    page.get_by_role("button", name=re.compile("Enregistrer")).click()
    page.locator("#decision-totals").get_by_text("1 rejet").wait_for()
    watched.assert_clean()

    page.get_by_role("link", name="Publier les décisions").click()
    page.get_by_text("Attributions", exact=True).wait_for()
    page.get_by_role("button", name="Publier 2 décisions").click()
    # The progress stops polling once the batch has finished (or failed): wait for that
    # state, however long a busy machine takes to write the letters, then read which.
    page.locator("#letters-progress:not([hx-get])").wait_for(timeout=BACKGROUND_S * 1000)
    assert "Tous les courriers sont rédigés" in page.locator("#letters-progress").inner_text()
    watched.assert_clean()

    def letter_text(reference: str) -> str:
        page.goto(call_url + "/decisions")
        page.get_by_role("link", name=reference).click()
        link = page.locator("#letters ~ ul a").first
        response = page.request.get(live.url + link.get_attribute("href"))
        assert response.status == 200
        data = response.body()
        if shutil.which("pdftoppm"):
            source = tmp_path / f"{reference}.pdf"
            source.write_bytes(data)
            rendered = subprocess.run(
                ["pdftoppm", "-r", "40", "-png", str(source), str(tmp_path / reference)],
                capture_output=True,
                text=True,
                check=True,
            )
            assert rendered.stderr == ""
        text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
        assert "\ufffd" not in text  # no character outside the embedded font
        return text.replace("\u202f", " ").replace("\u00a0", " ")

    award = letter_text("IDF-2017-0001")
    assert "200 000,00 €" in award and "deux cent mille euros" in award
    assert "100 000,00 €" in award and "60 000,00 €" in award and "40 000,00 €" in award
    assert "Le budget ne tient pas." in letter_text("IDF-2017-0002")
    sign_out(page)

    sign_in(page, live, "porteur@demo.guichet.test")
    page.goto(live.url + "/dossiers")
    page.get_by_role("link", name="IDF-2017-0001").click()
    page.get_by_role("link", name="Voir la décision, le courrier et la suite").click()
    page.get_by_text("Une subvention de 200").wait_for()
    page.get_by_role("button", name="Accepter la subvention").click()
    page.get_by_text("Saisissez le nom de la personne qui signe.").first.wait_for()
    # The refused form came back as 422 (boosted): the browser logs that status.
    watched.errors.clear()
    page.get_by_label("Nom de la personne qui signe pour la structure").fill("Alex Exemple")
    page.get_by_label("Sa qualité").fill("Président")
    page.get_by_label("J’accepte la subvention", exact=False).check()
    page.get_by_role("button", name="Accepter la subvention").click()
    page.get_by_text("Vous avez accepté la subvention.").wait_for()
    assert "Acceptée le" in page.content()
    watched.assert_clean()
