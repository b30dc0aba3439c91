"""Organisations: identifiers checked with clear messages, members, invitations,
the last owner, IBAN masking and who may see what."""

from app.organisations.tables import Membership
from tests.factories import (
    emails_to,
    link_in,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
)

VALID = {
    "name": "Le PoleS test",
    "legal_form": "association",
    "siret": "732 829 320 00074",
    "rna": "W751234567",
    "street": "11 rue Pierre Curie",
    "postcode": "92390",
    "city": "Villeneuve-la-Garenne",
    "legal_rep_name": "Claude Test",
    "legal_rep_title": "Présidente",
    "contact_email": "contact@poles.test",
    "phone": "01 23 45 67 89",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "bic": "AGRIFRPP",
}


def test_invalid_identifiers_are_refused_with_a_clear_message_and_the_form_kept(client):
    user = make_user(client)
    sign_in(client, user)
    cases = [
        ({"siret": "1234"}, "Le numéro SIRET doit comporter 14 chiffres."),
        ({"siret": "73282932000075"}, "Clé de contrôle invalide : vérifiez le numéro SIRET"),
        ({"rna": "X751234567"}, "Le numéro RNA commence par W."),
        ({"rna": ""}, "Indiquez le numéro RNA de l’association"),
        ({"iban": "FR7630006000011234567890188"}, "Clé de contrôle invalide : vérifiez l’IBAN"),
        ({"iban": "FR76300060000112345678901"}, "L’IBAN n’a pas la longueur"),
        ({"bic": "AGRI"}, "Le BIC comporte 8 ou 11 caractères."),
        ({"postcode": "9239"}, "code postal français de 5 chiffres"),
        ({"postcode": "²³¹⁴⁵"}, "code postal français de 5 chiffres"),
        ({"siret": "７３２８２９３２００００７４"}, "Le numéro SIRET"),
        ({"name": ""}, "Indiquez le nom de la structure."),
    ]
    for change, message in cases:
        response = post_form(client, "/structures/nouvelle", {**VALID, **change})
        assert response.status_code == 422, change
        assert message in response.text, (change, message)
        assert 'value="Villeneuve-la-Garenne"' in response.text  # what was typed is kept
    sign_out(client)


def test_create_then_the_creator_is_owner_and_sees_the_full_iban(client):
    user = make_user(client)
    sign_in(client, user)
    response = post_form(client, "/structures/nouvelle", VALID)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Le PoleS test" in page.text
    assert "732 829 320 00074" in page.text
    assert "FR76 3000 6000 0112 3456 7890 189" in page.text
    again = post_form(client, "/structures/nouvelle", {**VALID, "name": "Doublon"})
    assert again.status_code == 422 and "déjà enregistrée" in again.text
    sign_out(client)


def test_la_poste_siret_exception(client):
    user = make_user(client)
    sign_in(client, user)
    response = post_form(
        client,
        "/structures/nouvelle",
        {**VALID, "siret": "35600000049837", "legal_form": "public_body", "rna": ""},
    )
    assert response.status_code == 303, response.text
    sign_out(client)


def test_iban_is_masked_for_staff(client):
    # Finance sees it in full on a grant's page, on request, audited (test_bank_details).
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    for roles, full in ((["officer"], False), (["finance"], False), (["admin"], False)):
        staff = make_user(client, roles=roles)
        sign_in(client, staff)
        page = client.get(f"/structures/{org_id}").text
        assert ("FR76 3000 6000 0112 3456 7890 189" in page) is full, roles
        assert "FR76 •••• •••• •••• •••• •••0 189" in page or full
        sign_out(client)


