"""The read-only JSON API: personal tokens, pagination, the OpenAPI description."""

import re

import pytest

from app.accounts.tables import ApiToken
from tests.factories import make_grant, make_user, post_form, run, sign_in, sign_out


@pytest.fixture(scope="module")
def people(client):
    return {
        "finance": make_user(client, roles=["finance"]),
        "officer": make_user(client, roles=["officer"]),
        "owner": make_user(client),
    }


def new_token(client, person, name="Export comptable"):
    sign_out(client)
    client.cookies.clear()
    sign_in(client, person)
    page = post_form(client, "/compte/api", {"name": name})
    assert page.status_code == 200, page.text[:300]
    return re.search(r"gch_[A-Za-z0-9_-]{20,}", page.text).group(0)


def api(client, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/v1" + path, headers=headers, params=params)


def test_a_token_is_shown_once_and_stored_hashed(client, people):
    token = new_token(client, people["finance"])
    rows = run(client, lambda: ApiToken.select().run())
    assert all(token not in str(row.values()) for row in rows)
    page = client.get("/compte/api")
    assert token not in page.text and token[:12] in page.text


def test_the_api_reads_calls_grants_instalments_and_payments(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    token = new_token(client, people["finance"], "lecture")
    calls = api(client, "/calls", token, per_page=1)
    assert calls.status_code == 200
    body = calls.json()
    assert body["per_page"] == 1 and len(body["items"]) == 1 and body["total"] >= 1
    grant = api(client, f"/grants/{g['grant']}", token).json()
    assert grant["amount_eur"] == "200000.00" and grant["status"] == "active"
    listed = api(client, "/grants", token, call=g["call"]).json()
    assert [x["id"] for x in listed["items"]] == [g["grant"]]
    parts = api(client, f"/grants/{g['grant']}/instalments", token).json()
    assert [p["amount_eur"] for p in parts] == ["100000.00", "60000.00", "40000.00"]
    assert api(client, "/payments", token, grant=g["grant"]).json()["total"] == 0
    assert api(client, "/grants/999999", token).status_code == 404
    # Read-only: no write method exists.
    assert client.post(
        "/api/v1/grants", headers={"Authorization": f"Bearer {token}"}
    ).status_code in (401, 403, 405)


def test_no_token_a_bad_token_a_session_or_a_revoked_token_is_refused(client, people):
    token = new_token(client, people["finance"], "à révoquer")
    # Signed in with a session cookie, but no token: refused.
    response = api(client, "/calls")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status_code"] == 401
    assert api(client, "/calls", "gch_forged").status_code == 401
    assert api(client, "/calls", token).status_code == 200
    token_id = run(
        client,
        lambda: ApiToken.select(ApiToken.id).where(ApiToken.name == "à révoquer").first().run(),
    )["id"]
    assert post_form(client, f"/compte/api/{token_id}/revoquer").status_code == 303
    assert api(client, "/calls", token).status_code == 401


def test_applicants_get_no_token(client, people):
    sign_out(client)
    client.cookies.clear()
    sign_in(client, people["owner"])
    assert client.get("/compte/api").status_code == 403
    assert post_form(client, "/compte/api", {"name": "x"}).status_code == 403


def test_the_openapi_schema_describes_the_api_only(client):
    schema = client.get("/api/v1/schema/openapi.json")
    assert schema.status_code == 200
    paths = set(schema.json()["paths"])
    assert paths == {
        "/api/v1/calls",
        "/api/v1/calls/{call_id}",
        "/api/v1/grants",
        "/api/v1/grants/{grant_id}",
        "/api/v1/grants/{grant_id}/instalments",
        "/api/v1/payments",
    }
    assert "BearerToken" in schema.json()["components"]["securitySchemes"]


def test_a_token_ends_with_the_sessions_and_obeys_mandatory_two_factor(client, people):
    from app.accounts.services import SETTING_MANDATORY_TOTP, Actor, set_setting

    token = new_token(client, people["finance"], "fin de session")
    assert api(client, "/calls", token).status_code == 200
    run(client, set_setting, SETTING_MANDATORY_TOTP, True, actor=Actor(user_id=None))
    try:
        assert api(client, "/calls", token).status_code == 401  # set up two-factor first
    finally:
        run(client, set_setting, SETTING_MANDATORY_TOTP, False, actor=Actor(user_id=None))
    assert api(client, "/calls", token).status_code == 200
    changed = post_form(
        client,
        "/compte/mot-de-passe",
        {
            "current_password": people["finance"]["password"],
            "new_password": "un tout nouveau mot de passe",
            "new_password_again": "un tout nouveau mot de passe",
        },
    )
    assert changed.status_code in (200, 303), changed.text[:300]
    assert api(client, "/calls", token).status_code == 401
    people["finance"]["password"] = "un tout nouveau mot de passe"


def test_out_of_range_numbers_are_not_errors(client, people):
    token = new_token(client, people["officer"], "bornes")
    assert api(client, "/grants/99999999999999999999", token).status_code in (400, 404)
    assert api(client, "/grants", token, call=99999999999999999999).status_code in (200, 400)
    assert api(client, "/calls", token, page=99999999999999999999).status_code in (200, 400)
    sign_out(client)
    client.cookies.clear()
    sign_in(client, people["finance"])
    for query in ("?appel=²", "?appel=99999999999999999999999"):
        assert client.get("/finances" + query).status_code == 200
        assert client.get("/finances/export/versements.csv" + query).status_code == 200
