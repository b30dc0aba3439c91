"""People and trust, as new users would do it in a browser: sign up and confirm by
e-mail, create an association (an invalid SIRET first), invite a member who joins;
an admin invites a reviewer who sets a password and turns on two-step verification."""

import re
import time

import pyotp

from tests.e2e.conftest import Live, Watched

PASSWORD = "une phrase de passe solide"


def sign_up_and_confirm(page, live: Live, name: str, email: str) -> None:
    page.goto(live.url + "/inscription")
    page.get_by_label("Prénom et nom").fill(name)
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("J’ai pris connaissance").check()
    page.get_by_role("button", name="Créer mon compte").click()
    page.get_by_role("heading", name="Vérifiez votre messagerie").wait_for()
    (message,) = live.emails_to(email, "Confirmez")
    page.goto(live.link_in(message))
    page.get_by_role("button", name="Confirmer mon adresse").click()
    page.get_by_text("Votre adresse électronique est confirmée").wait_for()


def sign_in(page, live: Live, email: str, password: str = PASSWORD) -> None:
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name="Se connecter").first.wait_for()


def test_association_journey(live: Live, watched: Watched):
    page = watched.page
    sign_up_and_confirm(page, live, "Camille Essai", "camille@asso-e2e.test")
    sign_in(page, live, "camille@asso-e2e.test")
    page.get_by_text("Vous êtes connecté·e.").wait_for()

    page.goto(live.url + "/structures/nouvelle")
    fields = {
        "Nom": "Association Essai",
        "Numéro SIRET": "1234",
        "Numéro RNA (associations)": "W751234567",
        "Numéro et rue": "1 rue de la Paix",
        "Code postal": "75002",
        "Commune": "Paris",
        "Représentant·e légal·e (prénom et nom)": "Camille Essai",
        "Qualité": "Présidente",
        "Adresse électronique de contact": "contact@asso-e2e.test",
        "Téléphone": "01 02 03 04 05",
        "IBAN": "FR7630006000011234567890189",
        "BIC": "AGRIFRPP",
    }
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Forme juridique").select_option("association")
    page.get_by_role("button", name="Enregistrer").click()
    summary = page.get_by_role("alert")
    summary.wait_for()
    assert "Le numéro SIRET doit comporter 14 chiffres." in summary.inner_text()
    assert page.get_by_label("Commune", exact=True).input_value() == "Paris"  # kept
    watched.errors = [e for e in watched.errors if "422" not in e]
    watched.assert_clean()
    page.get_by_label("Numéro SIRET", exact=True).fill("732 829 320 00074")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("heading", level=1, name="Association Essai").wait_for()
    assert page.get_by_text("732 829 320 00074").is_visible()

    page.get_by_label("Adresse électronique de la personne").fill("dominique@asso-e2e.test")
    page.get_by_role("button", name="Envoyer l’invitation").click()
    page.get_by_text("Invitation envoyée à dominique@asso-e2e.test.").wait_for()
    watched.assert_clean()
    sign_out(page)

    # Dominique has no account yet: from the invitation, create one, confirm it,
    # sign in, and come back to the invitation.
    (invitation,) = live.emails_to("dominique@asso-e2e.test", "Invitation")
    page.goto(live.link_in(invitation))
    page.get_by_role("link", name="Créer un compte").last.click()
    assert page.get_by_label("Adresse électronique").input_value() == "dominique@asso-e2e.test"
    page.get_by_label("Prénom et nom").fill("Dominique Essai")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("J’ai pris connaissance").check()
    page.get_by_role("button", name="Créer mon compte").click()
    page.get_by_role("heading", name="Vérifiez votre messagerie").wait_for()
    (confirmation,) = live.emails_to("dominique@asso-e2e.test", "Confirmez")
    page.goto(live.link_in(confirmation))
    page.get_by_role("button", name="Confirmer mon adresse").click()
    page.get_by_text("Votre adresse électronique est confirmée").wait_for()
    page.get_by_label("Adresse électronique").fill("dominique@asso-e2e.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("button", name="Rejoindre la structure").click()
    page.get_by_text("Bienvenue dans Association Essai !").wait_for()
    members = page.get_by_role("table").inner_text()
    assert "Camille Essai" in members and "Dominique Essai" in members
    watched.assert_clean()
    sign_out(page)


def test_admin_invites_a_reviewer_who_turns_on_two_step_verification(live: Live, watched: Watched):
    page = watched.page
    sign_in(page, live, "admin@demo.guichet.test", "demo-guichet-2026")
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Inviter un agent").click()
    page.get_by_label("Prénom et nom").fill("Alix Relectrice")
    page.get_by_label("Adresse électronique").fill("alix@region-e2e.test")
    page.get_by_label("évaluateur·rice").check()
    page.get_by_role("button", name="Envoyer l’invitation").click()
    page.get_by_text("Invitation envoyée à alix@region-e2e.test.").wait_for()
    watched.assert_clean()
    sign_out(page)

    (message,) = live.emails_to("alix@region-e2e.test")
    page.goto(live.link_in(message))
    page.get_by_label("Nouveau mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Nouveau mot de passe, à nouveau").fill(PASSWORD)
    page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    page.get_by_text("Bienvenue ! Votre mot de passe est enregistré.").wait_for()
    sign_in(page, live, "alix@region-e2e.test")
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    page.goto(live.url + "/compte/securite")
    assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Code affiché par l’application").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer la validation en deux étapes").click()
    page.get_by_role("heading", name="Vos codes de secours").wait_for()
    watched.assert_clean()
    sign_out(page)

    sign_in(page, live, "alix@region-e2e.test")
    # The code that turned it on works once: the next step's code (clock drift) is new.
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Vérifier").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    watched.assert_clean()
