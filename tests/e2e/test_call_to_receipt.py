"""From a new call to a submitted file, as people would do it in a browser: an officer
builds and publishes a call whose form uses every field type and a condition; an
association passes eligibility, fills the form over two visits (autosave), enters a
balanced budget, is refused a disguised executable and an oversized file, uploads a
PDF, submits and gets its receipt and e-mail; after the deadline another
association is refused and keeps its draft."""

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from tests.e2e.conftest import Live, Watched
from tests.factories import MINIMAL_PDF

PARIS = ZoneInfo("Europe/Paris")
DEMO_PASSWORD = "demo-guichet-2026"
FIELDS = [
    ("short_text", "Nom court du projet", True, ""),
    ("long_text", "Description du projet", True, ""),
    ("number", "Nombre de stagiaires", False, ""),
    ("money", "Coût par stagiaire", False, ""),
    ("date", "Date de démarrage", False, ""),
    ("single_choice", "Territoire", False, "Urbain\nRural"),
    ("multiple_choice", "Publics", False, "Jeunes\nAdultes"),
    ("yes_no", "Quartiers prioritaires ?", True, ""),
    ("email", "Courriel du référent", False, ""),
    ("url", "Site web", False, ""),
    ("file", "Lettre de soutien", False, ""),
]


def sign_in(page, live, email, password=DEMO_PASSWORD):
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()


def sign_out(page):
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name="Se connecter").first.wait_for()


