"""The funder's service in charge (its legal settings) is on the report's receipt
(name, postal address, e-mail, telephone, who signs) and signs the e-mails a grantee
and an applicant receive about their file."""

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from app.applications.tables import Application
from app.calls.tables import Call
from app.funders.tables import Funder
from tests.factories import (
    attach_report_documents,
    emails_to,
    make_application,
    make_call,
    make_grant,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
)

SERVICE = {
    Funder.address: "2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine CEDEX",
    Funder.service_name: "Direction de la formation professionnelle",
    Funder.service_address: "Bureau des subventions\n2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
    Funder.service_email: "subventions@region.example",
    Funder.service_phone: "01 53 85 53 85",
    Funder.signatory_name: "Dominique Exemple",
    Funder.signatory_capacity: "Directrice de la formation",
}


def _give_the_funder_a_service(client, call_id):
    funder = run(client, lambda: Call.select(Call.funder).where(Call.id == call_id).first().run())
    run(client, lambda: Funder.update(SERVICE).where(Funder.id == funder["funder"]).run())
    return funder["funder"]


def test_the_report_receipt_and_emails_carry_the_service(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    g = make_grant(client, officer, owner)
    _give_the_funder_a_service(client, g["call"])
    sign_in(client, owner)
    attach_report_documents(client, g["app"], "interim", "activity")
    before = len(emails_to(client, owner["email"]))
    submitted = post_form(
        client,
        f"/dossiers/{g['app']}/bilans/interim",
        {"narrative": "Trois promotions.", "action": "submit", "confirm": "yes"},
    )
    assert submitted.status_code == 303, submitted.text
    pdf = client.get(f"/dossiers/{g['app']}/bilans/interim/accuse-de-reception.pdf")
    assert pdf.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for line in (
        "Direction de la formation professionnelle",
        "Bureau des subventions",
        "2 rue Simone Veil",
        "93400 Saint-Ouen-sur-Seine",
        "subventions@region.example",
        "01 53 85 53 85",
        "Dominique Exemple",
        "Directrice de la formation",
    ):
        assert line in text, line
    assert "Saint-Ouen-sur-Seine, le" in text  # written where the funder is, no CEDEX
    sign_out(client)
    (mail,) = [
        m for m in emails_to(client, owner["email"])[before:] if m["template"] == "report_submitted"
    ]
    tail = [line for line in mail["body_text"].splitlines() if line.strip()][-4:]
    assert tail[0] == "2 rue Simone Veil" and tail[-1] == "01 53 85 53 85"
    assert "Direction de la formation professionnelle" in mail["body_text"]


def test_a_file_sent_back_to_complete_says_by_when_and_who_writes(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, make_organisation(client, owner), call_id)
    _give_the_funder_a_service(client, call_id)
    # Submitted (its state set here), then sent back by the officer with a deadline.
    run(
        client,
        lambda: (
            Application.update({Application.status: "submitted", Application.reference: "AAP-1"})
            .where(Application.id == app_id)
            .run()
        ),
    )
    year = datetime.now(UTC).year + 1
    sign_in(client, officer)
    sent = post_form(
        client,
        f"/instruction/dossiers/{app_id}/a-completer",
        {"message": "Le RIB manque.", "complete_by": f"{year}-12-31T12:00"},
    )
    assert sent.status_code == 303, sent.text
    sign_out(client)
    (mail,) = [
        m for m in emails_to(client, owner["email"]) if m["template"] == "application_to_complete"
    ]
    body = mail["body_text"]
    assert f"avant le 31 décembre {year} à 12:00 (heure de Paris)" in body
    assert "Direction de la formation professionnelle" in body
    assert not body.rstrip().endswith("Guichet")
