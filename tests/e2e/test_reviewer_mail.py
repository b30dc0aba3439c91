"""Reviewers' e-mails by real SMTP, in a browser: a server that sends through an SMTP
server of the test (aiosmtpd). The officer has a replacement assigned for a review given
back for a conflict; the replacement reviewer receives one e-mail naming the file; the
officer's « Relancer » on the call's evaluation page sends that reviewer a reminder."""

from __future__ import annotations

import re
import socket
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import BACKGROUND_S, Live, Watched, _live

PASSWORD = "demo-guichet-2026"
REVIEWERS = (
    "evaluation@demo.guichet.test",
    "relecture1@demo.guichet.test",
    "relecture2@demo.guichet.test",
)


class Mailbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def wait_for(self, subject: str, after: int) -> list:
        """The messages received after the first ``after`` whose subject starts with
        ``subject``, waiting until there is one."""
        deadline = time.monotonic() + BACKGROUND_S
        while True:
            found = [m for m in self.received[after:] if m["Subject"].startswith(subject)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.3)


@pytest.fixture(scope="module")
def mailbox():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def live(databases, tmp_path_factory, mailbox):
    """The demo, untouched by other tests, sending its e-mails by SMTP."""
    yield from _live(databases, tmp_path_factory, extra_env={"SMTP_URL": mailbox.url})


def sign_in(page, live, email):
    page.goto(live.url + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()


def test_assignment_and_reminder_reach_the_reviewer_by_smtp(
    live: Live, mailbox: Mailbox, watched: Watched
):
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    page.wait_for_url(re.compile(r"/a-traiter$"))
    page.locator("li.queue__line").filter(
        has_text="Évaluations manquantes après un désistement"
    ).get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/evaluation/affectation$"))
    before = len(mailbox.received)
    page.get_by_role("button", name="Enregistrer ces affectations").click()
    page.wait_for_url(re.compile(r"/evaluation$"))

    assigned = mailbox.wait_for("Un dossier à évaluer", before)
    assert len(assigned) == 1, [m["Subject"] for m in mailbox.received[before:]]
    reviewer = assigned[0]["To"]
    assert reviewer in REVIEWERS
    text = assigned[0].get_body(preferencelist=("plain",)).get_content()
    reference = re.search(r"- (CVL-[0-9-]+|[A-Z]+-\d{4}-\d{4})", text).group(1)
    assert live.url + "/" in text  # a link back to the reviewer's page

    # « Relancer » on the reviewer's row of the progress table: one reminder, by SMTP,
    # listing the file just assigned.
    row = page.locator("tr").filter(has_text=reviewer)
    before = len(mailbox.received)
    row.get_by_role("button", name=re.compile("^Relancer")).click()
    page.get_by_text("Une relance est envoyée.").wait_for()
    watched.assert_clean()
    reminders = mailbox.wait_for("Relance", before)
    assert [m["To"] for m in reminders] == [reviewer]
    assert reference in reminders[0].get_body(preferencelist=("plain",)).get_content()
