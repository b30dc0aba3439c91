"""« À traiter » in a browser, on the demo: the officer lands on it, sees the review a
reviewer gave back for a conflict on the Centre-Val de Loire call, has a replacement
assigned automatically; the replacement reviewer gets the e-mail and, signing in,
lands on « À traiter » with the file to review."""

import re
import time

from tests.e2e.conftest import Live, Watched

PASSWORD = "demo-guichet-2026"
REVIEWERS = (
    "evaluation@demo.guichet.test",
    "relecture1@demo.guichet.test",
    "relecture2@demo.guichet.test",
)


def sign_in(page, live, email):
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()


def sign_out(page):
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("link", name="Se connecter").first.wait_for()


def test_officer_assigns_a_replacement_who_finds_it_on_their_queue(live: Live, watched: Watched):
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    page.wait_for_url(re.compile(r"/a-traiter$"))
    page.get_by_role("heading", name="À traiter", level=1).wait_for()
    missing = page.locator("li.queue__line").filter(
        has_text="Évaluations manquantes après un désistement"
    )
    assert missing.locator(".queue__count").first.inner_text() == "1"
    watched.assert_clean()
    missing.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/evaluation/affectation$"))
    page.get_by_text("1 nouvelle affectation").first.wait_for()
    page.get_by_role("button", name="Enregistrer ces affectations").click()
    page.wait_for_url(re.compile(r"/evaluation$"))
    page.goto(live.url + "/a-traiter")
    missing = page.locator("li.queue__line").filter(
        has_text="Évaluations manquantes après un désistement"
    )
    assert missing.locator(".queue__count").first.inner_text() == "0"
    sign_out(page)

    # The replacement gets one e-mail naming the file (written by the outbox sender).
    found = {}
    deadline = time.monotonic() + 30
    while not found and time.monotonic() < deadline:
        for address in REVIEWERS:
            mails = live.emails_to(address, subject="Un dossier à évaluer", timeout_s=0)
            if mails:
                found[address] = mails[-1]
        time.sleep(0.3)
    assert len(found) == 1, found
    ((address, mail),) = found.items()
    text = mail.get_body(preferencelist=("plain",)).get_content()
    reference = re.search(r"- (CVL-[0-9-]+|[A-Z]+-\d{4}-\d{4})", text).group(1)

    sign_in(page, live, address)
    page.wait_for_url(re.compile(r"/a-traiter$"))
    todo = page.locator("li.queue__line").filter(has_text="Évaluations à faire")
    todo.wait_for()
    watched.assert_clean()
    todo.get_by_role("link", name="Évaluations à faire").click()
    page.wait_for_url(re.compile(r"/evaluation$"))
    page.get_by_role("link", name=re.compile(re.escape(reference))).first.wait_for()
    sign_out(page)
