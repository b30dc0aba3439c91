"""X-Forwarded-For is believed only from the proxies listed in TRUSTED_PROXIES.

uvicorn believes it from 127.0.0.1 by default: anyone reaching the server from there
(or through a proxy that passes the header on) could name any address and escape
every per-address limit. Against a real server (`guichet serve`), the address the
audit trail records for a sign-in tells which address the app believed."""

from __future__ import annotations

import httpx
import pytest

from app.settings import ConfigError
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_user
from tests.integration.test_resilience import factories, servers, sql  # noqa: F401

FORGED = "198.51.100.7"


def _sign_in_from(server, email: str, local_address: str) -> None:
    with httpx.Client(
        base_url=server.url, transport=httpx.HTTPTransport(local_address=local_address)
    ) as http:
        http.get("/connexion")
        answer = http.post(
            "/connexion",
            data={
                "email": email,
                "password": PASSWORD,
                "_csrf_token": http.cookies["guichet_csrf"],
            },
            headers={"X-Forwarded-For": FORGED, "X-Forwarded-Proto": "https"},
        )
        assert answer.status_code == 303, answer.text[:300]


def _signed_in_from(url: str, user_id: int) -> list[str]:
    return [
        row["ip"]
        for row in sql(
            url,
            "SELECT ip FROM audit_entry WHERE action = 'accounts.signed_in' "
            "AND actor_ref = $1 ORDER BY id",
            user_id,
        )
    ]


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        ("", ["127.0.0.1", "127.0.0.2"]),  # the default: nobody's header is believed
        ("127.0.0.1", [FORGED, "127.0.0.2"]),  # the proxy's, not another peer's
    ],
)
def test_forwarded_addresses_only_from_trusted_proxies(
    databases,
    tmp_path,
    servers,  # noqa: F811
    trusted,
    expected,
):
    url = databases.fresh_url()
    with factories(url, tmp_path / "data") as client:
        person = make_user(client)
    server = servers(tmp_path, url, TRUSTED_PROXIES=trusted).start()
    _sign_in_from(server, person["email"], "127.0.0.1")
    _sign_in_from(server, person["email"], "127.0.0.2")
    assert _signed_in_from(url, person["id"]) == expected


def test_trusted_proxies_must_be_addresses(tmp_path):
    settings = make_settings("sqlite:///x.sqlite3", tmp_path, TRUSTED_PROXIES="10.0.0.0/8, ::1")
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_settings("sqlite:///x.sqlite3", tmp_path, TRUSTED_PROXIES="proxy.example.fr")
