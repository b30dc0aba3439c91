"""Public pages and the health check."""

from app import demo
from tests.factories import run


def test_home_lists_the_demo_funders_in_french(client):
    run(client, demo.load, if_empty=True, settings=client.app.state.settings)
    response = client.get("/")
    assert response.status_code == 200
    assert "Région Île-de-France" in response.text
    assert "Région Centre-Val de Loire" in response.text
    assert "Aller au contenu" in response.text  # skip link


def test_boosted_request_gets_the_full_page_and_a_partial_request_only_content(client):
    boosted = client.get("/financeurs", headers={"hx-request": "true", "hx-boosted": "true"})
    assert "<html" in boosted.text
    partial = client.get("/financeurs", headers={"hx-request": "true"})
    assert "<html" not in partial.text and "Région Île-de-France" in partial.text


def test_static_assets_have_cache_busting_urls(client):
    html = client.get("/").text
    assert "/static/css/guichet.css?v=" in html
    assert "/static/vendor/htmx-2.0.11.min.js?v=" in html
    assert 'name="htmx-config"' in html and '"allowEval":false' in html


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
