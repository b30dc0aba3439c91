"""Password guesses are counted per client and account, so that nobody can lock the
owner out by failing their password on purpose (OWASP's device cookies)."""

import pytest
from litestar.testing import transport

from app.accounts import lockout
from app.core.ratelimit import Limit
from tests.factories import make_user, post_form, set_cookie, sign_out

ATTACKER, OWNER, ELSEWHERE = "198.51.100.7", "203.0.113.9", "192.0.2.44"


@pytest.fixture
def address(monkeypatch):
    """Choose the client address the app sees: Litestar's test client always says
    "testclient" (the transport builds the ASGI scope; nothing of ours is replaced)."""
    current = {"host": "testclient"}
    build_scope = transport.TestClientTransport.parse_request

    def parse_request(self, request):
        scope = build_scope(self, request)
        scope["client"] = (current["host"], 50000)
        return scope

    monkeypatch.setattr(transport.TestClientTransport, "parse_request", parse_request)

    def use(host: str) -> None:
        current["host"] = host

    yield use


@pytest.fixture(autouse=True)
def fresh_counters(client):
    client.app.state.rate_limiter._counts.clear()
    client.cookies.clear()
    yield
    client.app.state.rate_limiter._counts.clear()
    client.cookies.clear()


def attempt(client, email, password="wrong password!!"):
    return post_form(client, "/connexion", {"email": email, "password": password})


def as_stranger(client) -> None:
    """A browser that never signed in here (no cookies at all)."""
    client.cookies.clear()


def device_cookie_of(client, user) -> str:
    """Sign in once from a fresh browser and keep what it was given to remember it."""
    as_stranger(client)
    signed = attempt(client, user["email"], user["password"])
    assert signed.status_code == 303
    cookie = client.cookies["guichet_device"]
    sign_out(client)
    as_stranger(client)
    return cookie


def with_device(client, cookie: str) -> None:
    as_stranger(client)
    set_cookie(client, "guichet_device", cookie)


def test_a_guesser_elsewhere_does_not_lock_the_owner_out(client, address):
    owner = make_user(client)
    address(ATTACKER)
    for _ in range(5):
        assert attempt(client, owner["email"]).status_code == 422
    # The guesser's own client is refused, even with the right password.
    refused = attempt(client, owner["email"], owner["password"])
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    # The owner, at another address and in a browser that never signed in before.
    address(OWNER)
    as_stranger(client)
    assert attempt(client, owner["email"], owner["password"]).status_code == 303
    sign_out(client)
    # The guesser is still refused: the owner's success reset only the owner's count.
    address(ATTACKER)
    as_stranger(client)
    assert attempt(client, owner["email"]).status_code == 429


def test_the_owners_browser_gets_in_at_the_guessers_address(client, address):
    """An office behind one address: a colleague guesses, the owner's browser (which
    signed in before) still gets in; a browser that never did is refused there."""
    owner = make_user(client)
    address(OWNER)
    cookie = device_cookie_of(client, owner)
    address(ATTACKER)
    for _ in range(5):
        attempt(client, owner["email"])
    assert attempt(client, owner["email"], owner["password"]).status_code == 429
    with_device(client, cookie)
    assert attempt(client, owner["email"], owner["password"]).status_code == 303
    sign_out(client)


