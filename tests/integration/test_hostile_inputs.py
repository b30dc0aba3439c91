"""Hostile text through the forms of decisions, grants and the API pages: never a 500,
never executed, shown inertly where it is shown (pages and letters)."""

import pytest

from tests.factories import (
    letter_of,
    make_call,
    make_decidable,
    make_grant,
    make_user,
    post_form,
    sign_in,
    sign_out,
    write_letters,
)
from tests.hostile import HOSTILE, inert, pdf_text


@pytest.fixture(scope="module")
def people(client):
    return {
        "officer": make_user(client, roles=["officer"]),
        "finance": make_user(client, roles=["finance"]),
        "owner": make_user(client),
    }


def as_(client, person):
    sign_out(client)
    client.cookies.clear()
    client.app.state.rate_limiter._counts.clear()
    sign_in(client, person)


@pytest.mark.parametrize("text", HOSTILE)
def test_rejection_reasons_are_inert_in_pages_and_letters(client, people, text):
    as_(client, people["officer"])
    call = make_call(client, people["officer"], publish=True)
    app = make_decidable(client, people["owner"], call)
    response = post_form(
        client, f"/instruction/dossiers/{app}/decision", {"outcome": "reject", "reason": text}
    )
    assert response.status_code in (303, 422), response.status_code
    if response.status_code == 422:
        return  # refused with a message (too long)
    page = client.get(f"/instruction/appels/{call}/decisions")
    assert page.status_code == 200
    inert(page.text, text)
    post_form(
        client,
        f"/instruction/appels/{call}/decisions/reglages",
        {
            "deliberation_reference": "CP 1",
            "deliberation_date": "2017-05-17",
            "schedule_preset": "single",
        },
    )
    confirm = client.get(f"/instruction/appels/{call}/decisions/publier").text
    token = confirm.split('name="token" value="')[1].split('"')[0]
    assert (
        post_form(
            client, f"/instruction/appels/{call}/decisions/publier", {"token": token}
        ).status_code
        == 303
    )
    write_letters(client)
    data = client.get(f"/instruction/dossiers/{app}/courriers/{letter_of(client, app)}").content
    extracted = pdf_text(data)
    if text.startswith("<font"):
        assert "<font color=red>rouge</font>" in extracted  # shown as text, not markup


@pytest.mark.parametrize("text", HOSTILE)
def test_report_narratives_payment_references_and_token_names(client, people, text):
    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["owner"])
    saved = post_form(
        client, f"/dossiers/{g['app']}/bilans/interim", {"narrative": text, "action": "save"}
    )
    assert saved.status_code in (303, 422)
    page = client.get(f"/dossiers/{g['app']}/bilans/interim")
    assert page.status_code == 200
    inert(page.text, text)
    as_(client, people["finance"])
    paid = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/versements",
        {
            "instalment": "1",
            "amount": text[:30],
            "value_date": text[:20],
            "reference": text,
            "key": text[:64],
        },
    )
    assert paid.status_code == 422
    inert(paid.text, text)
    token = post_form(client, "/compte/api", {"name": text})
    assert token.status_code in (200, 422)
    inert(client.get("/compte/api").text, text)
    for name in ("appel", "financeur"):
        assert client.get("/finances", params={name: text[:50]}).status_code == 200


def test_nul_characters_never_reach_the_database(client, people):
    as_(client, people["officer"])
    call = make_call(client, people["officer"], publish=True)
    listing = client.get(f"/instruction/appels/{call}/dossiers", params={"q": "a\x00b"})
    assert listing.status_code == 200
    too_big = client.post(
        f"/instruction/appels/{call}/decisions/reglages",
        content=b"x=" + b"a" * (client.app.state.settings.max_body_bytes + 10),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert too_big.status_code == 413
