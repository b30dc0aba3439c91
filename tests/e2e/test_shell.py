"""The UI shell in a real browser: French home page, English switch, boosted links,
no console error, no CSP violation, no serious accessibility violation."""

from tests.e2e.conftest import Watched

PAGES = ["/", "/financeurs", "/connexion", "/nulle-part"]


def test_home_page_in_french_with_the_demo_funders(live_server, watched: Watched):
    page = watched.page
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Demandez une subvention")
    assert page.get_by_text("Région Île-de-France").first.is_visible()
    assert page.get_by_text("Région Centre-Val de Loire").first.is_visible()
    watched.assert_clean()


def test_every_page_is_clean(live_server, watched: Watched):
    for path in PAGES:
        watched.page.goto(live_server + path)
        watched.errors = [e for e in watched.errors if "404" not in e]  # the 404 page itself
        watched.assert_clean()


def test_boosted_link_navigates_without_a_full_reload(live_server, watched: Watched):
    page = watched.page
    page.goto(live_server + "/")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Financeurs"
    ).click()
    page.wait_for_url(live_server + "/financeurs")
    page.get_by_role("heading", level=1, name="Financeurs").wait_for()
    assert page.evaluate("window.__sameDocument === true")
    assert page.title().startswith("Financeurs")
    watched.assert_clean()


def test_english_switch_is_remembered(live_server, watched: Watched):
    page = watched.page
    page.goto(live_server + "/financeurs")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(live_server + "/financeurs")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "Funders"
    page.goto(live_server + "/")
    assert "Apply for a grant" in page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("link", name="Français").click()
    page.wait_for_url(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    watched.assert_clean()


def test_sign_in_with_the_keyboard_and_a_demo_account(live_server, watched: Watched):
    page = watched.page
    page.goto(live_server + "/connexion")
    page.keyboard.press("Tab")  # the skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.get_by_label("Adresse électronique").fill("instruction@demo.guichet.test")
    page.get_by_label("Mot de passe").fill("wrong password here")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("alert").wait_for()
    assert "incorrect" in page.get_by_role("alert").inner_text()
    watched.errors = [e for e in watched.errors if "422" not in e]
    watched.assert_clean()
    page.get_by_label("Mot de passe").fill("demo-guichet-2026")
    page.get_by_label("Mot de passe").press("Enter")
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    # Staff land on their work queue.
    assert page.url.endswith("/a-traiter")
    assert page.get_by_role("heading", name="À traiter").first.is_visible()
    watched.assert_clean()


def test_sign_in_and_out_without_javascript(live_server, browser):
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse électronique").fill("porteur@demo.guichet.test")
    page.get_by_label("Mot de passe").fill("demo-guichet-2026")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("link", name="Se connecter").first.is_visible()
    context.close()
