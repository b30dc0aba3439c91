"""Public pages and the health check."""

import pytest

from app.funders.services import ensure_funder
from tests.factories import run

FUNDERS = ("Région Hauts-de-Test", "Département de l’Essai")


@pytest.fixture(scope="module")
def funders(client) -> tuple[str, ...]:
    for n, name in enumerate(FUNDERS):
        run(
            client,
            ensure_funder,
            name=name,
            slug=f"pages-{n}",
            kind="région",
            address="",
            website="",
        )
    return FUNDERS


def test_home_lists_the_funders_in_french(client, funders):
    response = client.get("/")
    assert response.status_code == 200
    assert all(name in response.text for name in funders)
    assert "Aller au contenu" in response.text  # skip link


def test_boosted_request_gets_the_full_page_and_a_partial_request_only_content(client, funders):
    boosted = client.get("/financeurs", headers={"hx-request": "true", "hx-boosted": "true"})
    assert "<html" in boosted.text
    partial = client.get("/financeurs", headers={"hx-request": "true"})
    assert "<html" not in partial.text and funders[0] in partial.text


def test_static_assets_have_cache_busting_urls(client):
    html = client.get("/").text
    assert "/static/css/guichet.css?v=" in html
    assert "/static/vendor/htmx-2.0.11.min.js?v=" in html
    assert 'name="htmx-config"' in html and '"allowEval":false' in html


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
