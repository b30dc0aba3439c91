"""Sessions on disk: none for visitors who are not (half-)signed in, whatever they post;
none kept past its deadline (12 h after sign-in, 5 min for a pending second factor)."""

import time
from urllib.parse import parse_qs, urlsplit

import pyotp

from app.accounts import sessions
from app.accounts.tables import TokenPurpose
from app.core.security import SESSION_ABSOLUTE_LIFETIME_S, sweep_expired_sessions
from tests.factories import (
    csrf_token,
    emails_to,
    link_in,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
)


def session_files(client) -> set[str]:
    directory = client.app.state.settings.sessions_dir
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


def sets_session_cookie(response) -> bool:
    return any(h.startswith("guichet_session=") for h in response.headers.get_list("set-cookie"))


def store(client):
    return client.app.stores.get("sessions")


def test_an_anonymous_post_to_the_second_factor_stores_no_session(client):
    client.cookies.clear()
    token = csrf_token(client)
    before = session_files(client)
    for _ in range(3):
        response = client.post(
            "/connexion/verification",
            data={"code": "123456", "next": "/compte", "_csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert not sets_session_cookie(response)
    assert session_files(client) == before
    assert "guichet_session" not in client.cookies
    # The sign-in page says why, from its address: no flash, so no session.
    location = response.headers["location"]
    assert parse_qs(urlsplit(location).query) == {"info": ["delai"], "suivant": ["/compte"]}
    page = client.get(location)
    assert "Votre connexion a pris trop de temps" in text_of(page.text)
    assert 'name="next" value="/compte"' in page.text
    assert not sets_session_cookie(page) and session_files(client) == before


def test_an_outlived_second_factor_is_deleted_not_kept(client, monkeypatch):
    user = make_user(client, roles=["reviewer"])
    sign_in(client, user)
    page = client.get("/compte/securite")
    secret = page.text.split('<code class="secret">')[1].split("<")[0].replace(" ", "")
    enabled = post_form(client, "/compte/securite/activer", {"code": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200
    sign_out(client)
    client.cookies.clear()
    before = session_files(client)
    post_form(client, "/connexion", {"email": user["email"], "password": user["password"]})
    pending = client.cookies.get("guichet_session")
    assert pending and len(session_files(client) - before) == 1
    # Kept on disk as long as the second factor may be typed, no longer.
    assert run(client, store(client).expires_in, pending) <= sessions.SECOND_FACTOR_WINDOW_S
    later = time.time() + sessions.SECOND_FACTOR_WINDOW_S + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    response = post_form(client, "/connexion/verification", {"code": "123456"})
    monkeypatch.undo()
    assert response.headers["location"] == "/connexion?info=delai"  # no page asked: the landing
    assert session_files(client) == before
    assert client.cookies.get("guichet_session") in (None, "null")  # deleted
    client.cookies.clear()


def test_pages_that_end_a_flow_before_sign_in_store_no_session(client):
    """Confirming an address (the sign-up's next page carried by the link), choosing a
    new password, accepting a staff invitation: the sign-in page says it, no session."""
    client.cookies.clear()
    before = session_files(client)
    email = "sans-session@asso.test"
    signed_up = post_form(
        client,
        "/inscription",
        {
            "full_name": "Sans Session",
            "email": email,
            "password": "a calm river at dawn",
            "accept_terms": "yes",
            "next": "/structures/invitation?jeton=abc",
        },
    )
    assert signed_up.status_code == 200 and not sets_session_cookie(signed_up)
    path = link_in(emails_to(client, email)[0])
    assert parse_qs(urlsplit(path).query)["suivant"] == ["/structures/invitation?jeton=abc"]
    page = client.get(path)
    token = parse_qs(urlsplit(path).query)["jeton"][0]
    assert 'name="next" value="/structures/invitation?jeton=abc"' in page.text
    confirmed = post_form(
        client, "/compte/confirmer", {"token": token, "next": "/structures/invitation?jeton=abc"}
    )
    assert confirmed.status_code == 303 and not sets_session_cookie(confirmed)
    assert parse_qs(urlsplit(confirmed.headers["location"]).query) == {
        "info": ["adresse-confirmee"],
        "suivant": ["/structures/invitation?jeton=abc"],
    }
    assert (
        "Votre adresse électronique est confirmée" in client.get(confirmed.headers["location"]).text
    )

    from app.accounts.credentials import issue_token
    from app.core.db import write_transaction

    async def token_for(user_id, purpose):
        async with write_transaction():
            return await issue_token(user_id, purpose)

    person = make_user(client)
    raw = run(client, token_for, person["id"], TokenPurpose.reset_password)
    reset = post_form(
        client,
        "/mot-de-passe/nouveau",
        {
            "token": raw,
            "password": "a brand new passphrase",
            "password_again": "a brand new passphrase",
        },
    )
    assert reset.status_code == 303 and not sets_session_cookie(reset)
    assert reset.headers["location"] == "/connexion?info=mot-de-passe-change"
    assert "Votre mot de passe a été changé" in client.get(reset.headers["location"]).text

    raw = run(
        client,
        token_for,
        make_user(client, roles=["reviewer"])["id"],
        TokenPurpose.staff_invitation,
    )
    welcome = post_form(
        client,
        "/invitation",
        {
            "token": raw,
            "password": "a brand new passphrase",
            "password_again": "a brand new passphrase",
        },
    )
    assert welcome.status_code == 303 and not sets_session_cookie(welcome)
    assert "Bienvenue" in client.get(welcome.headers["location"]).text
    assert session_files(client) == before
    assert "guichet_session" not in client.cookies
    # Nothing but a notice we know is shown: the address cannot put words on the page.
    assert "Injected" not in client.get("/connexion?info=Injected").text


def test_a_session_is_stored_until_its_absolute_deadline_only(client, monkeypatch):
    user = make_user(client)
    start = time.time()
    sign_in(client, user)
    session_id = client.cookies.get("guichet_session")
    left = run(client, store(client).expires_in, session_id)
    assert SESSION_ABSOLUTE_LIFETIME_S - 10 <= left <= SESSION_ABSOLUTE_LIFETIME_S
    # Active every hour for 11 hours: written again each time, yet kept one hour more
    # only (not 12 after the last write).
    for hour in range(1, 12):
        monkeypatch.setattr(sessions.time, "time", lambda h=hour: start + h * 3600)
        page = client.get("/compte", follow_redirects=False)
        assert page.status_code == 200
    monkeypatch.undo()
    assert run(client, store(client).expires_in, session_id) <= 3600 + 10
    client.cookies.clear()


def test_the_sweep_deletes_sessions_past_their_deadline_and_keeps_the_others(client):
    first, second = make_user(client), make_user(client)
    sign_in(client, first)
    abandoned = client.cookies.get("guichet_session")
    client.cookies.clear()
    sign_in(client, second)
    alive = client.cookies.get("guichet_session")
    files = session_files(client)
    # The first one's deadline passes (as it would 12 hours later).
    data = run(client, store(client).get, abandoned)
    run(client, store(client).set, abandoned, data, expires_in=-1)
    assert session_files(client) == files  # Litestar's store alone leaves it there

    assert run(client, sweep_expired_sessions, store(client)) == 1
    assert len(session_files(client)) == len(files) - 1
    assert run(client, store(client).exists, abandoned) is False
    assert second["full_name"] in client.get("/").text
    assert run(client, store(client).exists, alive) is True
    sign_out(client)


def test_a_session_is_rewritten_only_when_it_changed_or_a_minute_passed(client, monkeypatch):
    """Each signed-in page used to write its session (the time of the last request):
    now the time is kept to the minute, so the file is written once a minute at most,
    and the idle timeout still counts from the last minute seen."""
    user = make_user(client, roles=["officer"])
    before = session_files(client)
    sign_in(client, user)
    session_id = client.cookies.get("guichet_session")
    (name,) = session_files(client) - before
    path = client.app.state.settings.sessions_dir / name
    client.get("/")  # the page after sign-in takes its flash message out: a change
    written = path.stat().st_mtime_ns
    seen = run(client, store(client).get, session_id)
    for _ in range(3):
        response = client.get("/")
        assert user["full_name"] in response.text
        assert not sets_session_cookie(response)
    assert path.stat().st_mtime_ns == written
    assert run(client, store(client).get, session_id) == seen

    now = time.time()
    monkeypatch.setattr(sessions.time, "time", lambda: now + sessions.SEEN_AT_RESOLUTION_S)
    assert user["full_name"] in client.get("/").text
    assert run(client, store(client).get, session_id) != seen  # seen_at moved on
    # The idle timeout counts from that minute, not from sign-in: still signed in a
    # second before it ends (and seen then), out a second after the next one ends.
    later = now + sessions.SEEN_AT_RESOLUTION_S + sessions.IDLE_TIMEOUT_STAFF_S - 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    assert user["full_name"] in client.get("/").text
    monkeypatch.setattr(sessions.time, "time", lambda: later + sessions.IDLE_TIMEOUT_STAFF_S + 1)
    assert user["full_name"] not in client.get("/").text
    monkeypatch.undo()
    client.cookies.clear()
