"""Sign-up with e-mail confirmation, password reset, staff invitation, password rules."""

from datetime import UTC, datetime, timedelta

import pytest

from app.accounts.tables import AccountToken, User
from tests.factories import (
    emails_to,
    link_in,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
)


def sign_up(client, email, password="a calm river at dawn", name="Nouvelle Personne"):
    return post_form(
        client,
        "/inscription",
        {"full_name": name, "email": email, "password": password, "accept_terms": "yes"},
    )


def test_sign_up_confirm_then_sign_in(client):
    email = "nouvelle@asso.test"
    response = sign_up(client, email)
    assert response.status_code == 200
    assert "Vérifiez votre messagerie" in text_of(response.text)

    # Not confirmed yet: sign-in is refused with a way to get a new link.
    refused = post_form(client, "/connexion", {"email": email, "password": "a calm river at dawn"})
    assert refused.status_code == 422
    assert "Confirmez d’abord votre adresse" in refused.text
    assert "/compte/confirmer/renvoyer" in refused.text

    (message,) = emails_to(client, email)
    assert message["template"] == "verify_email"
    path = link_in(message)
    assert path.startswith("/compte/confirmer?jeton=")
    page = client.get(path)  # shows a button; a mail scanner's GET uses nothing up
    assert page.status_code == 200
    token = path.split("jeton=")[1]
    confirmed = post_form(client, "/compte/confirmer", {"token": token})
    assert confirmed.status_code == 303
    replay = post_form(client, "/compte/confirmer", {"token": token})
    assert replay.status_code == 400 and "déjà été utilisé" in replay.text

    sign_in(client, {"email": email, "password": "a calm river at dawn"})
    assert "Nouvelle Personne" in client.get("/").text
    sign_out(client)


def test_tokens_are_stored_hashed(client):
    email = "hash@asso.test"
    sign_up(client, email)
    token = link_in(emails_to(client, email)[0]).split("jeton=")[1]
    stored = run(client, lambda: AccountToken.select(AccountToken.token_hash).run())
    assert all(token not in row["token_hash"] for row in stored)


def test_sign_up_with_a_known_address_tells_nothing_and_warns_the_owner(client):
    user = make_user(client)
    response = sign_up(client, user["email"], password="another long passphrase")
    assert response.status_code == 200
    assert "Vérifiez votre messagerie" in text_of(response.text)
    (warning,) = emails_to(client, user["email"])
    assert warning["template"] == "account_exists"
    assert run(client, lambda: User.count().where(User.email == user["email"]).run()) == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", "au moins 12 caractères"),
        ("x" * 129, "au plus 128 caractères"),
        ("azertyuiop123", "trop courant"),
        ("qwerty123456", "trop courant"),
    ],
)
def test_password_rules_are_length_and_a_common_list(client, password, message):
    response = sign_up(client, "rules@asso.test", password=password)
    assert response.status_code == 422
    assert message in response.text
    assert 'value="rules@asso.test"' in response.text  # what was typed is kept
    assert password not in response.text


def test_no_composition_rules(client):
    assert sign_up(client, "lower@asso.test", password="only lower case words").status_code == 200


def test_sign_up_form_errors_name_each_field(client):
    response = post_form(client, "/inscription", {"email": "not-an-email"})
    assert response.status_code == 422
    for field in ("full_name", "email", "password", "accept_terms"):
        assert f'href="#field-{field}"' in response.text


