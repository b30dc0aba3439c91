"""Factories: real rows through the services, run in the app's own event loop."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable

from app.accounts.services import create_user
from app.accounts.tables import StaffRole

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def run(client, func, /, *args, **kwargs):
    """Run ``await func(*args, **kwargs)`` in the loop the app runs in."""
    return client.blocking_portal.call(functools.partial(func, *args, **kwargs))


def make_user(client, roles: Iterable[StaffRole | str] = (), **fields) -> dict:
    n = next(_seq)
    values = {
        "email": f"person{n}@test.guichet.test",
        "full_name": f"Person {n} Test",
        "password": PASSWORD,
    }
    values.update(fields)
    user_id = run(client, create_user, roles=[StaffRole(r) for r in roles], **values)
    return {"id": user_id, **values}


def csrf_token(client) -> str:
    """The CSRF token the app gives this client (fetching a page if needed)."""
    if "guichet_csrf" not in client.cookies:
        client.get("/connexion")
    return client.cookies["guichet_csrf"]


def sign_in(client, user: dict) -> None:
    response = client.post(
        "/connexion",
        data={
            "email": user["email"],
            "password": user["password"],
            "_csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def sign_out(client) -> None:
    client.post("/deconnexion", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)


def text_of(html: str) -> str:
    """Visible text, whitespace collapsed (for assertions on what people read)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def set_cookie(client, name: str, value: str) -> None:
    """Set a cookie the way the browser holds the server's (same domain)."""
    client.cookies.set(name, value, domain="testserver.local", path="/")


def page_with_session(client, session_id: str, path: str = "/") -> str:
    """What someone holding only ``session_id`` sees at ``path`` (cookies restored after)."""
    saved = [(c.name, c.value, c.domain, c.path) for c in client.cookies.jar]
    client.cookies.clear()
    set_cookie(client, "guichet_session", session_id)
    try:
        return client.get(path).text
    finally:
        client.cookies.clear()
        for name, value, domain, cookie_path in saved:
            client.cookies.set(name, value, domain=domain, path=cookie_path)