def test_other_applicants_and_reviewers_get_404(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    for stranger in (make_user(client), make_user(client, roles=["reviewer"])):
        sign_in(client, stranger)
        assert client.get(f"/structures/{org_id}").status_code == 404
        assert client.get(f"/structures/{org_id}/modifier").status_code == 404
        assert (
            post_form(
                client,
                f"/structures/{org_id}/membres/inviter",
                {"email": "x@y.fr", "role": "member"},
            ).status_code
            == 404
        )
        assert post_form(client, f"/structures/{org_id}/choisir").status_code == 404
        sign_out(client)


def test_invite_a_member_who_joins(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    member = make_user(client)
    sign_in(client, owner)
    response = post_form(
        client,
        f"/structures/{org_id}/membres/inviter",
        {"email": member["email"], "role": "member"},
    )
    assert response.status_code == 303
    sign_out(client)
    (message,) = [
        m for m in emails_to(client, member["email"]) if m["template"] == "member_invitation"
    ]
    path = link_in(message)
    landing = client.get(path)
    assert landing.status_code == 200 and "Se connecter" in landing.text
    # Someone else cannot use it.
    intruder = make_user(client)
    sign_in(client, intruder)
    token = path.split("jeton=")[1]
    refused = post_form(client, "/structures/invitation", {"token": token})
    assert refused.status_code == 400 and "autre adresse" in refused.text
    sign_out(client)
    sign_in(client, member)
    joined = post_form(client, "/structures/invitation", {"token": token})
    assert joined.status_code == 303
    assert client.get(f"/structures/{org_id}").status_code == 200
    assert post_form(client, "/structures/invitation", {"token": token}).status_code == 400  # used
    sign_out(client)


def test_an_organisation_always_keeps_an_owner(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    membership = run(
        client,
        lambda: (
            Membership.select(Membership.id)
            .where((Membership.organisation == org_id) & (Membership.user == owner["id"]))
            .first()
            .run()
        ),
    )
    sign_in(client, owner)
    leave = post_form(
        client, f"/structures/{org_id}/membres/{membership['id']}/retirer", follow_redirects=True
    )
    assert "au moins un propriétaire" in leave.text
    demote = post_form(
        client,
        f"/structures/{org_id}/membres/{membership['id']}/role",
        {"role": "member"},
        follow_redirects=True,
    )
    assert "au moins un propriétaire" in demote.text
    assert (
        run(client, lambda: Membership.count().where(Membership.organisation == org_id).run()) == 1
    )
    sign_out(client)


def test_a_member_cannot_manage_members(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    member = make_user(client)
    run(
        client,
        lambda: Membership.insert(
            Membership(organisation=org_id, user=member["id"], role="member")
        ).run(),
    )
    owner_membership = run(
        client,
        lambda: (
            Membership.select(Membership.id).where(Membership.user == owner["id"]).first().run()
        ),
    )
    sign_in(client, member)
    response = post_form(
        client,
        f"/structures/{org_id}/membres/{owner_membership['id']}/retirer",
        follow_redirects=True,
    )
    assert "Seuls les propriétaires" in response.text
    assert client.get(f"/structures/{org_id}/modifier").status_code == 404
    sign_out(client)


def test_choosing_an_organisation_rotates_the_session(client):
    owner = make_user(client)
    org_a = make_organisation(client, owner)
    make_organisation(client, owner)
    sign_in(client, owner)
    before = client.cookies.get("guichet_session")
    assert post_form(client, f"/structures/{org_a}/choisir").status_code == 303
    assert client.cookies.get("guichet_session") != before
    assert "Vous agissez pour cette structure." in client.get("/structures").text
    sign_out(client)


def test_changing_the_iban_needs_a_recent_password_and_tells_every_owner(client, monkeypatch):
    import time

    from app.accounts import sessions

    owner = make_user(client)
    org_id = make_organisation(client, owner)
    co_owner = make_user(client)
    run(
        client,
        lambda: Membership.insert(
            Membership(organisation=org_id, user=co_owner["id"], role="owner")
        ).run(),
    )
    sign_in(client, owner)
    page = client.get(f"/structures/{org_id}/modifier").text
    import re

    values = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page))
    values.update(
        {
            "legal_form": "association",
            "description": "",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
        }
    )
    later = time.time() + 16 * 60
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    stale = post_form(client, f"/structures/{org_id}/modifier", values)
    assert stale.status_code == 303 and stale.headers["location"].startswith("/connexion/confirmer")
    monkeypatch.undo()
    done = post_form(client, f"/structures/{org_id}/modifier", values)
    assert done.status_code == 303, done.text
    for person in (owner, co_owner):
        (message,) = [
            m for m in emails_to(client, person["email"]) if m["template"] == "iban_changed"
        ]
        assert "DE89" in message["body_text"] and "532013000" not in message["body_text"]
    sign_out(client)


def test_invitations_are_limited_per_person(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    sign_in(client, owner)
    statuses = [
        post_form(
            client,
            f"/structures/{org_id}/membres/inviter",
            {"email": f"guest{i}@asso.test", "role": "member"},
        ).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [303] * 20 and statuses[20] == 429
    sign_out(client)
    client.app.state.rate_limiter._counts.clear()


def test_a_sole_owner_is_not_offered_to_leave_or_step_down(client):
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    sign_in(client, owner)
    page = client.get(f"/structures/{org_id}").text
    members = page.split('id="members-title"')[1].split("</section>")[0]
    assert "Rendre membre" not in members and "Quitter" not in members
    assert "Vous êtes le seul ou la seule propriétaire" in members
    assert "table--stack" in members and 'data-label="Nom"' in members  # cards on a phone
    # With a second owner, both may step down or leave.
    other = make_user(client)
    run(
        client,
        lambda: Membership.insert(
            Membership(organisation=org_id, user=other["id"], role="owner")
        ).run(),
    )
    members = client.get(f"/structures/{org_id}").text.split('id="members-title"')[1]
    assert "Rendre membre" in members and "Quitter" in members
    sign_out(client)


def test_acting_for_an_organisation_is_explained(client):
    owner = make_user(client)
    make_organisation(client, owner)
    make_organisation(client, owner)
    sign_in(client, owner)
    page = client.get("/structures").text
    assert "Proposée en premier quand vous candidatez à un appel." in page
    assert "Celle pour laquelle vous agissez est proposée" in page
    sign_out(client)


def test_an_invalid_iban_says_why(client):
    user = make_user(client)
    sign_in(client, user)
    cases = [
        ("", "Saisissez l’IBAN (il figure sur votre RIB)."),
        ("FR76 3000 6000 0112 3456 7890", "un IBAN FR compte 27 caractères, celui-ci en a 24"),
        ("XX76 3000 6000 0112 3456 7890 189", "« XX » n’est pas le code pays d’un IBAN"),
        ("FR76 3000 6000 0112 3456 7890 188", "Clé de contrôle invalide"),
    ]
    for iban, message in cases:
        response = post_form(client, "/structures/nouvelle", {**VALID, "iban": iban})
        assert response.status_code == 422, iban
        assert message in response.text, (iban, message)
        assert "Ce champ est obligatoire" not in response.text
    sign_out(client)
