"""Recoveries opened by hand (not only through the final report's reduction), paid back
in parts: each step through the ledger, the kept totals right, the grantee sent the
notice of what is left (PDF kept as sent, e-mail)."""

import io

import pypdf
import pytest

from app.grants import ledger, totals
from app.grants.tables import GrantNotice, Instalment, LedgerEntry, Recovery
from tests.factories import emails_to, make_grant, make_user, post_form, run, sign_in, text_of


@pytest.fixture(scope="module")
def people(client):
    return {
        "officer": make_user(client, roles=["officer"]),
        "finance": make_user(client, roles=["finance"]),
        "owner": make_user(client),
    }


_sessions: dict[int, dict] = {}


def as_(client, person):
    client.cookies.clear()
    if person["id"] not in _sessions:
        sign_in(client, person)
        _sessions[person["id"]] = dict(client.cookies.items())
    for name, value in _sessions[person["id"]].items():
        client.cookies.set(name, value, domain="testserver.local", path="/")


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def paid_grant(client, people):
    """A 200 000 € grant in one instalment, paid in full."""
    g = make_grant(client, people["officer"], people["owner"], schedule="single")
    part = run(
        client, lambda: Instalment.select().where(Instalment.grant == g["grant"]).first().run()
    )
    as_(client, people["officer"])
    url = f"/suivi/subventions/{g['grant']}/echeances/{part['id']}"
    assert post_form(client, url, {"action": "approve"}).status_code == 303
    as_(client, people["finance"])
    payment = {
        "instalment": str(part["id"]),
        "amount": "200 000",
        "value_date": "2017-07-03",
        "reference": "M-1",
        "key": f"pay-{g['grant']}",
    }
    assert (
        post_form(client, f"/suivi/subventions/{g['grant']}/versements", payment).status_code == 303
    )
    return g


def notice_text(client, grant, notice):
    response = client.get(f"/suivi/subventions/{grant}/avis/{notice['id']}")
    assert response.status_code == 200
    return plain(
        " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    )


def test_a_recovery_opened_by_hand_is_paid_back_in_parts(client, people):
    g = paid_grant(client, people)
    grant = g["grant"]
    as_(client, people["officer"])
    too_much = post_form(
        client,
        f"/suivi/subventions/{grant}/reversements",
        {"amount": "250 000", "reason": "Action non réalisée"},
        follow_redirects=True,
    )
    assert too_much.status_code == 422 and "au-dessus de ce qui a été versé" in plain(too_much.text)
    assert "Action non réalisée</textarea>" in too_much.text  # what was typed stays
    no_reason = post_form(
        client,
        f"/suivi/subventions/{grant}/reversements",
        {"amount": "30 000", "reason": " "},
        follow_redirects=True,
    )
    assert no_reason.status_code == 422 and "Indiquez le motif du reversement" in no_reason.text
    opened = post_form(
        client,
        f"/suivi/subventions/{grant}/reversements",
        {"amount": "30 000", "reason": "Le festival d’automne n’a pas eu lieu."},
    )
    assert opened.status_code == 303
    (recovery,) = run(client, lambda: Recovery.select().where(Recovery.grant == grant).run())
    assert (recovery["amount_cents"], recovery["status"]) == (3_000_000, "open")
    assert run(client, totals.check) == []
    money = run(client, ledger.balance, grant)
    assert (money.due_cents, money.remaining_cents) == (17_000_000, -3_000_000)

    (first,) = run(client, lambda: GrantNotice.select().where(GrantNotice.grant == grant).run())
    assert first["kind"] == "recovery" and first["recovery_cents"] == 3_000_000
    text = notice_text(client, grant, first)
    assert "Avis de reversement" in text and "Le festival d’automne n’a pas eu lieu." in text
    assert (
        "30 000,00 €" in text
        and "trente mille euros" in text
        and "Voies et délais de recours" in text
    )
    (mail,) = [
        m for m in emails_to(client, people["owner"]["email"]) if m["template"] == "grant_recovery"
    ]
    assert "30 000,00 €" in plain(mail["body_text"])

    # Part of it paid back: the recovery stays open, a new notice says what is left.
    as_(client, people["finance"])
    part = {"amount": "10 000", "value_date": "2018-01-15", "reference": "TR-1", "key": "tr-1"}
    url = f"/suivi/subventions/{grant}/reversements/{recovery['id']}"
    done = post_form(client, url, part, follow_redirects=True)
    assert "20 000,00 € reste à reverser" in plain(done.text)
    assert post_form(client, url, part).status_code == 303  # the same form again: nothing new
    assert (
        run(client, lambda: LedgerEntry.count().where(LedgerEntry.recovery == recovery["id"]).run())
        == 1
    )
    notices = run(
        client,
        lambda: (
            GrantNotice.select().where(GrantNotice.grant == grant).order_by(GrantNotice.id).run()
        ),
    )
    assert len(notices) == 2 and notices[1]["recovery_cents"] == 2_000_000
    update = notice_text(client, grant, notices[1])
    assert "Déjà reversé 10 000,00 €" in update and "À reverser 20 000,00 €" in update
    assert run(client, totals.check) == []
    page = plain(client.get(f"/suivi/subventions/{grant}").text)
    assert "10 000,00 € reversés, 20 000,00 € restants" in page
    dashboard = plain(text_of(client.get("/finances").text))
    assert "20 000,00 € (sur 30 000,00 €)" in dashboard  # what is left, in the open ones

    above = post_form(
        client, url, {**part, "amount": "25 000", "key": "tr-2"}, follow_redirects=True
    )
    assert "au-dessus de ce qui reste à reverser" in plain(above.text)
    # The rest (amount left empty: all that is left): received, nothing more to pay.
    rest = post_form(client, url, {"value_date": "2018-02-15", "reference": "TR-2", "key": "tr-3"})
    assert rest.status_code == 303
    again = run(
        client, lambda: Recovery.select().where(Recovery.id == recovery["id"]).first().run()
    )
    assert again["status"] == "received"
    money = run(client, ledger.balance, grant)
    assert (money.recovered_cents, money.remaining_cents) == (3_000_000, 0)
    assert run(client, totals.check) == []
    assert (
        post_form(
            client, url, {"value_date": "2018-02-15", "reference": "TR-2", "key": "tr-3"}
        ).status_code
        == 303
    )
    assert (
        run(client, lambda: LedgerEntry.count().where(LedgerEntry.recovery == recovery["id"]).run())
        == 2
    )


def test_no_recovery_while_instalments_are_left_to_pay_and_only_officers_open_one(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["finance"])
    assert (
        post_form(
            client, f"/suivi/subventions/{g['grant']}/reversements", {"amount": "1"}
        ).status_code
        == 403
    )
    as_(client, people["officer"])
    refused = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/reversements",
        {"amount": "1 000", "reason": "Erreur"},
        follow_redirects=True,
    )
    assert refused.status_code == 422 and "annulez-les avant" in refused.text
    assert run(client, lambda: Recovery.count().where(Recovery.grant == g["grant"]).run()) == 0
