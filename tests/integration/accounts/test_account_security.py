"""Brute-force limits, two-factor, sessions ended on changes, re-authentication, audit."""

import time

import pyotp
import pytest

from app.accounts import sessions
from app.core import audit
from tests.factories import (
    csrf_token,
    make_user,
    page_with_session,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
)


def attempt(client, email, password="wrong password!!"):
    return post_form(client, "/connexion", {"email": email, "password": password})


def test_failed_sign_ins_lock_the_account_with_429_and_retry_after(client):
    user = make_user(client)
    for _ in range(5):
        assert attempt(client, user["email"]).status_code == 422
    locked = attempt(client, user["email"], user["password"])  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Trop de tentatives" in locked.text
    minutes = -(-int(locked.headers["retry-after"]) // 60)
    assert f"Vous pourrez réessayer dans {minutes} minute" in locked.text
    # Another account is not slowed down.
    other = make_user(client)
    sign_in(client, other)
    sign_out(client)
    entries, _ = run(client, audit.search, action="accounts.sign_in_failed", object_id=user["id"])
    assert len(entries) == 5


def test_sign_in_attempts_are_limited_per_ip(client):
    client.app.state.rate_limiter._counts.clear()
    statuses = [attempt(client, f"nobody{i}@asso.test").status_code for i in range(31)]
    assert statuses[:30] == [422] * 30
    assert statuses[30] == 429
    client.app.state.rate_limiter._counts.clear()


def test_colleagues_signing_in_from_one_address_are_not_limited(client):
    """An office behind one address: 40 people sign in within the window."""
    client.app.state.rate_limiter._counts.clear()
    for _ in range(40):
        person = make_user(client)
        assert attempt(client, person["email"], person["password"]).status_code == 303
        client.cookies.clear()
    # Guesses from the same address still meet the limit.
    statuses = [attempt(client, f"nobody{i}@asso.test").status_code for i in range(31)]
    assert statuses[:30] == [422] * 30 and statuses[30] == 429
    client.app.state.rate_limiter._counts.clear()


def test_password_reset_requests_are_limited_per_account(client):
    user = make_user(client)
    statuses = [
        post_form(client, "/mot-de-passe-oublie", {"email": user["email"]}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    client.app.state.rate_limiter._counts.clear()


def enable_totp(client, user) -> tuple[str, list[str]]:
    sign_in(client, user)
    page = client.get("/compte/securite")
    assert page.status_code == 200 and "data:image/svg+xml" in page.text
    secret = _secret_from_page(page.text)
    done = post_form(client, "/compte/securite/activer", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = [c for c in text_of(done.text).split() if len(c) == 13 and c[6] == "-"]
    assert len(codes) == 10
    sign_out(client)
    return secret, codes


def next_code(secret: str) -> str:
    """The code of the next 30-second step (accepted for clock drift, not yet used)."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _secret_from_page(html: str) -> str:
    import re

    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")


def test_two_factor_sign_in_with_a_code_or_a_single_use_recovery_code(client):
    user = make_user(client, roles=["finance"])
    secret, codes = enable_totp(client, user)

    step = attempt(client, user["email"], user["password"])
    assert step.status_code == 303 and step.headers["location"].startswith(
        "/connexion/verification"
    )
    assert user["full_name"] not in client.get("/").text  # not signed in yet
    wrong = post_form(client, "/connexion/verification", {"code": "000000"})
    assert wrong.status_code == 422
    # The code used to turn it on cannot be used again: the next one (clock drift) can.
    reused = post_form(client, "/connexion/verification", {"code": pyotp.TOTP(secret).now()})
    assert reused.status_code == 422
    ok = post_form(client, "/connexion/verification", {"code": next_code(secret)})
    assert ok.status_code == 303
    assert user["full_name"] in client.get("/").text
    sign_out(client)

    attempt(client, user["email"], user["password"])
    assert post_form(client, "/connexion/verification", {"code": codes[0]}).status_code == 303
    sign_out(client)
    attempt(client, user["email"], user["password"])
    assert post_form(client, "/connexion/verification", {"code": codes[0]}).status_code == 422
    client.cookies.clear()


def test_mandatory_two_factor_sends_finance_staff_to_enrolment(client):
    admin = make_user(client, roles=["admin"])
    finance = make_user(client, roles=["finance"])
    reviewer = make_user(client, roles=["reviewer"])
    sign_in(client, admin)
    assert post_form(client, "/admin/reglages", {"mandatory_totp": "yes"}).status_code == 303
    assert (
        client.get("/structures", follow_redirects=False).headers["location"] == "/compte/securite"
    )
    sign_out(client)
    sign_in(client, finance)
    response = client.get("/structures", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/compte/securite"
    assert client.get("/compte/securite").status_code == 200
    sign_out(client)
    sign_in(client, reviewer)
    assert client.get("/structures").status_code == 200
    sign_out(client)
    secret, _codes = enable_totp(client, admin)
    attempt(client, admin["email"], admin["password"])
    post_form(client, "/connexion/verification", {"code": next_code(secret)})
    assert post_form(client, "/admin/reglages", {}).status_code == 303  # back to optional
    sign_out(client)


def test_password_change_ends_the_other_sessions(client):
    user = make_user(client)
    sign_in(client, user)
    other_session = client.cookies.get("guichet_session")
    client.cookies.clear()
    sign_in(client, user)
    response = post_form(
        client,
        "/compte/mot-de-passe",
        {
            "current_password": user["password"],
            "new_password": "a new long passphrase",
            "new_password_again": "a new long passphrase",
        },
    )
    assert response.status_code == 303
    assert user["full_name"] in client.get("/").text  # this session goes on
    assert user["full_name"] not in page_with_session(client, other_session)
    sign_out(client)


def test_wrong_current_password_changes_nothing(client):
    user = make_user(client)
    sign_in(client, user)
    response = post_form(
        client,
        "/compte/mot-de-passe",
        {
            "current_password": "not it at all",
            "new_password": "a new long passphrase",
            "new_password_again": "a new long passphrase",
        },
    )
    assert response.status_code == 422 and "pas correct" in response.text
    sign_out(client)
    sign_in(client, user)
    sign_out(client)


def test_disabling_an_account_ends_its_sessions_at_once(client):
    admin = make_user(client, roles=["admin"])
    victim = make_user(client)
    sign_in(client, victim)
    victim_session = client.cookies.get("guichet_session")
    client.cookies.clear()
    sign_in(client, admin)
    assert (
        post_form(
            client, f"/admin/utilisateurs/{victim['id']}/statut", {"active": "no"}
        ).status_code
        == 303
    )
    assert victim["full_name"] not in page_with_session(client, victim_session)
    assert (
        post_form(
            client, f"/admin/utilisateurs/{victim['id']}/statut", {"active": "yes"}
        ).status_code
        == 303
    )
    sign_out(client)


def test_role_change_ends_the_persons_sessions_and_is_audited(client):
    admin = make_user(client, roles=["admin"])
    person = make_user(client)
    sign_in(client, person)
    person_session = client.cookies.get("guichet_session")
    client.cookies.clear()
    sign_in(client, admin)
    post_form(
        client, f"/admin/utilisateurs/{person['id']}/roles", {"role": "officer", "action": "grant"}
    )
    assert person["full_name"] not in page_with_session(client, person_session)
    entries, _ = run(client, audit.search, action="accounts.role_granted", object_id=person["id"])
    assert entries[0]["summary"] == {"role": "officer"} and entries[0]["actor_id"] == admin["id"]
    sign_out(client)


def test_the_last_admin_cannot_be_removed(client):
    admin = make_user(client, roles=["admin"])
    sign_in(client, admin)
    # Other admins from earlier tests exist; remove them first.
    from app.accounts.tables import RoleGrant

    run(
        client,
        lambda: (
            RoleGrant.delete()
            .where((RoleGrant.role == "admin") & (RoleGrant.user != admin["id"]))
            .run()
        ),
    )
    response = post_form(
        client,
        f"/admin/utilisateurs/{admin['id']}/roles",
        {"role": "admin", "action": "revoke"},
        follow_redirects=True,
    )
    assert "dernier administrateur" in response.text
    sign_out(client)


def test_sensitive_admin_actions_ask_for_the_password_after_15_minutes(client, monkeypatch):
    admin = make_user(client, roles=["admin"])
    sign_in(client, admin)
    later = time.time() + 16 * 60
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    response = post_form(
        client, "/admin/reglages", {}, headers={"referer": "http://testserver.local/admin/reglages"}
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(
        "/connexion/confirmer?suivant=%2Fadmin%2Freglages"
    )
    wrong = post_form(
        client, "/connexion/confirmer", {"password": "nope nope nope", "next": "/admin/reglages"}
    )
    assert wrong.status_code == 422
    ok = post_form(
        client, "/connexion/confirmer", {"password": admin["password"], "next": "/admin/reglages"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/reglages"
    assert post_form(client, "/admin/reglages", {}).status_code == 303
    monkeypatch.undo()
    client.cookies.clear()


def test_sign_in_and_out_are_audited_without_secrets(client):
    user = make_user(client)
    sign_in(client, user)
    sign_out(client)
    entries, _ = run(client, audit.search, object_type="user", object_id=user["id"])
    actions = [e["action"] for e in entries]
    assert "accounts.signed_in" in actions and "accounts.signed_out" in actions
    assert user["password"] not in str(entries)
    assert run(client, audit.verify_chain).ok
    assert csrf_token(client)


def test_failed_second_factors_lock_the_pending_sign_in(client):
    user = make_user(client, roles=["reviewer"])
    secret, _codes = enable_totp(client, user)
    attempt(client, user["email"], user["password"])
    for _ in range(5):
        assert post_form(client, "/connexion/verification", {"code": "000000"}).status_code == 422
    locked = post_form(client, "/connexion/verification", {"code": next_code(secret)})
    assert locked.status_code == 429
    client.cookies.clear()
    client.app.state.rate_limiter._counts.clear()


def test_turning_on_two_step_verification_asks_for_a_recent_password(client, monkeypatch):
    user = make_user(client)
    sign_in(client, user)
    client.get("/compte/securite")
    later = time.time() + 16 * 60
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    response = post_form(client, "/compte/securite/activer", {"code": "123456"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion/confirmer")
    monkeypatch.undo()
    client.cookies.clear()


def test_an_erased_address_cannot_be_squatted(client):
    response = post_form(
        client,
        "/inscription",
        {
            "full_name": "Squatter",
            "email": "compte-supprime-3@guichet.invalid",
            "password": "a long enough pass",
            "accept_terms": "yes",
        },
    )
    assert response.status_code == 422


def test_the_audit_trail_reads_in_words_and_filters_by_object(client):
    officer = make_user(client, roles=["officer"])
    sign_in(client, officer)
    page = client.get("/journal", params={"object_type": "user", "object_id": officer["id"]})
    assert page.status_code == 200
    assert "Connexion" in page.text and "accounts.signed_in" in page.text
    sign_out(client)


@pytest.mark.parametrize(
    ("action", "form"),
    [
        ("roles", {"role": "officer", "action": "grant"}),
        ("roles", {"role": "officer", "action": "revoke"}),
        ("statut", {"active": "no"}),
    ],
)
def test_an_admin_action_on_nobody_is_not_found(client, action, form):
    admin = make_user(client, roles=["admin"])
    sign_in(client, admin)
    response = post_form(client, f"/admin/utilisateurs/999999/{action}", form)
    assert response.status_code == 404
    sign_out(client)


def test_an_invitation_without_a_role_is_refused_on_the_roles(client):
    admin = make_user(client, roles=["admin"])
    sign_in(client, admin)
    response = post_form(
        client,
        "/admin/utilisateurs/inviter",
        {"email": "sans-role@region.test", "full_name": "Sans Rôle", "language": "fr"},
    )
    assert response.status_code == 422
    assert 'id="field-roles-error"' in response.text and "au moins un rôle" in response.text
    sign_out(client)
