"""The security headers on every page type, and the cookie flags per environment.

One GET per route of the router, for someone allowed to see it — full page and
htmx partial, downloads, the JSON API with a token — and the error pages: each
answer carries the baseline (CSP, nosniff, referrer policy, frame denial), is never
stored by a cache, and a download says it is one. The examples come from the route
× role matrix: a new GET route enters this check by its matrix entry, and fails here
when no example answers it. Cookies and HSTS are checked on an app built with
development and with production settings."""

from __future__ import annotations

import contextlib

import pyotp
import pytest
from litestar.testing import TestClient

from app.accounts.services import SYSTEM, Actor
from tests.conftest import make_settings
from tests.factories import (
    MINIMAL_PDF,
    PASSWORD,
    csrf_token,
    emails_to,
    link_in,
    make_grant,
    make_user,
    post_form,
    run,
    sign_in,
)
from tests.integration import test_route_matrix as matrix
from tests.integration.core.test_security_baseline import assert_baseline

world = matrix.world  # the matrix's people, objects and signed-in sessions

GET_ROUTES = sorted(route for method, route in matrix.MATRIX if method == "GET")

# Routes whose matrix example shows nobody the page itself (forged tokens, objects the
# matrix does not make): (path, who, status). ``who`` is a matrix role, "anonymous",
# "token" (a finance API token) or "second_factor" (signed in, code still to type).
EXAMPLES = {
    "/compte/confirmer": ("{verify_link}", "anonymous", 200),
    "/mot-de-passe/nouveau": ("{reset_link}", "anonymous", 200),
    "/invitation": ("{staff_link}", "anonymous", 200),
    "/structures/invitation": ("{member_link}", "stranger", 200),
    "/connexion/verification": ("/connexion/verification", "second_factor", 200),
    "/dossiers/{app_id:int}/accuse-de-reception.pdf": (
        "/dossiers/{awarded}/accuse-de-reception.pdf",
        "owner",
        200,
    ),
    "/dossiers/{app_id:int}/convention": ("/dossiers/{agreed}/convention", "owner", 200),
    "/suivi/subventions/{grant_id:int}/convention": (
        "/suivi/subventions/{agreed_grant}/convention",
        "finance",
        200,
    ),
    "/dossiers/{app_id:int}/irrecevabilite.pdf": (
        "/dossiers/{ineligible}/irrecevabilite.pdf",
        "owner",
        200,
    ),
    "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/{which:str}": (
        "/suivi/subventions/{agreed_grant}/convention/{agreement}/document",
        "owner",
        200,
    ),
    "/suivi/subventions/{grant_id:int}/avis/{notice_id:int}": (
        "/suivi/subventions/{agreed_grant}/avis/{notice}",
        "owner",
        200,
    ),
    "/dossiers/{app_id:int}/bilans/{kind:str}/accuse-de-reception.pdf": (
        "/dossiers/{agreed}/bilans/interim/accuse-de-reception.pdf",
        "owner",
        200,
    ),
    "/suivi/pieces-de-bilan/{attachment_id:int}": (
        "/suivi/pieces-de-bilan/{report_document}",
        "finance",
        200,
    ),
    # A redirect by nature (it sets the language cookie).
    "/langue": ("/langue?lang=fr", "owner", 303),
    # The OpenAPI router's catch-all: only the JSON document exists.
    "/api/v1/schema/{path:str}": ("/api/v1/schema/elsewhere", "owner", 404),
    **{
        route: (matrix.MATRIX[("GET", route)][0], "token", 200)
        for route in GET_ROUTES
        if route.startswith("/api/v1/") and "schema" not in route
    },
}

DOWNLOAD_TYPES = (
    "application/pdf",
    "text/csv",
    "application/vnd.openxmlformats",
    "application/json",
)
NOT_DOWNLOADS = ("/api/", "/healthz", "/static/")


def example(route: str) -> tuple[str, str, int]:
    """The path, the person and the expected status of one GET of this route."""
    if route in EXAMPLES:
        return EXAMPLES[route]
    path, expected = matrix.MATRIX[("GET", route)]
    for role in [*matrix.SIGNED_IN, "anonymous"]:
        if expected[role] == 200:
            return path, role, 200
    pytest.fail(f"no example shows {route} to anyone: add one to EXAMPLES")


# --- Cookies and HSTS, per environment ---------------------------------------------------
# First in the file: these build their own apps before this module's app starts (the
# tables are bound to one engine at a time).


