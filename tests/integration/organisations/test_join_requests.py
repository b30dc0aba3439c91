"""« SIRET déjà enregistré »: the person asks to join; the owners accept or refuse
on the members page; the requester learns only the organisation's name and town
until accepted; one request waits at a time, and asking is rate-limited."""

from app.core.tables import AuditEntry
from app.organisations.tables import JoinRequest, Membership, Organisation
from tests.factories import (
    emails_to,
    link_in,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
)
from tests.integration.organisations.test_organisations import VALID


def _org(client, org_id: int) -> dict:
    return run(client, lambda: Organisation.select().where(Organisation.id == org_id).first().run())


def _role(client, org_id: int, user_id: int) -> str | None:
    row = run(
        client,
        lambda: (
            Membership.select(Membership.role)
            .where((Membership.organisation == org_id) & (Membership.user == user_id))
            .first()
            .run()
        ),
    )
    return row["role"] if row else None


def _actions(client, org_id: int) -> list[str]:
    rows = run(
        client,
        lambda: (
            AuditEntry.select(AuditEntry.action)
            .where(
                (AuditEntry.object_type == "organisation") & (AuditEntry.object_id == str(org_id))
            )
            .order_by(AuditEntry.id)
            .run()
        ),
    )
    return [r["action"] for r in rows]


def _request_id(client, org_id: int, user_id: int) -> int:
    row = run(
        client,
        lambda: (
            JoinRequest.select(JoinRequest.id)
            .where((JoinRequest.organisation == org_id) & (JoinRequest.user == user_id))
            .order_by(JoinRequest.id, ascending=False)
            .first()
            .run()
        ),
    )
    return row["id"]


def test_a_registered_siret_offers_to_ask_and_tells_only_name_and_town(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner, city="Tours", street="7 rue Secrète")
    org = _org(client, org_id)
    requester = make_user(client)
    sign_in(client, requester)
    response = post_form(client, "/structures/nouvelle", {**VALID, "siret": org["siret"]})
    assert response.status_code == 422
    page = text_of(response.text)
    assert f"{org['name']} (Tours) est inscrite avec ce numéro SIRET." in page
    assert f"Demander à rejoindre {org['name']}" in page
    # Nothing else of the organisation: not its address, contact, bank or owners.
    for secret in ("7 rue Secrète", org["contact_email"], owner["email"], org["rna"]):
        assert secret not in response.text, secret
    assert 'value="Le PoleS test"' in response.text  # what was typed is kept
    sign_out(client)


