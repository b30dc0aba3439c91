"""Answers kept through an ended session come back to their person only (or, kept for
nobody known, only into a file of the person's own organisation): a shared computer
does not hand one member's typing to another."""

import time
import types

import pytest

from app.accounts import sessions
from app.core import kept_forms
from app.organisations.tables import Membership
from tests.factories import (
    csrf_token,
    make_application,
    make_call,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
)
from tests.integration.applications.test_journey import call_of, draft_of

KEPT = "Vos réponses non enregistrées ont été conservées."


@pytest.fixture
def later(monkeypatch):
    def move(seconds=2 * 3600 + 60):
        real = time.time
        monkeypatch.setattr(sessions, "time", types.SimpleNamespace(time=lambda: real() + seconds))

    yield move
    monkeypatch.undo()


def _sign_in_with_cookie(client, user, token, page):
    client.cookies.set(kept_forms.COOKIE, token, domain="testserver.local", path="/")
    client.post(
        "/connexion",
        data={
            "email": user["email"],
            "password": user["password"],
            "next": page,
            "_csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    return client.get(page)


def test_a_colleague_on_the_same_browser_does_not_get_anothers_kept_answers(
    client, later, monkeypatch
):
    officer, owner, colleague = (
        make_user(client, roles=["officer"]),
        make_user(client),
        make_user(client),
    )
    org = make_organisation(client, owner)
    run(
        client,
        lambda: Membership.insert(
            Membership(organisation=org, user=colleague["id"], role="member")
        ).run(),
    )
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    key = call_of(client, call_id)["form"]["sections"][0]["fields"][0]["key"]
    page = f"/dossiers/{app_id}"
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    later()
    saved = post_form(
        client, page, {"title": "Projet de la présidente", key: "Secret", "version": str(version)}
    )
    assert saved.status_code == 303
    token = client.cookies.get(kept_forms.COOKIE)
    assert token
    monkeypatch.undo()

    client.cookies.clear()
    seen = _sign_in_with_cookie(client, colleague, token, page)
    assert seen.status_code == 200
    assert KEPT not in seen.text and "Projet de la présidente" not in seen.text
    sign_out(client)

    client.cookies.clear()
    seen = _sign_in_with_cookie(client, owner, token, page)
    assert KEPT in seen.text and "Projet de la présidente" in seen.text


def test_answers_kept_for_nobody_known_go_only_into_a_file_of_ones_organisation(client):
    officer, owner, other = (
        make_user(client, roles=["officer"]),
        make_user(client),
        make_user(client),
    )
    org, other_org = make_organisation(client, owner), make_organisation(client, other)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    other_app = make_application(client, other, other_org, call_id)
    # Kept for no known person, for a file of ``org`` (a page, then one of another org).
    for kept_page, who, shown in (
        (f"/dossiers/{other_app}", owner, False),
        (f"/dossiers/{app_id}", other, False),
        (f"/dossiers/{app_id}", owner, True),
    ):
        token = kept_forms.keep(
            client.app.state.settings.data_dir,
            page=kept_page,
            user_id=None,
            values={"title": "Tapé sans session"},
            reason="session_ended",
        )
        client.cookies.clear()
        seen = _sign_in_with_cookie(client, who, token, kept_page)
        assert ("Tapé sans session" in seen.text) is shown, (kept_page, who["email"])
        sign_out(client)
