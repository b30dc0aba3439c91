"""Every e-mail about a file is signed by the funder's service (its legal settings),
not by the software, and its dates read « 31 décembre 2018 »; e-mails about an
account, which no funder sends, stay signed Guichet."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.core.mail import render_email
from app.funders.models import FunderLegal, funder_context

EMAILS = Path(__file__).parents[3] / "templates" / "emails"

LEGAL = FunderLegal(
    id=1,
    name="Région Île-de-France",
    address="2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
    service_name="Direction de la formation professionnelle",
    service_address="Service des subventions\n2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
    service_email="subventions@iledefrance.example",
    service_phone="01 53 85 53 85",
)

# One context holding what any e-mail about a file may read.
FILE = {
    "reference": "IDF-2017-0042",
    "title": "École du web",
    "call": "Le numérique au service de la formation professionnelle",
    "organisation": "Le PoleS",
    "url": "https://guichet.example/dossiers/42",
    "receipt_url": "https://guichet.example/dossiers/42/bilans/final/accuse-de-reception.pdf",
    "message": "Le RIB manque.",
    "reason": "Hors du territoire.",
    "sha256": "0" * 64,
    "submitted_at": "2018-12-31T10:00:00+00:00",
    "submitted_on": "2018-12-31",
    "complete_by": datetime(2018, 12, 31, 11, tzinfo=UTC),
    "award": False,
    "version": 1,
    "kind": "final",
    "approved": True,
    "late": False,
    "due": "2018-12-31",
    "staff": False,
    "declared": "248 750,80 €",
    "planned": "260 000,00 €",
    "reduction": "5 000,00 €",
    "recovery": "",
    "repay_by": "",
    "received": "",
    "step": "to_sign",
}

# The e-mails an organisation receives about one of its files (the funder writes).
ABOUT_A_FILE = [
    "agreement_step",
    "grant_recovery",
    "application_eligible",
    "application_ineligible",
    "application_message",
    "application_submitted",
    "application_to_complete",
    "decision_letter",
    "grant_reduced",
    "report_reminder",
    "report_reviewed",
    "report_submitted",
]
# About an account or the platform: no funder is behind them.
ABOUT_AN_ACCOUNT = [
    "agreement_code",  # a one-time code, like a sign-in link
    "account_exists",
    "audit_checkpoint",
    "iban_changed",
    "join_request",
    "join_request_answered",
    "member_invitation",
    "reset_password",
    "roles_granted",
    "staff_invitation",
    "test_message",
    "verify_email",
    "review_assigned",
    "review_reminder_after",
    "review_reminder_before",
    "review_reminder_now",
]


def test_every_template_is_classified():
    names = {p.name.split(".")[0] for p in EMAILS.glob("*.txt") if not p.name.startswith("_")}
    assert names == set(ABOUT_A_FILE) | set(ABOUT_AN_ACCOUNT)


@pytest.mark.parametrize("template", ABOUT_A_FILE)
def test_an_email_about_a_file_is_signed_by_the_funders_service(template):
    mail = render_email(template, "fr", {**FILE, **funder_context(LEGAL)})
    lines = [line for line in mail.text.splitlines() if line.strip()]
    assert lines[-7:] == [
        "Direction de la formation professionnelle",
        "Région Île-de-France",
        "Service des subventions",
        "2 rue Simone Veil",
        "93400 Saint-Ouen-sur-Seine",
        "subventions@iledefrance.example",
        "01 53 85 53 85",
    ]
    assert "Direction de la formation professionnelle<br>Région Île-de-France" in mail.html
    # Dates in words, never ISO.
    assert "2018-12-31" not in mail.text


def test_without_legal_settings_the_funders_department_signs():
    legal = FunderLegal(
        id=1, name="Région Centre-Val de Loire", address="9 rue Saint-Pierre-Lentin\n45000 Orléans"
    )
    mail = render_email("report_reviewed", "fr", {**FILE, **funder_context(legal)})
    tail = [line for line in mail.text.splitlines() if line.strip()][-3:]
    assert tail == [
        "Région Centre-Val de Loire — service des subventions",
        "9 rue Saint-Pierre-Lentin",
        "45000 Orléans",
    ]


def test_dates_read_in_words():
    mail = render_email("application_to_complete", "fr", {**FILE, **funder_context(LEGAL)})
    assert "avant le 31 décembre 2018 à 12:00 (heure de Paris)" in mail.text
    submitted = render_email("application_submitted", "fr", {**FILE, **funder_context(LEGAL)})
    assert "a été déposé le 31 décembre 2018" in submitted.text
    # An instant is the day it is in Paris: 23:30 UTC on 31 December is 1 January there.
    late = {**FILE, "submitted_at": "2018-12-31T23:30:00+00:00"}
    assert "déposé le 1er janvier 2019" in render_email("application_submitted", "fr", late).text
    reminder = render_email("report_reminder", "fr", {**FILE, **funder_context(LEGAL)})
    assert "Le bilan final du projet « École du web » (dossier IDF-2017-0042)" in reminder.text
    assert "est attendu le 31 décembre 2018" in reminder.text
    due = datetime(2018, 12, 31, 11, tzinfo=UTC)
    files = [{"reference": "R", "title": "T", "call": "C", "url": "u", "due": None}]
    review = render_email(
        "review_assigned", "fr", {"count": 1, "files": files, "due": due, "url": "u"}
    )
    assert "31 décembre 2018 à 12:00" in review.text
    assert date(2018, 12, 31).isoformat() not in review.text


@pytest.mark.parametrize("template", ["member_invitation", "reset_password"])
def test_an_email_about_an_account_is_signed_by_guichet(template):
    context = {"organisation": "Le PoleS", "inviter": "Camille", "url": "https://g.example/x"}
    mail = render_email(template, "fr", context)
    assert mail.text.rstrip().endswith("Guichet")
