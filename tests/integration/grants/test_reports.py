"""The grantee's side of the reports: required documents, autosave (also without
JavaScript, through the upload), the effect of the figures shown before submitting,
the receipt (PDF) and the e-mails, the payments received and the next instalment."""

import html
import io
import re

import pytest
from pypdf import PdfReader

from app.grants import reports
from app.grants.tables import Report
from tests.factories import (
    MINIMAL_PDF,
    csrf_token,
    emails_to,
    make_grant,
    make_user,
    post_form,
    run,
    sign_in,
    text_of,
)


def plain(text):
    return html.unescape(text_of(text)).replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture(scope="module")
def people(client):
    return {
        "officer": make_user(client, roles=["officer"]),
        "finance": make_user(client, roles=["finance"]),
        "owner": make_user(client),
        "stranger": make_user(client),
    }


_sessions: dict[int, dict] = {}


def as_(client, person):
    client.cookies.clear()
    if person["id"] not in _sessions:
        sign_in(client, person)
        _sessions[person["id"]] = dict(client.cookies.items())
    for name, value in _sessions[person["id"]].items():
        client.cookies.set(name, value, domain="testserver.local", path="/")


def upload(client, app, kind, fields=(), *documents):
    return client.post(
        f"/dossiers/{app}/bilans/{kind}/pieces",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            *((name, (None, value)) for name, value in fields),
            *((f"file-{d}", (f"{d}.pdf", MINIMAL_PDF, "application/pdf")) for d in documents),
        ],
        follow_redirects=False,
    )


def submit(client, app, kind, **values):
    data = {"narrative": "Trois promotions formées.", "action": "submit", "confirm": "yes"}
    return post_form(client, f"/dossiers/{app}/bilans/{kind}", {**data, **values})


def status(client, grant, kind):
    return getattr(run(client, reports.find, grant, kind), "status", None)


def test_a_report_is_refused_without_its_required_documents(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["owner"])
    refused = submit(client, g["app"], "interim", actual_charges_64="1 234,56")
    assert refused.status_code == 422
    # The statement's totals read the figures typed (as its effect does), not 0,00 €.
    total = re.search(r"data-actual[^>]*>([^<]+)<", refused.text).group(1)
    assert plain(total) == "1 234,56 €"
    page = plain(refused.text)
    # The error summary names the missing document.
    assert (
        "Rapport d’activité intermédiaire : Joignez cette pièce avant de déposer le bilan."
    ) in page
    assert "Trois promotions formées." in page  # what was typed is kept
    assert status(client, g["grant"], "interim") != "submitted"
    # The rule is the service's, not only the page's.
    with pytest.raises(reports.DocumentsMissing) as missing:
        reports.require_documents("final", [])
    assert [d.key for d in missing.value.missing] == ["activity", "expenses"]
    # An optional document is not enough; the required one is.
    assert upload(client, g["app"], "interim", (), "other").status_code == 303
    assert submit(client, g["app"], "interim").status_code == 422
    assert upload(client, g["app"], "interim", (), "activity").status_code == 303
    assert submit(client, g["app"], "interim").status_code == 303
    assert status(client, g["grant"], "interim") == "submitted"


def test_an_upload_without_javascript_saves_what_was_typed(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["owner"])
    fields = [("narrative", "Écrit avant la pièce."), ("actual_charges_64", "12 000")]
    assert upload(client, g["app"], "final", fields, "expenses").status_code == 303
    report = run(client, reports.find, g["grant"], "final")
    assert report.narrative == "Écrit avant la pièce."
    assert report.actuals["charges"] == {"64": 1_200_000}
    # A wrong amount: the page again with what was typed; the document is attached.
    sent = upload(
        client,
        g["app"],
        "final",
        [("narrative", "Suite"), ("actual_charges_64", "dix")],
        "activity",
    )
    assert sent.status_code == 422
    assert "Suite" in sent.text and 'value="dix"' in sent.text
    files = run(client, reports.attachments, [report.id])[report.id]
    assert sorted(f.document for f in files) == ["activity", "expenses"]


def test_autosave_saves_the_draft_and_refuses_a_flood(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["owner"])
    url = f"/dossiers/{g['app']}/bilans/final/enregistrement"
    saved = client.post(
        url,
        data={"narrative": "Au fil de l'eau", "actual_charges_64": "360 000"},
        headers={"HX-Request": "true", "x-csrftoken": csrf_token(client)},
    )
    assert saved.status_code == 200, saved.text
    assert "Enregistré à" in plain(saved.text)
    # The effect of the saved figures comes with it (swapped out of band).
    assert 'id="report-effect"' in saved.text and 'hx-swap-oob="true"' in saved.text
    assert "Vous déclarez 360 000,00 € de dépenses pour 400 000,00 € prévus" in plain(saved.text)
    report = run(client, reports.find, g["grant"], "final")
    assert report.narrative == "Au fil de l'eau" and report.status == "draft"
    bad = client.post(
        url,
        data={"narrative": "x", "actual_charges_64": "dix"},
        headers={"HX-Request": "true", "x-csrftoken": csrf_token(client)},
    )
    assert bad.status_code == 422 and "1 réponse à corriger" in plain(bad.text)
    assert run(client, reports.find, g["grant"], "final").narrative == "Au fil de l'eau"
    codes = [
        client.post(
            url,
            data={"narrative": "encore"},
            headers={"HX-Request": "true", "x-csrftoken": csrf_token(client)},
        ).status_code
        for _ in range(25)
    ]
    assert 429 in codes, codes


