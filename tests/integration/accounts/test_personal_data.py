"""GDPR: download one's data, erasure (deleted or pseudonymised)."""

import json

from app.accounts.tables import User
from app.core import audit
from tests.factories import emails_to, make_organisation, make_user, post_form, run, sign_in


def test_export_holds_the_account_and_activity_but_no_secret(client):
    user = make_user(client)
    sign_in(client, user)
    response = client.get("/compte/donnees/export.json")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    data = json.loads(response.text)
    assert data["account"]["email"] == user["email"]
    assert any(a["action"] == "accounts.signed_in" for a in data["activity"])
    assert "argon2" not in response.text and user["password"] not in response.text
    client.cookies.clear()


def test_erasure_without_records_deletes_the_account(client):
    user = make_user(client)
    post_form(client, "/connexion", {"email": user["email"], "password": "a wrong password"})
    post_form(client, "/mot-de-passe-oublie", {"email": user["email"]})
    sign_in(client, user)
    refused = post_form(client, "/compte/supprimer", {"password": user["password"]})
    assert refused.status_code == 422  # the box is not ticked
    done = post_form(client, "/compte/supprimer", {"password": user["password"], "confirm": "yes"})
    assert done.status_code == 303
    assert run(client, lambda: User.exists().where(User.id == user["id"]).run()) is False
    assert run(client, audit.verify_chain).ok
    # Nothing left that says who they were: no IP on entries about them, no address.
    about, _ = run(client, audit.search, object_type="user", object_id=user["id"], limit=100)
    mine, _ = run(client, audit.search, actor_id=user["id"], limit=100)
    assert about and all(e["ip"] is None and user["email"] not in str(e) for e in about + mine)
    assert emails_to(client, user["email"]) == []
    client.cookies.clear()


def test_the_only_owner_of_an_organisation_cannot_erase_their_account(client):
    owner = make_user(client)
    make_organisation(client, owner)
    sign_in(client, owner)
    refused = post_form(
        client, "/compte/supprimer", {"password": owner["password"], "confirm": "yes"}
    )
    assert refused.status_code == 422 and "seul propriétaire" in refused.text
    client.cookies.clear()


def test_erasure_of_a_member_pseudonymises_and_keeps_the_records(client):
    from app.organisations.tables import Membership

    owner, user = make_user(client), make_user(client)
    org_id = make_organisation(client, owner)
    run(
        client,
        lambda: Membership.insert(
            Membership(organisation=org_id, user=user["id"], role="member")
        ).run(),
    )
    sign_in(client, user)
    done = post_form(client, "/compte/supprimer", {"password": user["password"], "confirm": "yes"})
    assert done.status_code == 303
    row = run(
        client,
        lambda: (
            User.select(User.email, User.full_name, User.is_active, User.password_hash)
            .where(User.id == user["id"])
            .first()
            .run()
        ),
    )
    assert row["email"].startswith(f"compte-supprime-{user['id']}-")
    assert row["email"].endswith("@guichet.invalid")
    assert row["is_active"] is False and row["password_hash"] is None
    entries, _ = run(client, audit.search, actor_id=user["id"], limit=1000)
    assert entries and all(user["email"] not in str(e) for e in entries)
    assert run(client, audit.verify_chain).ok
    # The organisation and its record of who created it stay.
    from app.organisations.tables import Organisation

    assert run(client, lambda: Organisation.exists().where(Organisation.id == org_id).run())
    assert (
        post_form(
            client, "/connexion", {"email": user["email"], "password": user["password"]}
        ).status_code
        == 422
    )
    client.cookies.clear()
