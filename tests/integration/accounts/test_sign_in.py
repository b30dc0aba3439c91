"""Sign-in, sign-out and the server-side session (fixation, timeouts)."""

import time

import pytest

from app.accounts import sessions
from tests.factories import csrf_token, make_user, page_with_session, set_cookie, sign_in, sign_out


def test_wrong_password_is_refused_and_the_email_is_kept(client):
    user = make_user(client)
    response = client.post(
        "/connexion",
        data={
            "email": user["email"],
            "password": "not the password",
            "_csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert "Adresse électronique ou mot de passe incorrect." in response.text
    assert f'value="{user["email"]}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert "not the password" not in response.text


def test_empty_form_names_each_missing_field(client):
    response = client.post("/connexion", data={"_csrf_token": csrf_token(client)})
    assert response.status_code == 422
    assert 'href="#field-email"' in response.text
    assert 'href="#field-password"' in response.text


def test_disabled_account_cannot_sign_in(client):
    from app.accounts.tables import User
    from tests.factories import run

    user = make_user(client)
    run(client, lambda: User.update({User.is_active: False}).where(User.id == user["id"]).run())
    response = client.post(
        "/connexion",
        data={
            "email": user["email"],
            "password": user["password"],
            "_csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422


def test_sign_in_redirects_only_to_a_local_next_page(client):
    user = make_user(client)
    response = client.post(
        "/connexion",
        data={
            "email": user["email"],
            "password": user["password"],
            "next": "https://evil.example/",
            "_csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/mon-espace"  # their landing, never elsewhere
    sign_out(client)


def test_a_planted_session_id_never_becomes_an_authenticated_session(client):
    user = make_user(client)
    planted = "a" * 64
    set_cookie(client, "guichet_session", planted)
    sign_in(client, user)
    new_id = client.cookies.get("guichet_session")
    assert new_id and new_id != planted
    # The attacker, holding only the planted id, is not signed in.
    assert user["full_name"] not in page_with_session(client, planted)
    assert user["full_name"] in client.get("/").text
    sign_out(client)


def test_sign_in_rotates_an_existing_session_id_and_drops_the_old_one(client):
    user = make_user(client)
    sign_in(client, user)
    first = client.cookies.get("guichet_session")
    sign_in(client, user)
    second = client.cookies.get("guichet_session")
    assert first != second
    assert user["full_name"] not in page_with_session(client, first)
    sign_out(client)


def test_sign_out_ends_the_server_side_session(client):
    user = make_user(client)
    sign_in(client, user)
    session_id = client.cookies.get("guichet_session")
    sign_out(client)
    assert user["full_name"] not in page_with_session(client, session_id)


def test_anonymous_visitors_get_no_session(client):
    client.cookies.clear()
    client.get("/")
    client.get("/financeurs")
    assert "guichet_session" not in client.cookies


@pytest.mark.parametrize(
    ("roles", "idle_s", "signed_in"),
    [
        ([], sessions.IDLE_TIMEOUT_APPLICANT_S - 60, True),
        ([], sessions.IDLE_TIMEOUT_APPLICANT_S + 60, False),
        (["officer"], sessions.IDLE_TIMEOUT_STAFF_S - 60, True),
        (["officer"], sessions.IDLE_TIMEOUT_STAFF_S + 60, False),
    ],
)
def test_idle_timeout_depends_on_the_role(client, monkeypatch, roles, idle_s, signed_in):
    user = make_user(client, roles=roles)
    sign_in(client, user)
    now = time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + idle_s)
    assert (user["full_name"] in client.get("/").text) is signed_in
    monkeypatch.undo()
    sign_out(client)
    client.cookies.clear()


def test_absolute_lifetime_ends_an_active_session(client, monkeypatch):
    user = make_user(client)
    start = time.time()  # before signing in: the session counts from a later second
    sign_in(client, user)
    # Active every hour: the idle timeout never fires, the absolute one does.
    for hour in range(1, 14):
        monkeypatch.setattr(sessions.time, "time", lambda h=hour: start + h * 3600)
        page = client.get("/").text
        assert (user["full_name"] in page) is (hour <= 12), hour
    monkeypatch.undo()
    client.cookies.clear()


def test_sign_out_requires_being_signed_in(client):
    client.cookies.clear()
    response = client.post(
        "/deconnexion", data={"_csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert response.status_code == 401