@contextlib.contextmanager
def deployed(databases, tmp_path, env: str):
    """A client of an app built with ``env`` settings (HTTPS in production), on its own
    database; the tables are bound back to the module's app afterwards."""
    from app.core import db
    from app.main import create_app

    overrides = {"GUICHET_ENV": env}
    base_url = "http://testserver.local"
    if env == "production":
        base_url = "https://testserver.local"
        overrides.update(ALLOWED_HOSTS="testserver.local", GUICHET_BASE_URL=base_url)
    previous = db.current_engine()
    settings = make_settings(databases.fresh_url(), tmp_path, **overrides)
    assert settings.production is (env == "production")
    try:
        with TestClient(app=create_app(settings), base_url=base_url) as client:
            yield client
    finally:
        db.bind(previous)


def set_cookies(response) -> dict[str, dict[str, str]]:
    """The cookies a response sets: name -> attributes (lower-case names; flags map to
    "" when present), the value under "value"."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name_value, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = name_value.partition("=")
        found[name] = {"value": value}
        for attribute in attributes:
            key, _, val = attribute.partition("=")
            found[name][key.lower()] = val
    return found


def assert_flags(cookie: dict, *, production: bool, httponly: bool = True) -> None:
    assert cookie.get("path") == "/", cookie
    assert cookie.get("samesite", "").lower() == "lax", cookie
    assert ("httponly" in cookie) is httponly, cookie
    assert ("secure" in cookie) is production, cookie


@pytest.mark.parametrize("env", ["development", "production"])
def test_cookie_flags(databases, tmp_path, env):
    """Session, CSRF, language and device cookies: HttpOnly (htmx gets the CSRF token from the
    page's hx-headers, never from the cookie), SameSite=Lax (links from e-mails open
    signed in), Path=/, and Secure in production."""
    production = env == "production"
    with deployed(databases, tmp_path, env) as client:
        first = client.get("/connexion")
        assert_flags(set_cookies(first)["guichet_csrf"], production=production)
        assert "guichet_session" not in set_cookies(first)  # no session for visitors

        user = make_user(client)
        signed_in = post_form(
            client, "/connexion", {"email": user["email"], "password": user["password"]}
        )
        assert signed_in.status_code == 303, signed_in.text
        cookies = set_cookies(signed_in)
        assert_flags(cookies["guichet_session"], production=production)
        assert int(cookies["guichet_session"]["max-age"]) <= 12 * 3600
        assert_flags(cookies["guichet_lang"], production=production)
        assert_flags(cookies["guichet_device"], production=production)
        assert client.get("/compte").status_code == 200  # the cookies work over this scheme

        switched = client.get("/langue?lang=en", follow_redirects=False)
        assert_flags(set_cookies(switched)["guichet_lang"], production=production)


@pytest.mark.parametrize("env", ["development", "production"])
def test_hsts_only_in_production(databases, tmp_path, env):
    with deployed(databases, tmp_path, env) as client:
        user = make_user(client)
        answers = [
            client.get("/"),
            client.get("/static/css/guichet.css"),
            client.get("/nulle-part"),
            client.get("/api/v1/grants"),
        ]
        sign_in(client, user)
        answers += [client.get("/compte"), client.get("/compte/donnees/export.json")]
        for response in answers:
            check(response)
            hsts = response.headers.get("strict-transport-security")
            if env == "production":
                assert hsts == "max-age=63072000; includeSubDomains", response.request.url
            else:
                assert hsts is None, response.request.url


# --- Every GET route, every error page -------------------------------------------------


def test_every_get_route_has_an_example(app):
    routes = {path for method, path in matrix.app_routes(app) if method == "GET"}
    assert routes == set(GET_ROUTES), "a GET route has no matrix entry"
    assert set(EXAMPLES) <= routes, "an example for a route that no longer exists"
    for route in sorted(routes):
        example(route)


@pytest.fixture(scope="module")
def extra(client, world):
    """What the matrix's world lacks for a page of every route: token links, a receipt,
    a signed agreement, a report's document, an API token, a second-factor sign-in."""
    from app.accounts import passwords, two_factor
    from app.accounts import services as accounts
    from app.api import services as api
    from app.applications.tables import Application
    from app.core.storage import FileStorage
    from app.grants import reports
    from app.organisations import services as organisations

    people, ids = world["people"], world["ids"]
    base = "http://testserver.local"
    storage = FileStorage.of_app(client.app)

    def last_link(address: str) -> str:
        return link_in(emails_to(client, address)[-1])

    run(
        client,
        passwords.register_applicant,
        email="newcomer@asso.test",
        full_name="Nouvelle Venue",
        password=PASSWORD,
        language="fr",
        base_url=base,
        actor=SYSTEM,
    )
    admin = Actor(user_id=people["admin"]["id"])
    run(
        client,
        accounts.invite_staff,
        email="recrue@region.test",
        full_name="Recrue",
        roles=["officer"],
        language="fr",
        base_url=base,
        actor=admin,
    )
    run(
        client,
        organisations.invite_member,
        ids["org"],
        email=people["stranger"]["email"],
        role="member",
        base_url=base,
        actor=Actor(user_id=people["owner"]["id"]),
    )

    # The awarded file's receipt (the matrix's world skips submission).
    receipt = storage.store_bytes(MINIMAL_PDF, filename="accuse.pdf", kinds={"pdf"})
    run(
        client,
        lambda: (
            Application.update({Application.receipt_file: receipt.storage_id})
            .where(Application.id == ids["awarded"])
            .run()
        ),
    )
    agreed = make_grant(client, people["officer"], people["owner"])
    from app.grants.tables import Agreement

    report = run(client, reports.report_of, agreed["grant"], "interim")
    document = storage.store_bytes(MINIMAL_PDF, filename="bilan.pdf", kinds={"pdf"})
    owner = Actor(user_id=people["owner"]["id"])
    from app.quotas import StorageLimits

    run(
        client,
        reports.add_attachment,
        report.id,
        document,
        user_id=owner.user_id,
        actor=owner,
        limits=StorageLimits.from_settings(client.app.state.settings),
    )
    from app.grants.tables import ReportAttachment

    report_document = run(
        client,
        lambda: (
            ReportAttachment.select(ReportAttachment.id)
            .where(ReportAttachment.report == report.id)
            .first()
            .run()
        ),
    )["id"]

    # The interim report as submitted, so that its receipt exists (written when first
    # asked for).
    from app.core.time import now
    from app.grants.tables import Report

    run(
        client,
        lambda: (
            Report.update({Report.status: "submitted", Report.submitted_at: now()})
            .where(Report.id == report.id)
            .run()
        ),
    )

    # A file found ineligible (its decision as a PDF), and a reduced grant's notice.
    from app.applications import screening
    from app.applications.tables import Application as Application_
    from app.grants import notices
    from tests.factories import make_application

    officer = run(client, accounts.load_current_user, people["officer"]["id"])
    ineligible = make_application(client, people["owner"], ids["org"], ids["published"])
    run(
        client,
        lambda: (
            Application_.update({Application_.status: "submitted", Application_.reference: "H-1"})
            .where(Application_.id == ineligible)
            .run()
        ),
    )
    run(
        client,
        screening.screen,
        [ineligible],
        "ineligible",
        reason="Statuts non signés.",
        user=officer,
        actor=Actor(user_id=officer.id),
        base_url=base,
    )
    notice = run(
        client,
        notices.issue_reduction_notice,
        agreed["grant"],
        storage=storage,
        base_url=base,
        actor=Actor(user_id=officer.id),
        today=now(),
    )

    # Last of the owner's e-mails: its link is the reset example's.
    run(
        client,
        passwords.request_password_reset,
        email=people["owner"]["email"],
        base_url=base,
        actor=SYSTEM,
    )
    finance = run(client, accounts.load_current_user, people["finance"]["id"])
    token = run(client, api.create_token, finance, "headers", actor=Actor(user_id=finance.id))

    # Someone with two-factor on, between the password and the code.
    careful = make_user(client)
    secret = pyotp.random_base32()
    run(
        client,
        two_factor.enable_totp,
        careful["id"],
        secret,
        pyotp.TOTP(secret).now(),
        actor=Actor(user_id=careful["id"]),
    )
    client.cookies.clear()
    sent = post_form(
        client, "/connexion", {"email": careful["email"], "password": careful["password"]}
    )
    assert sent.headers["location"].startswith("/connexion/verification"), sent.text
    second_factor = dict(client.cookies.items())
    client.cookies.clear()

    return {
        "ids": {
            **ids,
            "verify_link": last_link("newcomer@asso.test"),
            "reset_link": last_link(people["owner"]["email"]),
            "staff_link": last_link("recrue@region.test"),
            "member_link": last_link(people["stranger"]["email"]),
            "agreed": agreed["app"],
            "agreed_grant": agreed["grant"],
            "agreement": run(
                client,
                lambda: (
                    Agreement.select(Agreement.id)
                    .where(Agreement.grant == agreed["grant"])
                    .first()
                    .run()
                ),
            )["id"],
            "report_document": report_document,
            "ineligible": ineligible,
            "notice": notice,
        },
        "token": token,
        "sessions": {**world["sessions"], "second_factor": second_factor},
    }


