"""Lawful mentions on decisions, end to end: the award letter (par délégation, « Affaire
suivie par », the agreement's rule, the salutation, a million in words), the appeal
routes on every unfavourable decision — rejection letter and e-mail, ineligible e-mail."""

import io

import pypdf
import pytest

from app.accounts.services import Actor
from app.applications.tables import Application
from app.decisions import services as decisions
from app.decisions.tables import Letter
from app.funders import services as funders
from tests.factories import (
    emails_to,
    make_application,
    make_call,
    make_decidable,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    write_letters,
)

LEGAL = {
    "service_name": "Pôle formation professionnelle",
    "service_email": "formation@region.test",
    "service_phone": "01 53 85 53 85",
    "signatory_name": "Claude Signataire",
    "signatory_capacity": "La directrice de la formation professionnelle",
    "deliberation_body": "la commission permanente du conseil régional",
    "siret": "23750007900312",
}


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


@pytest.fixture(scope="module")
def world(client):
    officer = make_user(client, roles=["officer"], full_name="Dominique Fictif")
    owner = make_user(client)
    call = make_call(client, officer, publish=True, max_award_cents=0, envelope_cents=10**12)
    from app.calls.tables import Call

    funder = run(client, lambda: Call.select(Call.funder).where(Call.id == call).first().run())
    assert not run(client, funders.update_legal, funder["funder"], LEGAL, actor=Actor(user_id=None))
    award = make_decidable(client, owner, call, requested=100_000_000)
    reject = make_decidable(client, owner, call, requested=1_000_000)
    # The representatives' titles: « Présidente » for the laureate, none for the other.
    for app_id, title in ((award, "Présidente"), (reject, "Responsable")):
        org = run(
            client,
            lambda a=app_id: (
                Application.select(Application.organisation)
                .where(Application.id == a)
                .first()
                .run()
            ),
        )["organisation"]
        from app.organisations.tables import Organisation

        run(
            client,
            lambda o=org, t=title: (
                Organisation.update({Organisation.legal_rep_title: t})
                .where(Organisation.id == o)
                .run()
            ),
        )
    actor = Actor(user_id=officer["id"], label=officer["email"])
    run(
        client,
        decisions.save_settings,
        call,
        {
            "deliberation_reference": "CP 2017-123",
            "deliberation_date": "2017-05-17",
            "schedule_preset": "50-30-20",
        },
        actor=actor,
    )
    run(client, decisions.decide, award, outcome="award", amount=None, reason="", actor=actor)
    run(
        client,
        decisions.decide,
        reject,
        outcome="reject",
        amount=None,
        reason="Le budget n’est pas équilibré.",
        actor=actor,
    )
    token = run(client, decisions.pending, call).token
    run(client, decisions.publish, call, token, actor=actor)
    write_letters(client, base_url="https://guichet.region.test")
    return {"officer": officer, "owner": owner, "call": call, "award": award, "reject": reject}


def letter_text(client, world, app_id) -> tuple[str, pypdf.PdfReader]:
    letter = run(client, lambda: Letter.select().where(Letter.application == app_id).first().run())
    sign_in(client, world["officer"])
    response = client.get(f"/instruction/dossiers/{app_id}/courriers/{letter['id']}")
    assert response.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return plain(" ".join(p.extract_text() for p in reader.pages)), reader


def test_the_award_letter_of_a_million(client, world):
    text, _reader = letter_text(client, world, world["award"])
    assert "1 000 000,00 €" in text
    assert "un million d'euros" in text
    assert "Madame la Présidente," in text
    assert "la commission permanente du conseil régional a décidé d’attribuer" in text
    assert "Affaire suivie par : Dominique Fictif" in text and "tél. 01 53 85 53 85" in text
    assert world["officer"]["email"] in text
    assert "par délégation" in text and "Claude Signataire" in text
    assert "Cette subvention dépassant 23 000,00 €" in text
    assert "à l’adresse guichet.region.test, ouvrez le dossier" in text
    assert "https://" not in text
    assert "Voies et délais de recours" not in text


def test_the_rejection_letter_and_its_email_state_the_appeal_routes(client, world):
    text, _reader = letter_text(client, world, world["reject"])
    assert "Madame, Monsieur," in text
    assert "Voies et délais de recours" in text
    assert "deux mois" in text and "recours gracieux" in text
    assert "tribunal administratif" in text and "Télérecours citoyens" in text
    mails = [
        m for m in emails_to(client, world["owner"]["email"]) if m["template"] == "decision_letter"
    ]
    rejection = [m for m in mails if "Télérecours" in m["body_text"]]
    award = [m for m in mails if "Télérecours" not in m["body_text"]]
    assert len(rejection) == 1 and len(award) == 1
    assert "Voies et délais de recours" in rejection[0]["body_text"]
    assert "Télérecours citoyens" in rejection[0]["body_html"]
    assert "formation@region.test" in rejection[0]["body_text"]  # the service signs


def test_an_ineligible_file_is_told_the_appeal_routes(client, world):
    owner, officer = world["owner"], world["officer"]
    app_id = make_application(client, owner, make_organisation(client, owner), world["call"])
    run(
        client,
        lambda: (
            Application.update({Application.status: "submitted", Application.reference: "S-1"})
            .where(Application.id == app_id)
            .run()
        ),
    )
    sign_in(client, officer)
    done = post_form(
        client,
        f"/instruction/dossiers/{app_id}/recevabilite",
        {"decision": "ineligible", "reason": "Statuts non signés."},
    )
    assert done.status_code == 303
    (mail,) = [
        m for m in emails_to(client, owner["email"]) if m["template"] == "application_ineligible"
    ]
    body = plain(mail["body_text"])
    assert "Statuts non signés." in body
    assert "Voies et délais de recours" in body and "deux mois" in body
    assert "tribunal administratif" in body and "www.telerecours.fr" in body
    assert "Pôle formation professionnelle" in body

    # The decision as a PDF, for the organisation: the reason and the appeal routes.
    sign_in(client, owner)
    response = client.get(f"/dossiers/{app_id}/irrecevabilite.pdf")
    assert response.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = plain(" ".join(p.extract_text() for p in reader.pages))
    assert "Décision d’irrecevabilité" in text and "Statuts non signés." in text
    assert "Voies et délais de recours" in text and "Télérecours citoyens" in text
    assert "deux mois" in text and "par délégation" in text and "Claude Signataire" in text
