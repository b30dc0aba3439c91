"""What arrives on the wire: text that is not UTF-8, clients that leave mid-body."""

import asyncio
import logging

from app.accounts.services import get_user
from tests.factories import csrf_token, make_user, run, sign_in, sign_out

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _post_raw(client, path: str, body: bytes, **headers):
    token = csrf_token(client)
    return client.post(
        path,
        content=b"_csrf_token=" + token.encode() + b"&" + body,
        headers={**FORM, **headers},
        follow_redirects=False,
    )


def test_form_text_that_is_not_utf8_is_refused_and_nothing_is_stored(client):
    user = make_user(client, full_name="Camille Martin")
    sign_in(client, user)
    for body in (b"full_name=Ren%E9&language=fr", b"full_name=Ren\xe9&language=fr"):
        response = _post_raw(client, "/compte", body)
        assert response.status_code == 400, body
        assert "Requête incorrecte" in response.text or "Bad request" in response.text
    assert run(client, get_user, user["id"])["full_name"] == "Camille Martin"
    sign_out(client)


def test_utf8_sent_without_percent_encoding_is_read_as_utf8(client):
    """Litestar reads form bytes as Latin-1: « René » was stored as « RenÃ© »."""
    user = make_user(client, full_name="Camille Martin")
    sign_in(client, user)
    response = _post_raw(client, "/compte", "full_name=René Lefèvre&language=fr".encode())
    assert response.status_code == 303
    assert run(client, get_user, user["id"])["full_name"] == "René Lefèvre"
    sign_out(client)


def test_a_query_string_that_is_not_utf8_is_refused(client):
    assert client.get("/appels?q=%FF%FE").status_code == 400
    assert client.get("/appels?q=%C3%A9").status_code == 200


def test_multipart_text_that_is_not_utf8_is_a_400_not_a_500(client):
    user = make_user(client)
    sign_in(client, user)
    token = csrf_token(client)
    boundary = "xyz"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="full_name"\r\n\r\n'
        ).encode()
        + b"Ren\xe9\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/compte",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    assert response.status_code in (400, 415), response.status_code
    sign_out(client)


def test_a_client_that_leaves_mid_body_is_logged_as_such_not_as_a_server_error(app, caplog):
    """7 of 100 announced bytes, then the connection closes: no 500, no traceback."""
    messages = [{"type": "http.request", "body": b"email=a", "more_body": True}]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/connexion",
        "raw_path": b"/connexion",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver.local"),
            (b"content-type", b"multipart/form-data; boundary=x"),
            (b"content-length", b"100"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert not any(r.exc_info for r in caplog.records)
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert starts and starts[0]["status"] < 500
