"""In production (STAFF_MFA=required by default) a staff member who signs in with the
password alone meets the enrolment page wherever they go, until an authentication app
gives the code; then every page opens, and the next sign-in asks for a code."""

import time

import pyotp

from tests.e2e.conftest import Live, Watched

DEMO_PASSWORD = "demo-guichet-2026"  # nosec B105  # the published demo password
OFFICER = "instruction@demo.guichet.test"
# Staff pages, pages of any signed-in person, public pages: all send back to enrolment.
ELSEWHERE = [
    "/instruction/appels",
    "/journal",
    "/compte/api",
    "/compte",
    "/structures",
    "/",
    "/appels",
]


def sign_in(page, live: Live, email: str) -> None:
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


def sign_out(page, live: Live) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name="Se connecter").first.wait_for()
    assert page.get_by_role("button", name="Se déconnecter").count() == 0
    page.goto(live.url + "/compte")  # really signed out
    assert page.url.startswith(live.url + "/connexion")


def test_staff_set_up_a_second_factor_before_any_page(live_production: Live, watched: Watched):
    live, page = live_production, watched.page
    sign_in(page, live, OFFICER)
    page.wait_for_url(live.url + "/compte/securite")
    page.get_by_text("Votre rôle exige la validation en deux étapes").wait_for()
    # Production cookies are Secure; Chromium keeps them for http://127.0.0.1.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["guichet_session"]["secure"] and cookies["guichet_session"]["httpOnly"]
    for path in ELSEWHERE:
        page.goto(live.url + path)
        assert page.url == live.url + "/compte/securite", path
    watched.assert_clean()

    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Code affiché par l’application").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer la validation en deux étapes").click()
    page.get_by_role("heading", name="Vos codes de secours").wait_for()
    assert page.locator("ul.codes li").count() == 10
    watched.assert_clean()
    # This page came with a new CSRF token (a change of privilege), swapped in by htmx:
    # signing out from it is accepted.
    sign_out(page, live)

    # Now the password, then a code; then the staff pages open.
    sign_in(page, live, OFFICER)
    page.wait_for_url(live.url + "/connexion/verification*")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Vérifier").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    for path in ("/instruction/appels", "/journal", "/compte"):
        page.goto(live.url + path)
        assert page.url == live.url + path
    page.goto(live.url + "/compte/securite")
    page.get_by_text("elle ne peut pas être désactivée").wait_for()
    watched.assert_clean()
    sign_out(page, live)
