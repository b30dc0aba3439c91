"""The notice of a reduced grant and of what must be paid back: reason (report against
forecast), amount to repay, deadline, how to pay, appeal routes; PDF kept as sent with
its fingerprint, audited, e-mailed; downloaded by the organisation and the staff only."""

import hashlib
import io

import pypdf
import pytest

from app.accounts.services import Actor
from app.calls.tables import Call
from app.core.audit import search
from app.core.storage import FileStorage
from app.funders import services as funders
from app.grants.tables import GrantNotice, Instalment
from tests.factories import (
    attach_report_documents,
    emails_to,
    make_grant,
    make_user,
    post_form,
    run,
    sign_in,
)


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


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def test_an_overpaid_grant_gets_its_notice(client, people):
    g = make_grant(client, people["officer"], people["owner"], schedule="single")
    grant, app = g["grant"], g["app"]
    funder = run(client, lambda: Call.select(Call.funder).where(Call.id == g["call"]).first().run())
    assert not run(
        client,
        funders.update_legal,
        funder["funder"],
        {"service_email": "finances@region.test", "signatory_name": "Claude Signataire"},
        actor=Actor(user_id=None),
    )
    part = run(client, lambda: Instalment.select().where(Instalment.grant == grant).first().run())
    as_(client, people["officer"])
    assert (
        post_form(
            client, f"/suivi/subventions/{grant}/echeances/{part['id']}", {"action": "approve"}
        ).status_code
        == 303
    )
    as_(client, people["finance"])
    assert (
        post_form(
            client,
            f"/suivi/subventions/{grant}/versements",
            {
                "instalment": str(part["id"]),
                "amount": "200 000",
                "value_date": "2017-07-03",
                "reference": "M-1",
                "key": "notice-1",
            },
        ).status_code
        == 303
    )
    as_(client, people["owner"])
    attach_report_documents(client, app, "final", "activity", "expenses")
    assert (
        post_form(
            client,
            f"/dossiers/{app}/bilans/final",
            {
                "narrative": "Fait.",
                "action": "submit",
                "confirm": "yes",
                "actual_charges_64": "300 000",
                "previewed": "30000000",  # the effect of these figures was shown
            },
        ).status_code
        == 303
    )
    as_(client, people["officer"])
    assert (
        post_form(
            client,
            f"/suivi/subventions/{grant}/bilans/final",
            {"decision": "approve", "message": ""},
        ).status_code
        == 303
    )
    assert post_form(client, f"/suivi/subventions/{grant}/reduction").status_code == 303

    (notice,) = run(client, lambda: GrantNotice.select().where(GrantNotice.grant == grant).run())
    assert notice["recovery_cents"] == 5_000_000 and notice["repay_by"] is not None
    path = f"/suivi/subventions/{grant}/avis/{notice['id']}"
    response = client.get(path)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == notice["sha256"]
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = plain(" ".join(p.extract_text() for p in reader.pages))
    assert "Avis de réduction de subvention" in text
    assert "300 000,00 €" in text and "400 000,00 €" in text  # actual against forecast
    assert "50 000,00 €" in text and "cinquante mille euros" in text
    assert "au plus tard le" in text and "titre de recette" in text
    assert "Voies et délais de recours" in text and "Télérecours citoyens" in text
    assert "par délégation" in text and "Claude Signataire" in text
    stored = FileStorage.of_app(client.app).path_of(notice["storage_id"])
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == notice["sha256"]

    entries, _count = run(
        client, search, object_type="grant", object_id=grant, action="grants.reduction_notice"
    )
    assert entries and entries[0]["summary"]["sha256"] == notice["sha256"]

    (mail,) = [
        m for m in emails_to(client, people["owner"]["email"]) if m["template"] == "grant_reduced"
    ]
    body = plain(mail["body_text"])
    assert "50 000,00 €" in body and "Voies et délais de recours" in body
    assert f"/suivi/subventions/{grant}/avis/{notice['id']}" in body
    assert "finances@region.test" in body

    # The organisation downloads it from its page; a stranger gets nothing.
    as_(client, people["owner"])
    assert client.get(path).status_code == 200
    assert "Avis de réduction (PDF)" in client.get(f"/dossiers/{app}/decision").text
    as_(client, people["stranger"])
    assert client.get(path).status_code == 404
