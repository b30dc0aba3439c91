"""A CSRF token known before sign-in — the page's of an earlier visit, or an attacker's
whose cookie was planted in the victim's browser — stops working at sign-in and at
every change of privilege: the browser's cookie is replaced; the fresh pair works."""

import re
import time

import pyotp

from tests.factories import make_organisation, make_user, set_cookie, sign_out

PROFILE = {"full_name": "Nom Changé", "language": "fr"}


def csrf_pair_of_another_browser(client) -> str:
    """What an attacker gets from their own browser: the cookie, which is the token."""
    saved = [(c.name, c.value, c.domain, c.path) for c in client.cookies.jar]
    client.cookies.clear()
    client.get("/connexion")
    token = client.cookies["guichet_csrf"]
    client.cookies.clear()
    for name, value, domain, path in saved:
        client.cookies.set(name, value, domain=domain, path=path)
    return token


def forged(client, path: str, token: str, data: dict | None = None, *, htmx: bool = False):
    """A POST carrying ``token`` (in the form, or the header as htmx sends it) from
    this browser, which sends whatever CSRF cookie it holds now."""
    if htmx:
        return client.post(
            path, data=data or {}, headers={"x-csrftoken": token}, follow_redirects=False
        )
    return client.post(path, data={**(data or {}), "_csrf_token": token}, follow_redirects=False)


def as_the_page(client, path: str, data: dict | None = None):
    """A POST from a page of this browser: its current pair."""
    return forged(client, path, client.cookies["guichet_csrf"], data)


def token_on(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([0-9a-f]+)"', html).group(1)


def sign_in_with(client, user) -> None:
    answer = as_the_page(
        client, "/connexion", {"email": user["email"], "password": user["password"]}
    )
    assert answer.status_code == 303


def test_a_token_planted_before_sign_in_is_refused_after(client):
    client.cookies.clear()
    user = make_user(client)
    planted = csrf_pair_of_another_browser(client)
    set_cookie(client, "guichet_csrf", planted)  # in the victim's browser
    assert f'value="{planted}"' in client.get("/connexion").text  # its page uses it
    sign_in_with(client, user)
    fresh = client.cookies["guichet_csrf"]
    assert fresh != planted
    assert forged(client, "/compte", planted, PROFILE).status_code == 403
    assert forged(client, "/compte", planted, PROFILE, htmx=True).status_code == 403
    # The page after sign-in carries the fresh token (form and htmx header): it works.
    page = client.get("/compte")
    assert token_on(page.text) == fresh
    assert f'"x-csrftoken": "{fresh}"' in page.text
    assert forged(client, "/compte", fresh, PROFILE).status_code == 303
    assert forged(client, "/compte", fresh, PROFILE, htmx=True).status_code == 303
    sign_out(client)


def test_each_step_of_a_two_factor_sign_in_renews_the_pair(client):
    client.cookies.clear()
    user = make_user(client, roles=["reviewer"])
    client.get("/connexion")
    sign_in_with(client, user)
    page = client.get("/compte/securite")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    signed_in = client.cookies["guichet_csrf"]
    # Turning two-factor on changes privileges: the page showing the recovery codes
    # carries the new token, which the new cookie matches (signing out from it works).
    done = as_the_page(
        client, "/compte/securite/activer", {"code": pyotp.TOTP(secret.replace(" ", "")).now()}
    )
    assert done.status_code == 200 and "Vos codes de secours" in done.text
    renewed = client.cookies["guichet_csrf"]
    assert renewed != signed_in and token_on(done.text) == renewed
    assert forged(client, "/compte", signed_in, PROFILE).status_code == 403
    assert forged(client, "/deconnexion", renewed).status_code == 303

    client.cookies.clear()
    client.get("/connexion")
    first = client.cookies["guichet_csrf"]
    step = as_the_page(client, "/connexion", {"email": user["email"], "password": user["password"]})
    assert step.headers["location"].startswith("/connexion/verification")
    pending = client.cookies["guichet_csrf"]
    assert pending != first
    assert forged(client, "/connexion/verification", first, {"code": "1"}).status_code == 403
    code = pyotp.TOTP(secret.replace(" ", "")).at(time.time() + 30)
    assert as_the_page(client, "/connexion/verification", {"code": code}).status_code == 303
    last = client.cookies["guichet_csrf"]
    assert last not in (first, pending)
    for old in (first, pending):
        assert forged(client, "/compte", old, PROFILE).status_code == 403
    assert as_the_page(client, "/compte", PROFILE).status_code == 303
    sign_out(client)


def test_acting_for_an_organisation_renews_the_pair(client):
    client.cookies.clear()
    owner = make_user(client)
    org_id = make_organisation(client, owner)
    client.get("/connexion")
    sign_in_with(client, owner)
    before = client.cookies["guichet_csrf"]
    assert as_the_page(client, f"/structures/{org_id}/choisir").status_code == 303
    assert client.cookies["guichet_csrf"] != before
    assert forged(client, "/compte", before, PROFILE).status_code == 403
    assert as_the_page(client, "/compte", PROFILE).status_code == 303
    sign_out(client)


def test_requests_that_change_no_privilege_keep_the_pair(client):
    client.cookies.clear()
    client.get("/connexion")
    token = client.cookies["guichet_csrf"]
    refused = as_the_page(client, "/connexion", {"email": "x@y.test", "password": "nope"})
    assert refused.status_code == 422
    assert "guichet_csrf" not in str(refused.headers.get_list("set-cookie"))
    assert client.cookies["guichet_csrf"] == token
