"""STAFF_MFA=required (the default in production): every staff role sets up two-step
verification right after the password, before any other page, and its API tokens wait
too; applicants stay free to choose."""

import re

import pyotp
import pytest

from app.accounts import services
from app.accounts.services import Actor, CurrentUser
from app.api.services import create_token
from tests.conftest import make_settings
from tests.factories import make_user, post_form, run, sign_out, text_of

STAFF_ROLES = ["reviewer", "officer", "finance", "admin"]
# Pages for staff, for anyone signed in, and public ones: all lead back to enrolment.
ELSEWHERE = [
    "/",
    "/financeurs",
    "/appels",
    "/connexion",
    "/instruction/appels",
    "/evaluation",
    "/finances",
    "/admin/utilisateurs",
    "/admin/reglages",
    "/journal",
    "/structures",
    "/dossiers",
    "/compte",
    "/compte/donnees",
    "/compte/donnees/export.json",
    "/compte/api",
]


@pytest.fixture(scope="module")
def settings(databases, tmp_path_factory):
    return make_settings(
        databases.fresh_url(), tmp_path_factory.mktemp("data"), STAFF_MFA="required"
    )


def password_step(client, user):
    return post_form(client, "/connexion", {"email": user["email"], "password": user["password"]})


def secret_on(html: str) -> str:
    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_enrol_right_after_the_password_and_see_nothing_else_before(client, role):
    client.cookies.clear()
    person = make_user(client, roles=[role])
    signed = password_step(client, person)
    assert signed.status_code == 303 and signed.headers["location"] == "/compte/securite"

    for path in ELSEWHERE:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/compte/securite", path
    hx = client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert hx.headers["hx-redirect"] == "/compte/securite"
    refused = post_form(client, "/compte", {"full_name": "X", "language": "fr"})
    assert refused.headers["location"] == "/compte/securite"
    # What enrolment needs answers: the page, the language, the password again.
    page = client.get("/compte/securite")
    assert page.status_code == 200
    assert "Votre rôle exige la validation en deux étapes" in text_of(page.text)
    assert "data:image/svg+xml" in page.text
    assert client.get("/langue?lang=fr&suivant=/compte/securite").status_code == 200
    assert client.get("/connexion/confirmer").status_code == 200

    wrong = post_form(client, "/compte/securite/activer", {"code": "000000"})
    assert wrong.status_code == 422
    done = post_form(
        client, "/compte/securite/activer", {"code": pyotp.TOTP(secret_on(page.text)).now()}
    )
    assert done.status_code == 200
    codes = [c for c in text_of(done.text).split() if len(c) == 13 and c[6] == "-"]
    assert len(codes) == 10
    assert "Se déconnecter" in done.text  # the page's sign-out form works (CSRF token)
    for path in ("/", "/compte", "/compte/donnees"):
        assert client.get(path, follow_redirects=False).status_code == 200, path
    sign_out(client)


def test_signing_out_works_before_enrolment(client):
    client.cookies.clear()
    person = make_user(client, roles=["officer"])
    password_step(client, person)
    out = post_form(client, "/deconnexion")
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).status_code == 200


def test_applicants_stay_free_to_choose(client):
    client.cookies.clear()
    applicant = make_user(client)
    signed = password_step(client, applicant)
    assert signed.headers["location"] == "/mon-espace"
    assert client.get("/dossiers", follow_redirects=False).status_code == 200
    page = client.get("/compte/securite")
    assert "Votre rôle exige" not in page.text
    sign_out(client)


def test_staff_cannot_turn_it_off_when_the_server_requires_it(client):
    client.cookies.clear()
    person = make_user(client, roles=["finance"])
    password_step(client, person)
    page = client.get("/compte/securite")
    post_form(client, "/compte/securite/activer", {"code": pyotp.TOTP(secret_on(page.text)).now()})
    assert "ne peut pas être désactivée" in client.get("/compte/securite").text
    refused = post_form(client, "/compte/securite/desactiver", {"password": person["password"]})
    assert refused.status_code == 303
    user = run(client, services.load_current_user, person["id"])
    assert user.totp_enabled
    sign_out(client)


def test_api_tokens_of_staff_who_must_enrol_are_refused(client):
    officer = make_user(client, roles=["officer"])
    user = run(client, services.load_current_user, officer["id"])
    token = run(client, create_token, user, "comptabilité", actor=Actor(officer["id"]))
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/calls", headers=bearer).status_code == 401
    password_step(client, officer)
    page = client.get("/compte/securite")
    post_form(client, "/compte/securite/activer", {"code": pyotp.TOTP(secret_on(page.text)).now()})
    sign_out(client)
    client.cookies.clear()
    # Turning two-factor on ends the person's tokens: a new one, then it answers.
    user = run(client, services.load_current_user, officer["id"])
    token = run(client, create_token, user, "comptabilité 2", actor=Actor(officer["id"]))
    assert (
        client.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )


def person(roles=(), totp=False) -> CurrentUser:
    return CurrentUser(
        id=1,
        email="x@y.test",
        full_name="X",
        language="fr",
        session_version=1,
        totp_enabled=totp,
        roles=frozenset(roles),
    )


@pytest.mark.parametrize(
    ("roles", "totp", "staff_mfa_required", "admin_setting", "must"),
    [
        ((), False, True, True, False),  # applicants choose
        (("reviewer",), False, True, False, True),
        (("officer",), False, True, False, True),
        (("finance",), False, True, False, True),
        (("admin",), False, True, False, True),
        (("officer",), True, True, False, False),  # already set up
        (("reviewer",), False, False, True, False),  # the admin setting: finance, admin
        (("officer",), False, False, True, False),
        (("finance",), False, False, True, True),
        (("admin",), False, False, True, True),
        (("admin",), False, False, False, False),
    ],
)
def test_who_must_enrol(client, roles, totp, staff_mfa_required, admin_setting, must):
    run(
        client,
        services.set_setting,
        services.SETTING_MANDATORY_TOTP,
        admin_setting,
        actor=Actor(None),
    )
    found = run(
        client,
        services.must_enrol_totp,
        person(roles, totp),
        staff_mfa_required=staff_mfa_required,
    )
    assert found is must
    run(client, services.set_setting, services.SETTING_MANDATORY_TOTP, False, actor=Actor(None))