def test_the_effect_of_the_figures_is_shown_before_the_final_report_is_submitted(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["owner"])
    assert upload(client, g["app"], "final", (), "activity", "expenses").status_code == 303
    # The forecast's eligible spending is 400 000 € for a 200 000 € grant.
    first = submit(client, g["app"], "final", actual_charges_64="248 750,80")
    assert first.status_code == 422
    page = plain(first.text)
    assert (
        "Vous déclarez 248 750,80 € de dépenses pour 400 000,00 € prévus : la subvention "
        "pourra être réduite à 124 375,40 € (au lieu de 200 000,00 €)."
    ) in page
    assert "Vérifiez l’effet de vos chiffres" in page
    assert status(client, g["grant"], "final") != "submitted"
    # The same rule as the examination's (grants.reduced_total).
    from app.grants.services import reduced_total

    assert reduced_total(20_000_000, 40_000_000, 24_875_080) == 12_437_540
    # Other figures than those shown: shown again, not submitted.
    again = submit(client, g["app"], "final", actual_charges_64="250 000", previewed="24875080")
    assert again.status_code == 422
    assert "pourra être réduite à 125 000,00 €" in plain(again.text)
    done = submit(client, g["app"], "final", actual_charges_64="250 000", previewed="25000000")
    assert done.status_code == 303
    assert status(client, g["grant"], "final") == "submitted"


def test_submitting_sends_a_receipt_and_emails_the_grantee_and_the_officers(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["owner"])
    receipt_url = f"/dossiers/{g['app']}/bilans/interim/accuse-de-reception.pdf"
    assert client.get(receipt_url).status_code == 404  # not submitted yet
    before_owner = len(emails_to(client, people["owner"]["email"]))
    before_officer = len(emails_to(client, people["officer"]["email"]))
    assert upload(client, g["app"], "interim", (), "activity").status_code == 303
    assert submit(client, g["app"], "interim", actual_charges_64="100 000").status_code == 303
    page = plain(client.get(f"/dossiers/{g['app']}/bilans/interim").text)
    assert "Télécharger l’accusé de réception (PDF)" in page
    pdf = client.get(receipt_url)
    assert pdf.status_code == 200 and pdf.headers["content-type"].startswith("application/pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    text = text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Accusé de réception" in text and "dépôt de votre bilan intermédiaire" in text
    assert "100 000,00 €" in text and "activity.pdf" in text
    stored = run(
        client,
        lambda: Report.select(Report.receipt_file).where(Report.grant == g["grant"]).first().run(),
    )
    assert stored["receipt_file"]  # written once, at submission
    owner_mail = emails_to(client, people["owner"]["email"])[before_owner:]
    officer_mail = emails_to(client, people["officer"]["email"])[before_officer:]
    assert [m["template"] for m in owner_mail] == ["report_submitted"]
    assert [m["template"] for m in officer_mail] == ["report_submitted"]
    assert "bilan intermédiaire déposé" in owner_mail[0]["subject"]
    assert "accuse-de-reception.pdf" in owner_mail[0]["body_text"]
    assert f"/suivi/subventions/{g['grant']}" in officer_mail[0]["body_text"]
    # Signed by the funder's service, not by the software.
    assert "service des subventions" in owner_mail[0]["body_text"]
    assert not owner_mail[0]["body_text"].rstrip().endswith("Guichet")
    # Another organisation's member: no receipt.
    as_(client, people["stranger"])
    assert client.get(receipt_url).status_code == 404


def test_report_emails_date_in_words_and_say_which_report(client, people):
    from datetime import UTC, date, datetime

    from app.accounts.services import Actor
    from app.grants import services as grants

    g = make_grant(client, people["officer"], people["owner"])
    run(
        client,
        grants.set_deadlines,
        g["grant"],
        None,
        date(2018, 12, 31),
        actor=Actor(user_id=people["officer"]["id"]),
    )
    before = len(emails_to(client, people["owner"]["email"]))
    at = datetime(2018, 12, 20, 9, tzinfo=UTC)
    assert run(client, reports.send_reminders, at, base_url="http://testserver.local") >= 1
    mail = [
        m
        for m in emails_to(client, people["owner"]["email"])[before:]
        if m["template"] == "report_reminder"
    ][-1]
    assert "bilan final" in mail["subject"]
    body = mail["body_text"].replace("\u202f", " ").replace("\xa0", " ")
    assert "Le bilan final du projet" in body and "31 décembre 2018" in body
    assert "2018-12-31" not in body
    assert "service des subventions" in body
    assert f"/dossiers/{g['app']}/bilans/final" in body


def test_the_grantee_sees_payments_received_and_what_the_next_instalment_waits_for(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    grant = g["grant"]
    from app.grants import services as grants

    parts = run(client, grants.instalments, grant)
    as_(client, people["officer"])
    post_form(client, f"/suivi/subventions/{grant}/echeances/{parts[0].id}", {"action": "approve"})
    as_(client, people["finance"])
    paid = post_form(
        client,
        f"/suivi/subventions/{grant}/versements",
        {
            "instalment": str(parts[0].id),
            "amount": "100 000",
            "value_date": "2017-07-03",
            "reference": "M-2017-001",
            "key": "next-1",
        },
    )
    assert paid.status_code == 303
    as_(client, people["owner"])
    page = plain(client.get(f"/dossiers/{g['app']}/decision").text)
    assert "Versements reçus" in page
    assert "100 000,00 € — le 3 juillet 2017" in page
    assert "Prochaine échéance : n° 2, 60 000,00 €." in page
    assert "votre bilan intermédiaire, à déposer" in page
    assert "la validation pour paiement par le financeur" in page
    assert "M-2017-001" not in page  # the mandate number stays internal
