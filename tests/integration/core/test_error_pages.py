"""Error pages: HTML in the user's language; htmx gets a partial, never JSON."""

from tests.factories import text_of


def test_404_in_french_by_default(client):
    client.cookies.clear()
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in response.text
    assert "Page introuvable" in response.text


def test_404_in_english_after_switching(client):
    client.cookies.clear()
    switch = client.get("/langue?lang=en&suivant=/nulle-part", follow_redirects=False)
    assert switch.status_code == 303
    assert switch.headers["location"] == "/nulle-part"
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert '<html lang="en">' in response.text
    assert "Page not found" in response.text
    client.cookies.clear()


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = client.get(
            "/langue", params={"lang": "en", "suivant": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/"
    client.cookies.clear()


def test_405_page_says_which_methods_are_allowed(client):
    response = client.request("PUT", "/financeurs")
    assert response.status_code == 405
    assert "Méthode non autorisée" in response.text
    assert "GET" in response.headers.get("allow", "")


def test_htmx_error_is_a_partial_swapped_into_main(client):
    response = client.get("/nulle-part", headers={"hx-request": "true"})
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#main"
    assert "<html" not in response.text
    assert "Page introuvable" in text_of(response.text)


def test_boosted_navigation_gets_the_whole_error_page(client):
    response = client.get("/nulle-part", headers={"hx-request": "true", "hx-boosted": "true"})
    assert "<html" in response.text
    assert "hx-retarget" not in response.headers


def test_unexpected_error_shows_no_stack_trace(app, client, monkeypatch):
    from app.site import routes

    async def broken():
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(routes, "list_funders", broken)
    response = client.get("/financeurs")
    assert response.status_code == 500
    assert "Une erreur est survenue" in response.text
    assert "hunter2" not in response.text and "Traceback" not in response.text