def test_the_ceiling_refuses_new_clients_not_the_owners_browser(client, address, monkeypatch):
    """Guesses spread over many addresses meet the account's ceiling (lowered here from
    100 an hour to 10, to spare 100 password hashes): a browser that never signed in is
    refused from any address; the owner's browser gets in, from a new address too."""
    monkeypatch.setattr(
        lockout, "SIGN_IN_CEILING_PER_ACCOUNT", Limit("sign_in_account_ceiling", 10, 3600)
    )
    owner = make_user(client)
    address(OWNER)
    cookie = device_cookie_of(client, owner)
    for n in range(2):
        address(f"198.51.100.{n + 1}")
        for _ in range(5):
            assert attempt(client, owner["email"]).status_code == 422
    address(ELSEWHERE)
    as_stranger(client)
    refused = attempt(client, owner["email"], owner["password"])
    assert refused.status_code == 429 and "Trop de tentatives" in refused.text
    with_device(client, cookie)
    assert attempt(client, owner["email"], owner["password"]).status_code == 303
    sign_out(client)
    # Other accounts are not slowed down by this one's ceiling.
    other = make_user(client)
    as_stranger(client)
    assert attempt(client, other["email"], other["password"]).status_code == 303
    sign_out(client)


def test_a_trusted_browser_has_its_own_small_count(client, address):
    owner = make_user(client)
    address(OWNER)
    cookie = device_cookie_of(client, owner)
    with_device(client, cookie)
    for _ in range(lockout.SIGN_IN_PER_DEVICE.max_hits):
        assert attempt(client, owner["email"]).status_code == 422
    assert attempt(client, owner["email"], owner["password"]).status_code == 429
    # Only that browser is refused: without its cookie, at the same address, the
    # owner is a client that has not guessed.
    as_stranger(client)
    assert attempt(client, owner["email"], owner["password"]).status_code == 303
    sign_out(client)


def test_a_device_cookie_trusts_one_account_and_cannot_be_forged(client, address):
    owner, other = make_user(client), make_user(client)
    address(OWNER)
    cookie = device_cookie_of(client, other)
    nonce, signature = cookie.split("~")[0].split(".")
    for presented in (cookie, f"{nonce}.{'0' * len(signature)}", "garbage", "a.b~c.d~~"):
        client.app.state.rate_limiter._counts.clear()
        address(ATTACKER)
        with_device(client, presented)
        for _ in range(5):
            assert attempt(client, owner["email"]).status_code == 422
        assert attempt(client, owner["email"], owner["password"]).status_code == 429, presented


def test_one_browser_is_remembered_for_several_accounts(client, address):
    first, second = make_user(client), make_user(client)
    address(OWNER)
    attempt(client, first["email"], first["password"])
    sign_out(client)
    attempt(client, second["email"], second["password"])
    sign_out(client)
    cookie = client.cookies["guichet_device"]
    assert len(cookie.split("~")) == 2
    address(ATTACKER)
    for person in (first, second):
        as_stranger(client)
        for _ in range(5):
            attempt(client, person["email"])
        with_device(client, cookie)
        assert attempt(client, person["email"], person["password"]).status_code == 303
        sign_out(client)


def test_reauthentication_and_password_change_are_not_locked_by_a_guesser(client, address):
    owner = make_user(client)
    address(OWNER)
    attempt(client, owner["email"], owner["password"])
    session = client.cookies["guichet_session"]
    address(ATTACKER)
    as_stranger(client)
    for _ in range(6):
        attempt(client, owner["email"])
    # The owner's session, in a browser that keeps no device cookie: their address
    # has not guessed.
    address(OWNER)
    as_stranger(client)
    set_cookie(client, "guichet_session", session)
    confirmed = post_form(client, "/connexion/confirmer", {"password": owner["password"]})
    assert confirmed.status_code == 303
    changed = post_form(
        client,
        "/compte/mot-de-passe",
        {
            "current_password": owner["password"],
            "new_password": "another long passphrase",
            "new_password_again": "another long passphrase",
        },
    )
    assert changed.status_code == 303
    sign_out(client)


def test_wrong_passwords_on_the_reauthentication_page_are_counted(client, address):
    owner = make_user(client)
    address(OWNER)
    attempt(client, owner["email"], owner["password"])
    client.cookies.delete("guichet_device")  # as a browser that does not keep it
    statuses = [
        post_form(client, "/connexion/confirmer", {"password": "not the password"}).status_code
        for _ in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    sign_out(client)