def paris(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def create_call(page, live, title, prefix) -> str:
    page.goto(live.url + "/instruction/appels/nouveau")
    page.get_by_label("Financeur").select_option(label="Région Île-de-France")
    page.get_by_label("Titre", exact=True).fill(title)
    page.get_by_label("Préfixe des numéros de dossier").fill(prefix)
    page.get_by_label("Enveloppe (€)").fill("1 000 000")
    page.get_by_label("Montant minimum (€)").fill("10 000")
    page.get_by_label("Montant maximum (€)").fill("300 000")
    page.get_by_label("Taux maximum de cofinancement (%)").fill("80")
    page.get_by_label("Ouverture (heure de Paris)").fill(paris(timedelta(hours=-1)))
    page.get_by_label("Clôture (heure de Paris)").fill(paris(timedelta(days=2)))
    page.get_by_role("button", name="Créer l’appel").click()
    page.get_by_text("L’appel est créé en brouillon").wait_for()
    return page.url.rsplit("/", 1)[1]


def test_from_a_new_call_to_a_receipt(live: Live, watched: Watched):
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    call_id = create_call(page, live, "Appel de test complet", "E2E-2026")

    page.get_by_label("Question (réponse oui ou non)").fill("Votre structure a-t-elle un an ?")
    page.get_by_label("Explication montrée au porteur en cas de blocage").fill(
        "Réservé aux structures d’au moins un an."
    )
    page.get_by_role("button", name="Ajouter la question").click()
    page.get_by_text("La question est ajoutée.").wait_for()
    page.get_by_label("Pièce", exact=True).fill("Statuts")
    page.get_by_label("Taille maximale (Mo)").fill("1")
    page.get_by_role("button", name="Ajouter la pièce").click()
    page.get_by_text("La pièce est ajoutée.").wait_for()

    page.goto(f"{live.url}/instruction/appels/{call_id}/formulaire")
    page.get_by_label("Titre de la section").fill("La formation")
    page.get_by_role("button", name="Ajouter la section").click()
    page.get_by_text("La section est ajoutée.").wait_for()
    fields = page.locator(".builder-field")
    for kind, label, required, choices in FIELDS:
        page.get_by_label("Type", exact=True).select_option(kind)
        page.get_by_label("Libellé", exact=True).fill(label)
        if required:
            page.get_by_label("Obligatoire", exact=True).check()
        if choices:
            page.get_by_label("Choix (un par ligne").fill(choices)
        page.get_by_role("button", name="Ajouter le champ").click()
        # The new page lists it (the built-in « Le projet » section's fields come first).
        fields.filter(has_text=label).wait_for()
    # « afficher si Quartiers prioritaires ? = oui »
    page.get_by_label("Type", exact=True).select_option("long_text")
    page.get_by_label("Libellé", exact=True).fill("Quels quartiers ?")
    page.get_by_label("Afficher seulement si… (facultatif)").select_option(
        label="« Quartiers prioritaires ? » vaut « Oui »"
    )
    page.get_by_role("button", name="Ajouter le champ").click()
    conditional = fields.filter(has_text="Quels quartiers ?")
    conditional.wait_for()
    assert "Seulement si vous avez répondu « Oui » à « Quartiers prioritaires ? »." in (
        conditional.inner_text()
    )
    watched.assert_clean()

    page.goto(f"{live.url}/instruction/appels/{call_id}")
    page.get_by_role("link", name="Publier l’appel").click()  # the checklist first
    page.get_by_role("heading", name="Avant de publier").wait_for()
    page.get_by_role("button", name="Publier l’appel").click()
    page.get_by_text("L’état de l’appel est mis à jour.").wait_for()
    sign_out(page)

    # The association.
    sign_in(page, live, "porteur@demo.guichet.test")
    page.goto(f"{live.url}/appels/{call_id}")
    page.get_by_role("link", name="Candidater").click()
    page.get_by_label("Au nom de").select_option(label="Le PoleS")
    page.get_by_label("Oui").check()
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("heading", name="Budget prévisionnel").wait_for()
    draft_url = page.url
    watched.assert_clean()

    # First visit: autosave on change.
    page.get_by_label("Titre du projet").fill("L’école du web de test")
    page.get_by_label("Description du projet").fill("Dix mois pour devenir intégrateur web.")
    page.get_by_label("Description du projet").blur()
    page.get_by_text("Enregistré à").wait_for()
    # Second visit: what was typed is there.
    page.goto(live.url + "/")
    page.goto(draft_url)
    assert (
        page.get_by_label("Description du projet").input_value()
        == "Dix mois pour devenir intégrateur web."
    )
    page.get_by_label("Nom court du projet").fill("École du web")
    page.get_by_role("group", name="Quartiers prioritaires ?").get_by_label("Non").check()
    page.get_by_label("74 – Subvention demandée").fill("100 000")
    page.get_by_label("64 – Charges de personnel").fill("130 000")
    page.get_by_label("74 – État", exact=True).fill("30 000")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Enregistré à").first.wait_for()
    assert "130\u202f000,00\xa0€" in page.locator("#total-produits").inner_text()

    # Documents: a disguised executable and an oversized file are refused, a PDF is kept.
    files = live.data_dir / "uploads-e2e"
    files.mkdir(exist_ok=True)
    (files / "statuts.pdf").write_bytes(b"MZ\x90\x00" + b"\x00" * 4096)
    page.get_by_label("Choisir un fichier : Statuts").set_input_files(str(files / "statuts.pdf"))
    page.get_by_role("button", name="Envoyer : Statuts").click()
    page.get_by_role(
        "link", name=re.compile("Ce fichier est un programme")
    ).wait_for()  # in the summary
    (files / "gros.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 100))
    page.get_by_label("Choisir un fichier : Statuts").set_input_files(str(files / "gros.pdf"))
    page.get_by_role("button", name="Envoyer : Statuts").click()
    page.get_by_role("link", name=re.compile("dépasse la limite pour ce document")).wait_for()
    (files / "vrais-statuts.pdf").write_bytes(MINIMAL_PDF)
    page.get_by_label("Choisir un fichier : Statuts").set_input_files(
        str(files / "vrais-statuts.pdf")
    )
    page.get_by_role("button", name="Envoyer : Statuts").click()
    page.get_by_text("La pièce « Statuts » est jointe.").wait_for()
    watched.errors = [e for e in watched.errors if "422" not in e and "413" not in e]

    page.get_by_role("link", name="Vérifier et déposer mon dossier").click()
    # The sworn statement (CERFA 12156): name, capacity, the box.
    page.get_by_label("Votre qualité").fill("Président·e")
    page.get_by_label(re.compile("^Je certifie exactes les informations")).check()
    page.get_by_role("button", name="Déposer mon dossier").click()
    page.get_by_text("Votre dossier est déposé.").wait_for()
    watched.assert_clean()
    receipt = page.request.get(draft_url + "/accuse-de-reception.pdf")
    assert receipt.status == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.body())).pages)
    assert "Accusé de réception" in text and "E2E-2026-0001" in text and "100\u202f000,00" in text
    assert live.emails_to("porteur@demo.guichet.test", "Dossier E2E-2026-0001")
    sign_out(page)

    # Another association after the deadline: refused, its draft kept.
    sign_in(page, live, "coopaxis@demo.guichet.test")
    page.goto(f"{live.url}/appels/{call_id}/candidater")
    page.get_by_label("Au nom de").select_option(label="CoopAxis")
    page.get_by_label("Oui").check()
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("heading", name="Budget prévisionnel").wait_for()
    page.get_by_label("Titre du projet").fill("Brigades numériques")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Enregistré à").first.wait_for()
    coopaxis_url = page.url
    live.sql(
        "UPDATE call SET closes_at = $1 WHERE id = $2",
        datetime.now(UTC) - timedelta(seconds=1),
        int(call_id),
    )
    page.goto(coopaxis_url + "/deposer")
    page.get_by_role("button", name="Déposer mon dossier").click() if page.get_by_role(
        "button", name="Déposer mon dossier"
    ).count() else None
    page.goto(coopaxis_url)
    assert page.get_by_text("La date limite est passée").is_visible()
    assert page.get_by_label("Titre du projet").input_value() == "Brigades numériques"
    watched.assert_clean()