def test_password_hash_is_argon2id_with_owasp_parameters_and_upgraded_at_sign_in(client):
    from argon2 import PasswordHasher

    user = make_user(client)
    stored = run(
        client, lambda: User.select(User.password_hash).where(User.id == user["id"]).first().run()
    )
    assert stored["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(user["password"])
    run(client, lambda: User.update({User.password_hash: weak}).where(User.id == user["id"]).run())
    sign_in(client, user)
    sign_out(client)
    upgraded = run(
        client, lambda: User.select(User.password_hash).where(User.id == user["id"]).first().run()
    )
    assert upgraded["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_password_reset_is_single_use_and_ends_sessions(client):
    user = make_user(client)
    sign_in(client, user)
    old_session = client.cookies.get("guichet_session")
    client.cookies.clear()

    response = post_form(client, "/mot-de-passe-oublie", {"email": user["email"]})
    assert response.status_code == 200
    unknown = post_form(client, "/mot-de-passe-oublie", {"email": "nobody@asso.test"})
    assert text_of(unknown.text) == text_of(response.text).replace(
        user["email"], "nobody@asso.test"
    )

    (message,) = [m for m in emails_to(client, user["email"]) if m["template"] == "reset_password"]
    path = link_in(message)
    token = path.split("jeton=")[1]
    assert client.get(path).status_code == 200
    mismatch = post_form(
        client,
        "/mot-de-passe/nouveau",
        {"token": token, "password": "brand new passphrase", "password_again": "other"},
    )
    assert mismatch.status_code == 422 and "différents" in mismatch.text
    done = post_form(
        client,
        "/mot-de-passe/nouveau",
        {
            "token": token,
            "password": "brand new passphrase",
            "password_again": "brand new passphrase",
        },
    )
    assert done.status_code == 303
    replay = post_form(
        client,
        "/mot-de-passe/nouveau",
        {
            "token": token,
            "password": "yet another passphrase",
            "password_again": "yet another passphrase",
        },
    )
    assert replay.status_code == 400

    from tests.factories import page_with_session

    assert user["full_name"] not in page_with_session(client, old_session)
    sign_in(client, {**user, "password": "brand new passphrase"})
    sign_out(client)


def test_expired_and_tampered_reset_links_change_nothing(client):
    user = make_user(client)
    post_form(client, "/mot-de-passe-oublie", {"email": user["email"]})
    token = link_in(emails_to(client, user["email"])[-1]).split("jeton=")[1]
    run(
        client,
        lambda: (
            AccountToken.update({AccountToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)})
            .where(AccountToken.user == user["id"])
            .run()
        ),
    )
    expired = client.get(f"/mot-de-passe/nouveau?jeton={token}")
    assert expired.status_code == 400 and "expiré" in expired.text
    tampered = post_form(
        client,
        "/mot-de-passe/nouveau",
        {"token": token[:-2] + "xx", "password": "p" * 20, "password_again": "p" * 20},
    )
    assert tampered.status_code == 400 and "pas valide" in tampered.text
    sign_in(client, user)  # the old password still works
    sign_out(client)


def test_staff_invitation_sets_a_password_and_is_valid_seven_days(client):
    admin = make_user(client, roles=["admin"])
    sign_in(client, admin)
    response = post_form(
        client,
        "/admin/utilisateurs/inviter",
        {
            "full_name": "Évaluatrice Test",
            "email": "eval@region.test",
            "language": "fr",
            "roles": "reviewer",
        },
    )
    assert response.status_code == 303, response.text
    sign_out(client)
    (message,) = emails_to(client, "eval@region.test")
    assert message["template"] == "staff_invitation"
    token = link_in(message).split("jeton=")[1]
    expires = run(
        client,
        lambda: (
            AccountToken.select(AccountToken.expires_at, AccountToken.created_at)
            .where(AccountToken.purpose == "staff_invitation")
            .first()
            .run()
        ),
    )
    lifetime = expires["expires_at"] - expires["created_at"]
    assert abs(lifetime - timedelta(days=7)) < timedelta(seconds=5)
    done = post_form(
        client,
        "/invitation",
        {
            "token": token,
            "password": "reviewer passphrase ok",
            "password_again": "reviewer passphrase ok",
        },
    )
    assert done.status_code == 303
    sign_in(client, {"email": "eval@region.test", "password": "reviewer passphrase ok"})
    assert "Évaluatrice Test" in client.get("/").text
    sign_out(client)


def test_sign_up_keeps_the_consent_ticked_and_links_the_privacy_notice(client):
    refused = sign_up(client, "consentement@asso.test", password="court")
    assert refused.status_code == 422
    box = refused.text.split('name="accept_terms"')[1].split(">")[0]
    assert "checked" in box  # still ticked after the error
    assert 'href="/donnees-personnelles"' in refused.text
    notice = client.get("/donnees-personnelles")  # public
    assert notice.status_code == 200 and "Vos droits" in text_of(notice.text)
