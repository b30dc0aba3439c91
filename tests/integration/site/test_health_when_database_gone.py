"""/healthz turns 503 when the database is gone (own module: it destroys its database)."""

from litestar.testing import TestClient

from app.main import create_app
from tests.conftest import make_settings


def test_healthz_turns_503_when_the_database_is_gone(databases, tmp_path):
    url = databases.fresh_url()
    app = create_app(make_settings(url, tmp_path))
    with TestClient(app=app) as client:
        assert client.get("/healthz").status_code == 200
        databases.drop(url)
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable"}