def as_(client, extra, who: str) -> dict:
    """Hold ``who``'s cookies; return the headers their requests carry."""
    client.cookies.clear()
    for name, value in extra["sessions"].get(who, {}).items():
        client.cookies.set(name, value, domain="testserver.local", path="/")
    return {"Authorization": f"Bearer {extra['token']}"} if who == "token" else {}


def check(response, *, htmx: bool = False) -> None:
    """The baseline of every answer, plus what its kind asks for."""
    assert_baseline(response)
    path = response.request.url.path
    cache = response.headers.get("cache-control", "")
    if path.startswith("/static/"):
        assert "max-age=31536000" in cache, path
        return
    assert cache == "no-store", (path, cache)
    assert "HX-Request" in response.headers.get("vary", ""), path
    kind = response.headers.get("content-type", "")
    assert kind.count("charset") <= 1, (path, kind)  # one charset, said once
    disposition = response.headers.get("content-disposition", "")
    download = kind.startswith(DOWNLOAD_TYPES) and not path.startswith(NOT_DOWNLOADS)
    if download and response.status_code == 200 and "hx-redirect" not in response.headers:
        assert disposition.startswith("attachment;") and "filename" in disposition, (
            path,
            disposition,
        )
    else:
        assert not disposition, (path, disposition)
    if kind.startswith("text/html") and response.text:
        # The htmx variant really is the partial (no second <html> swapped in).
        assert ("<html" in response.text) is not htmx, (path, htmx)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("route", GET_ROUTES)
