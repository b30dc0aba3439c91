"""Security baseline on every response: headers, CSRF, allowed hosts, body limit."""

import pytest

from app.core.security import CONTENT_SECURITY_POLICY
from tests.factories import csrf_token, make_user, sign_in, sign_out

BASELINE = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


def assert_baseline(response):
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (name, response.request.url)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/financeurs", 200),
        ("GET", "/connexion", 200),
        ("GET", "/healthz", 200),
        ("GET", "/no-such-page", 404),
        ("DELETE", "/", 405),
        ("POST", "/connexion", 403),  # no CSRF token
        ("GET", "/static/css/guichet.css", 200),
    ],
)
def test_every_response_carries_the_security_headers(client, method, path, status):
    response = client.request(method, path, follow_redirects=False)
    assert response.status_code == status
    assert_baseline(response)
    if not path.startswith("/static/"):
        assert response.headers["cache-control"] == "no-store"
        assert "HX-Request" in response.headers.get("vary", "")
    else:
        assert "max-age=31536000" in response.headers["cache-control"]


def test_no_hsts_outside_production(client):
    assert "strict-transport-security" not in client.get("/").headers


def test_post_without_csrf_token_is_refused_with_an_html_page(client):
    response = client.post("/connexion", data={"email": "a@b.fr", "password": "x"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Accès refusé" in response.text


def test_post_with_a_wrong_csrf_token_is_refused(client):
    csrf_token(client)
    response = client.post(
        "/connexion", data={"email": "a@b.fr", "password": "x", "_csrf_token": "forged" * 10}
    )
    assert response.status_code == 403


def test_post_with_csrf_token_in_field_or_header_succeeds(client):
    user = make_user(client)
    token = csrf_token(client)
    response = client.post(
        "/connexion",
        data={"email": user["email"], "password": user["password"], "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    sign_out(client)
    token = csrf_token(client)  # a new one since signing in
    response = client.post(
        "/connexion",
        data={"email": user["email"], "password": user["password"]},
        headers={"x-csrftoken": token, "hx-request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    sign_out(client)


def test_unknown_host_is_refused(client):
    response = client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400


def test_body_over_the_limit_gets_the_413_page(client, settings):
    token = csrf_token(client)
    big = "x" * (settings.max_body_bytes + 10)
    response = client.post(
        "/connexion",
        content=f"_csrf_token={token}&email={big}",
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrftoken": token},
    )
    assert response.status_code == 413
    assert "trop volumineux" in response.text


def test_authenticated_pages_are_not_cached(client):
    user = make_user(client)
    sign_in(client, user)
    response = client.get("/")
    assert response.headers["cache-control"] == "no-store"
    assert user["full_name"] in response.text
    sign_out(client)


def test_plain_forms_carry_the_token_as_a_hidden_field(client):
    html = client.get("/connexion").text
    assert f'<input type="hidden" name="_csrf_token" value="{csrf_token(client)}">' in html


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("localhost:8000", True),
        ("127.0.0.1:8765", True),
        ("[::1]:8000", True),
        ("LOCALHOST", True),
        ("evil.example", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_host_check_ignores_the_port_only(host, allowed):
    from app.core.security import host_is_allowed
    from app.settings import DEFAULT_HOSTS

    assert host_is_allowed(host, DEFAULT_HOSTS) is allowed


def test_wildcard_subdomains():
    from app.core.security import host_is_allowed

    assert host_is_allowed("guichet.region.fr", ("*.region.fr",))
    assert not host_is_allowed("region.fr.evil.example", ("*.region.fr",))
