"""With REDIS_URL, sessions live in Redis (shared by several workers), not in files."""

import os

import pytest
import redis
from litestar.testing import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.factories import make_user, sign_in, sign_out

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="module")
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield client
    client.close()


def test_sessions_go_to_redis_and_sign_out_removes_them(databases, tmp_path, redis_client):
    settings = make_settings(databases.fresh_url(), tmp_path, REDIS_URL=REDIS_URL)
    with TestClient(app=create_app(settings)) as client:
        user = make_user(client)
        sign_in(client, user)
        session_id = client.cookies.get("guichet_session")
        keys = [k.decode() for k in redis_client.keys("*")]
        assert any(session_id in key for key in keys)
        assert not (settings.sessions_dir).exists() or not any(settings.sessions_dir.iterdir())
        assert user["full_name"] in client.get("/").text
        sign_out(client)
        keys = [k.decode() for k in redis_client.keys("*")]
        assert not any(session_id in key for key in keys)


def test_redis_keeps_a_session_until_its_deadline_only(databases, tmp_path, redis_client):
    """Redis expires the key when the session is worth nothing: 12 hours after sign-in,
    5 minutes after the password for a pending second factor (no sweep needed)."""
    import pyotp

    from app.accounts.sessions import SECOND_FACTOR_WINDOW_S
    from app.core.security import SESSION_ABSOLUTE_LIFETIME_S
    from tests.factories import post_form

    settings = make_settings(databases.fresh_url(), tmp_path, REDIS_URL=REDIS_URL)
    with TestClient(app=create_app(settings)) as client:
        user = make_user(client)
        sign_in(client, user)
        key = next(
            k for k in redis_client.keys("*") if client.cookies["guichet_session"] in k.decode()
        )
        assert (
            SESSION_ABSOLUTE_LIFETIME_S - 10 <= redis_client.ttl(key) <= SESSION_ABSOLUTE_LIFETIME_S
        )
        page = client.get("/compte/securite")
        secret = page.text.split('<code class="secret">')[1].split("<")[0].replace(" ", "")
        post_form(client, "/compte/securite/activer", {"code": pyotp.TOTP(secret).now()})
        sign_out(client)
        client.cookies.clear()
        post_form(client, "/connexion", {"email": user["email"], "password": user["password"]})
        pending = client.cookies["guichet_session"]
        key = next(k for k in redis_client.keys("*") if pending in k.decode())
        assert 0 < redis_client.ttl(key) <= SECOND_FACTOR_WINDOW_S
