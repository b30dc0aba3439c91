"""Every route × every role (and anonymous): the expected status.

The matrix is checked against the router: a route without an entry fails here,
so nobody adds a page without deciding who may open it."""

import pytest

from tests.factories import csrf_token, make_user, sign_in

ROLES = ["anonymous", "applicant", "reviewer", "officer", "finance", "admin"]
ALL = dict.fromkeys(ROLES)


def same(status):
    return dict.fromkeys(ROLES, status)


# (method, path template) -> (concrete path, {role: expected status})
MATRIX = {
    ("GET", "/"): ("/", same(200)),
    ("GET", "/financeurs"): ("/financeurs", same(200)),
    ("GET", "/langue"): ("/langue?lang=fr", same(303)),
    ("GET", "/healthz"): ("/healthz", same(200)),
    ("GET", "/connexion"): ("/connexion", same(200)),
    ("POST", "/connexion"): ("/connexion", same(422)),
    ("POST", "/deconnexion"): ("/deconnexion", {**same(303), "anonymous": 401}),
    ("GET", "/static"): ("/static/css/guichet.css", same(200)),
}


def app_routes(app):
    found = set()
    for route in app.routes:
        for method in getattr(route, "methods", ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            path = route.path
            if path.startswith("/static"):
                path = "/static"
            found.add((method, path))
    return found


def test_every_route_has_an_entry(app):
    missing = app_routes(app) - set(MATRIX)
    assert not missing, f"routes missing from the access matrix: {sorted(missing)}"
    stale = set(MATRIX) - app_routes(app)
    assert not stale, f"matrix entries for routes that no longer exist: {sorted(stale)}"


@pytest.fixture(scope="module")
def people(client):
    roles = {
        "applicant": [],
        "reviewer": ["reviewer"],
        "officer": ["officer"],
        "finance": ["finance"],
        "admin": ["admin"],
    }
    return {name: make_user(client, roles=r) for name, r in roles.items()}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(MATRIX))
def test_access(client, people, role, route):
    method, _template = route
    path, expected = MATRIX[route]
    client.cookies.clear()
    if role != "anonymous":
        sign_in(client, people[role])
    kwargs = {"data": {"_csrf_token": csrf_token(client)}} if method == "POST" else {}
    response = client.request(method, path, follow_redirects=False, **kwargs)
    assert response.status_code == expected[role], (role, method, path)
    client.cookies.clear()