def test_every_get_route_carries_the_security_headers(client, extra, route, htmx):
    template, who, status = example(route)
    path = template.format(**extra["ids"])
    headers = as_(client, extra, who)
    if htmx:
        headers["HX-Request"] = "true"
    response = client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == status, (who, path, response.text[:300])
    check(response, htmx=htmx and status == 200)
    if who in extra["sessions"]:
        extra["sessions"][who] = dict(client.cookies.items())
    client.cookies.clear()


def _too_many_sign_ins(client):
    for _ in range(5):
        post_form(client, "/connexion", {"email": "nobody@asso.test", "password": "wrong"})
    return post_form(client, "/connexion", {"email": "nobody@asso.test", "password": "wrong"})


def _too_large(client):
    token = csrf_token(client)
    size = client.app.state.settings.max_body_bytes + 10
    return client.post(
        "/compte",
        content=f"_csrf_token={token}&full_name={'x' * size}",
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrftoken": token},
    )


# (who, request, expected status): the error pages and redirects people meet.
ERRORS = {
    "400 unknown host": ("owner", lambda c, ids: c.get("/", headers={"host": "evil.example"}), 400),
    "400 forged link": ("anonymous", lambda c, ids: c.get("/invitation?jeton=forged"), 400),
    "401 form without a session": ("anonymous", lambda c, ids: post_form(c, "/compte"), 401),
    "401 API without a token": ("anonymous", lambda c, ids: c.get("/api/v1/grants"), 401),
    "401 API with a session": ("finance", lambda c, ids: c.get("/api/v1/grants"), 401),
    "303 page without a session": (
        "anonymous",
        lambda c, ids: c.get("/compte", follow_redirects=False),
        303,
    ),
    "403 staff page": ("officer", lambda c, ids: c.get("/admin/utilisateurs"), 403),
    "403 without CSRF token": (
        "owner",
        lambda c, ids: c.post("/compte", data={"full_name": "x"}),
        403,
    ),
    "404 unknown page": ("owner", lambda c, ids: c.get("/nulle-part"), 404),
    "404 someone else's file": (
        "stranger",
        lambda c, ids: c.get(f"/dossiers/{ids['app']}"),
        404,
    ),
    "405 wrong method": ("owner", lambda c, ids: c.delete("/compte"), 405),
    "413 body too large": ("owner", lambda c, ids: _too_large(c), 413),
    "422 refused form": ("owner", lambda c, ids: post_form(c, "/compte", {"full_name": ""}), 422),
    "429 too many attempts": ("anonymous", lambda c, ids: _too_many_sign_ins(c), 429),
}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("case", sorted(ERRORS))
def test_error_pages_carry_the_security_headers(client, extra, case, htmx):
    who, send, status = ERRORS[case]
    headers = as_(client, extra, who)
    if htmx:
        headers["HX-Request"] = "true"
    client.headers.update(headers)
    try:
        response = send(client, extra["ids"])
    finally:
        for name in headers:
            client.headers.pop(name, None)
        client.app.state.rate_limiter._counts.clear()
    # Where a page is redirected to sign-in (303), an htmx request that is not a
    # navigation (an autosave, a fragment) keeps its page: a notice in place (401,
    # retargeted to the messages area) with the sign-in link.
    expected = 401 if (htmx and status == 303) else status
    assert response.status_code == expected, (case, response.text[:300])
    check(response, htmx=htmx)
    if htmx and status == 303:
        assert response.headers["hx-retarget"] == "#flash"
        assert "/connexion?" in response.text
    if who in extra["sessions"]:
        extra["sessions"][who] = dict(client.cookies.items())
    client.cookies.clear()