def test_ask_then_the_owner_accepts_and_the_person_becomes_a_member(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    siret = _org(client, org_id)["siret"]
    plain_member = make_user(client)
    run(
        client,
        lambda: Membership.insert(
            Membership(organisation=org_id, user=plain_member["id"], role="member")
        ).run(),
    )
    requester = make_user(client, full_name="Camille Demandeuse")
    sign_in(client, requester)
    asked = post_form(client, "/structures/rejoindre", {"siret": siret})
    assert asked.status_code == 303 and asked.headers["location"] == "/structures"
    listing = text_of(client.get("/structures").text)
    assert "Votre demande pour rejoindre" in listing
    assert "Demandes en attente de réponse" in listing
    # One request waits at a time.
    again = post_form(client, "/structures/rejoindre", {"siret": siret})
    assert again.status_code == 303
    assert "Vous avez déjà demandé à rejoindre" in text_of(client.get("/structures").text)
    assert (
        run(client, lambda: JoinRequest.count().where(JoinRequest.organisation == org_id).run())
        == 1
    )
    # The create form now says so instead of offering the button again.
    page = text_of(post_form(client, "/structures/nouvelle", {**VALID, "siret": siret}).text)
    assert "Vous avez déjà demandé à la rejoindre" in page
    # Not a member yet: the organisation's page stays hidden.
    assert client.get(f"/structures/{org_id}").status_code == 404
    sign_out(client)

    (mail,) = [m for m in emails_to(client, owner["email"]) if m["template"] == "join_request"]
    assert "Camille Demandeuse" in mail["body_text"] and requester["email"] in mail["body_text"]
    assert not [
        m for m in emails_to(client, plain_member["email"]) if m["template"] == "join_request"
    ]
    request_id = _request_id(client, org_id, requester["id"])

    # A plain member cannot answer.
    sign_in(client, plain_member)
    refused = post_form(
        client, f"/structures/{org_id}/demandes/{request_id}", {"decision": "accept"}
    )
    assert refused.status_code == 303
    assert _role(client, org_id, requester["id"]) is None
    assert "Camille Demandeuse" not in client.get(f"/structures/{org_id}").text
    sign_out(client)

    sign_in(client, owner)
    # « Mon espace » says what is waiting for the owner.
    space = text_of(client.get("/mon-espace").text)
    assert f"Répondre à une demande pour rejoindre {_org(client, org_id)['name']}" in space
    assert "Camille Demandeuse, demande du" in space
    page = client.get(link_in(mail))
    assert page.status_code == 200
    requests = text_of(page.text.split('id="join-requests"')[1].split("</section>")[0])
    assert "Camille Demandeuse" in requests and "Accepter" in requests
    accepted = post_form(
        client, f"/structures/{org_id}/demandes/{request_id}", {"decision": "accept"}
    )
    assert accepted.status_code == 303
    assert "La personne est maintenant membre." in text_of(client.get(f"/structures/{org_id}").text)
    assert _role(client, org_id, requester["id"]) == "member"
    twice = post_form(client, f"/structures/{org_id}/demandes/{request_id}", {"decision": "refuse"})
    assert twice.status_code == 303
    assert "déjà reçu une réponse" in text_of(client.get(f"/structures/{org_id}").text)
    assert _role(client, org_id, requester["id"]) == "member"
    assert "Répondre à une demande" not in text_of(client.get("/mon-espace").text)
    sign_out(client)

    (told,) = [
        m for m in emails_to(client, requester["email"]) if m["template"] == "join_request_answered"
    ]
    assert "Vous êtes maintenant membre" in told["subject"]
    assert _actions(client, org_id)[-2:] == [
        "organisations.join_requested",
        "organisations.join_accepted",
    ]
    sign_in(client, requester)
    assert client.get(f"/structures/{org_id}").status_code == 200
    sign_out(client)


def test_the_owner_refuses_and_the_person_is_told(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    requester = make_user(client)
    sign_in(client, requester)
    post_form(client, "/structures/rejoindre", {"siret": _org(client, org_id)["siret"]})
    sign_out(client)
    request_id = _request_id(client, org_id, requester["id"])
    sign_in(client, owner)
    response = post_form(
        client, f"/structures/{org_id}/demandes/{request_id}", {"decision": "refuse"}
    )
    assert response.status_code == 303
    assert 'id="join-requests"' not in client.get(f"/structures/{org_id}").text
    sign_out(client)
    assert _role(client, org_id, requester["id"]) is None
    (told,) = [
        m for m in emails_to(client, requester["email"]) if m["template"] == "join_request_answered"
    ]
    assert "refusée" in told["subject"]
    assert _actions(client, org_id)[-1] == "organisations.join_refused"
    # Refused, the person may ask again (a new request, the old one stays refused).
    sign_in(client, requester)
    post_form(client, "/structures/rejoindre", {"siret": _org(client, org_id)["siret"]})
    sign_out(client)
    assert _request_id(client, org_id, requester["id"]) != request_id


def test_an_owner_of_another_organisation_cannot_answer(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    requester = make_user(client)
    sign_in(client, requester)
    post_form(client, "/structures/rejoindre", {"siret": _org(client, org_id)["siret"]})
    sign_out(client)
    request_id = _request_id(client, org_id, requester["id"])
    other = make_user(client)
    other_org = make_organisation(client, other)
    sign_in(client, other)
    # Its own organisation in the path, the request of another: not found there.
    post_form(client, f"/structures/{other_org}/demandes/{request_id}", {"decision": "accept"})
    response = post_form(
        client, f"/structures/{org_id}/demandes/{request_id}", {"decision": "accept"}
    )
    assert response.status_code == 404
    sign_out(client)
    assert _role(client, org_id, requester["id"]) is None
    assert _role(client, other_org, requester["id"]) is None


def test_asking_is_limited_and_an_unknown_siret_is_not_found(client):
    client.app.state.rate_limiter._counts.clear()
    requester = make_user(client)
    sign_in(client, requester)
    assert post_form(client, "/structures/rejoindre", {"siret": "1234"}).status_code == 404
    assert post_form(client, "/structures/rejoindre", {"siret": VALID["siret"]}).status_code == 404
    owner = make_user(client)
    sirets = [_org(client, make_organisation(client, owner))["siret"] for _ in range(5)]
    statuses = [
        post_form(client, "/structures/rejoindre", {"siret": s}).status_code for s in sirets
    ]
    # The unknown SIRET and four requests fill the five of the day; the fifth waits.
    assert statuses == [303, 303, 303, 303, 429]
    sign_out(client)
    client.app.state.rate_limiter._counts.clear()
