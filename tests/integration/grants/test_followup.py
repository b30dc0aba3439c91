"""Grant follow-up through the app: instalments, payments and the ledger, reports and
the proportional reduction, recoveries, the dashboard and the exports."""

import asyncio
import csv
import html
import io
from decimal import Decimal

import httpx
import pytest

from app.grants import ledger, reports, totals
from app.grants.tables import Instalment, LedgerEntry, Recovery
from tests.factories import (
    attach_report_documents,
    csrf_token,
    make_grant,
    make_user,
    post_form,
    run,
    sign_in,
    text_of,
)


def plain(text):
    return html.unescape(text_of(text)).replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture(scope="module")
def people(client):
    return {
        "officer": make_user(client, roles=["officer"]),
        "finance": make_user(client, roles=["finance"]),
        "owner": make_user(client),
        "stranger": make_user(client),
    }


_sessions: dict[int, dict] = {}


def as_(client, person):
    """Act as this person (signed in once per module: sign-ins are rate-limited)."""
    client.cookies.clear()
    if person["id"] not in _sessions:
        sign_in(client, person)
        _sessions[person["id"]] = dict(client.cookies.items())
    for name, value in _sessions[person["id"]].items():
        client.cookies.set(name, value, domain="testserver.local", path="/")


def parts(client, grant):
    return run(
        client,
        lambda: (
            Instalment.select().where(Instalment.grant == grant).order_by(Instalment.position).run()
        ),
    )


def ledger_count(client, grant):
    return run(client, lambda: LedgerEntry.count().where(LedgerEntry.grant == grant).run())


def approve(client, people, grant, position):
    as_(client, people["officer"])
    instalment = parts(client, grant)[position - 1]
    response = post_form(
        client,
        f"/suivi/subventions/{grant}/echeances/{instalment['id']}",
        {"action": "approve"},
    )
    assert response.status_code == 303
    return instalment


def pay(client, people, grant, instalment, amount, key, reference="M-2017-001"):
    as_(client, people["finance"])
    return post_form(
        client,
        f"/suivi/subventions/{grant}/versements",
        {
            "instalment": str(instalment["id"]),
            "amount": amount,
            "value_date": "2017-07-03",
            "reference": reference,
            "key": key,
        },
    )


def attach(client, people, app, kind, *documents):
    """Attach a PDF as each of these documents of the report (its upload form)."""
    as_(client, people["owner"])
    attach_report_documents(client, app, kind, *documents)


def submit_report(
    client, people, app, kind, actuals, narrative="Fait.", confirm="yes", previewed=None
):
    as_(client, people["owner"])
    data = {"narrative": narrative, "action": "submit", "confirm": confirm, **actuals}
    if previewed is not None:
        data["previewed"] = previewed
    return post_form(client, f"/dossiers/{app}/bilans/{kind}", data)


def review(client, people, grant, kind, decision="approve", message=""):
    as_(client, people["officer"])
    return post_form(
        client,
        f"/suivi/subventions/{grant}/bilans/{kind}",
        {"decision": decision, "message": message},
    )


def test_payments_follow_the_schedule_and_refuse_bad_input(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    grant = g["grant"]
    first = parts(client, grant)[0]
    assert first["status"] == "due"  # due at acceptance
    # Not approved yet: refused, nothing recorded.
    response = pay(client, people, grant, first, "100 000", "k1")
    assert response.status_code == 422
    assert "pas validée pour paiement" in plain(response.text)
    approve(client, people, grant, 1)
    for amount, message in [
        ("0", "supérieur à zéro"),
        ("-5", "Saisissez un montant"),
        ("dix euros", "Saisissez un montant"),
        ("100 000,01", "au-dessus de ce qui reste à payer (100 000,00 €)"),
    ]:
        response = pay(client, people, grant, first, amount, f"bad-{amount}")
        assert response.status_code == 422, amount
        assert message in plain(response.text), (amount, plain(response.text)[:400])
        assert amount in html.unescape(response.text)  # what was typed is kept
    assert ledger_count(client, grant) == 0
    assert pay(client, people, grant, first, "100 000", "k-ok").status_code == 303
    # The same form again (double click, replay): still one payment.
    assert pay(client, people, grant, first, "100 000", "k-ok").status_code == 303
    assert ledger_count(client, grant) == 1
    # The same key with another amount is refused.
    response = pay(client, people, grant, first, "90 000", "k-ok")
    assert response.status_code == 422 and "déjà servi" in plain(response.text)
    assert parts(client, grant)[0]["status"] == "paid"
    # A payment on a paid (no longer approved) instalment is refused.
    assert pay(client, people, grant, first, "1", "k-after").status_code == 422
    assert ledger_count(client, grant) == 1


def test_amounts_and_ids_take_only_the_digits_0_to_9(client, people):
    """« １２ » (full-width) was recorded as a payment of 12,00 €; « amount_² » in the
    schedule form was a 500."""
    g = make_grant(client, people["officer"], people["owner"])
    grant = g["grant"]
    approve(client, people, grant, 1)
    first = parts(client, grant)[0]
    response = pay(client, people, grant, first, "１２", "k-fullwidth")
    assert response.status_code == 422
    assert "Saisissez un montant" in plain(response.text)
    assert ledger_count(client, grant) == 0
    as_(client, people["officer"])
    before = [p["amount_cents"] for p in parts(client, grant)]
    response = post_form(
        client,
        f"/suivi/subventions/{grant}/echeancier",
        {"amount_²": "10", "amount_１": "10", "reason": "Avenant"},
    )
    assert response.status_code < 500
    assert [p["amount_cents"] for p in parts(client, grant)] == before


def test_an_english_speaking_finance_officer_pays_the_prefilled_amount(client, people):
    """The amount field was prefilled by stripping « \u00a0€ » from the French format:
    in English it read « €100,000.00 », which the parser refused."""
    import re

    g = make_grant(client, people["officer"], people["owner"])
    grant = g["grant"]
    approve(client, people, grant, 1)
    as_(client, people["finance"])
    client.cookies.set("guichet_lang", "en", domain="testserver.local", path="/")
    page = client.get(f"/suivi/subventions/{grant}").text
    prefilled = re.search(r'id="pay-amount"[^>]*value="([^"]*)"', page)
    assert prefilled and prefilled.group(1) == "100,000.00", prefilled
    first = parts(client, grant)[0]
    response = post_form(
        client,
        f"/suivi/subventions/{grant}/versements",
        {
            "instalment": str(first["id"]),
            "amount": html.unescape(prefilled.group(1)),
            "value_date": "2017-07-03",
            "reference": "M-EN-1",
            "key": "k-english",
        },
    )
    assert response.status_code == 303, plain(response.text)[:300]
    assert ledger_count(client, grant) == 1
    client.cookies.delete("guichet_lang", domain="testserver.local", path="/")


def test_a_reversal_cancels_a_payment_without_editing_it(client, people):
    g = make_grant(client, people["officer"], people["owner"], schedule="single")
    first = approve(client, people, g["grant"], 1)
    assert pay(client, people, g["grant"], first, "200 000", "rev-1").status_code == 303
    entry = run(
        client, lambda: LedgerEntry.select().where(LedgerEntry.grant == g["grant"]).first().run()
    )
    response = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/versements/{entry['id']}/annulation",
        {"reason": "Erreur de RIB", "key": "rev-1-r"},
    )
    assert response.status_code == 303
    rows = run(
        client,
        lambda: (
            LedgerEntry.select()
            .where(LedgerEntry.grant == g["grant"])
            .order_by(LedgerEntry.id)
            .run()
        ),
    )
    assert [(r["kind"], r["amount_cents"]) for r in rows] == [
        ("payment", 20_000_000),
        ("reversal", 20_000_000),
    ]
    assert rows[0] == entry  # the payment itself is untouched
    assert parts(client, g["grant"])[0]["status"] == "approved"
    assert run(client, ledger.balance, g["grant"]).remaining_cents == 20_000_000
    # Paid again, correctly this time.
    assert pay(client, people, g["grant"], first, "200 000", "rev-2").status_code == 303
    assert run(client, ledger.balance, g["grant"]).remaining_cents == 0


def test_twenty_concurrent_payments_record_only_what_is_due(client, people):
    """20 requests at once, each for the whole first instalment, each with its own
    key: one payment is recorded, the others are refused; the ledger never exceeds."""
    g = make_grant(client, people["officer"], people["owner"])
    first = approve(client, people, g["grant"], 1)
    as_(client, people["finance"])
    token = csrf_token(client)
    cookies = dict(client.cookies.items())

    async def fire():
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", cookies=cookies
        ) as http:
            return await asyncio.gather(
                *[
                    http.post(
                        f"/suivi/subventions/{g['grant']}/versements",
                        data={
                            "_csrf_token": token,
                            "instalment": str(first["id"]),
                            "amount": "100 000",
                            "value_date": "2017-07-03",
                            "reference": f"M-{n}",
                            "key": f"concurrent-{g['grant']}-{n}",
                        },
                    )
                    for n in range(20)
                ]
            )

    responses = run(client, fire)
    assert sorted(r.status_code for r in responses) == [303] + [422] * 19
    balance = run(client, ledger.balance, g["grant"])
    assert balance.paid_cents == 10_000_000
    assert ledger_count(client, g["grant"]) == 1


def test_reports_make_instalments_due_and_a_lower_final_spending_reduces_the_last(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    grant, app = g["grant"], g["app"]
    first = approve(client, people, grant, 1)
    pay(client, people, grant, first, "100 000", "red-1")
    # The interim report: a narrative is required.
    response = submit_report(client, people, app, "interim", {}, narrative="")
    assert response.status_code == 422 and "Décrivez" in plain(response.text)
    # Submitting is final: without the confirmation box, refused and nothing submitted.
    unconfirmed = submit_report(client, people, app, "interim", {}, confirm="")
    assert unconfirmed.status_code == 422 and "Cochez la case" in plain(unconfirmed.text)
    assert 'value="Fait."' in unconfirmed.text or ">Fait.<" in unconfirmed.text  # kept
    assert getattr(run(client, reports.find, grant, "interim"), "status", None) != "submitted"
    attach(client, people, app, "interim", "activity")
    assert submit_report(client, people, app, "interim", {}).status_code == 303
    assert review(client, people, grant, "interim", "return").status_code == 303  # needs a message
    assert parts(client, grant)[1]["status"] == "scheduled"
    assert review(client, people, grant, "interim").status_code == 303
    assert parts(client, grant)[1]["status"] == "due"
    second = approve(client, people, grant, 2)
    assert pay(client, people, grant, second, "60 000", "red-2").status_code == 303
    # 50 000 € more is above what the approved instalments leave: refused.
    third = parts(client, grant)[2]
    assert third["status"] == "scheduled"
    assert pay(client, people, grant, second, "50 000", "red-3").status_code == 422
    # The final report: 360 000 € spent of 400 000 € planned -> 180 000 € due.
    attach(client, people, app, "final", "activity", "expenses")
    response = submit_report(
        client, people, app, "final", {"actual_charges_64": "360 000"}, previewed="36000000"
    )
    assert response.status_code == 303
    assert review(client, people, grant, "final").status_code == 303
    page = client.get(f"/suivi/subventions/{grant}")
    assert "180 000,00 €" in plain(page.text)
    assert post_form(client, f"/suivi/subventions/{grant}/reduction").status_code == 303
    amounts = [p["amount_cents"] for p in parts(client, grant)]
    assert amounts == [10_000_000, 6_000_000, 2_000_000]
    balance = run(client, ledger.balance, grant)
    assert (balance.due_cents, balance.remaining_cents) == (18_000_000, 2_000_000)
    assert not run(client, lambda: Recovery.select().where(Recovery.grant == grant).run())


def test_an_avenant_whose_reason_says_reduction_does_not_block_the_reduction(client, people):
    """A reduction was told from an amendment by its reason's text: an avenant typed
    « Réduction de la 2e tranche… » made the real proportional reduction refused."""
    from app.accounts.services import Actor
    from app.grants import services as grant_services

    g = make_grant(client, people["officer"], people["owner"])
    grant = g["grant"]
    rows = parts(client, grant)
    as_(client, people["officer"])
    avenant = {
        f"amount_{rows[1]['id']}": "50 000",
        f"amount_{rows[2]['id']}": "50 000",
        "reason": "Réduction de la 2e tranche à la demande de l'association",
    }
    assert post_form(client, f"/suivi/subventions/{grant}/echeancier", avenant).status_code == 303
    done = run(
        client,
        grant_services.apply_reduction,
        grant,
        planned_cents=40_000_000,
        actual_cents=36_000_000,
        actor=Actor(user_id=people["officer"]["id"]),
    )
    assert done.reduction_cents == 2_000_000
    kinds = [a.kind for a in run(client, grant_services.amendments, grant)]
    assert kinds == ["amendment", "reduction"]
    with pytest.raises(grant_services.GrantError):  # once only
        run(
            client,
            grant_services.apply_reduction,
            grant,
            planned_cents=40_000_000,
            actual_cents=30_000_000,
            actor=Actor(user_id=people["officer"]["id"]),
        )


def test_overpaid_grant_opens_a_recovery_followed_until_received(client, people):
    g = make_grant(client, people["officer"], people["owner"], schedule="single")
    grant, app = g["grant"], g["app"]
    first = approve(client, people, grant, 1)
    pay(client, people, grant, first, "200 000", "rec-1")
    attach(client, people, app, "final", "activity", "expenses")
    submit_report(
        client, people, app, "final", {"actual_charges_64": "300 000"}, previewed="30000000"
    )
    review(client, people, grant, "final")
    assert post_form(client, f"/suivi/subventions/{grant}/reduction").status_code == 303
    recovery = run(client, lambda: Recovery.select().where(Recovery.grant == grant).first().run())
    assert recovery["amount_cents"] == 5_000_000 and recovery["status"] == "open"
    as_(client, people["finance"])
    dashboard = plain(client.get("/finances").text)
    assert "50 000,00 €" in dashboard  # in the open recoveries
    # Paid beyond what is due: « à reverser », never a negative « reste à payer »; the
    # call's totals add up: committed − reductions − paid + recovered = to pay − to recover.
    page = plain(client.get(f"/suivi/subventions/{grant}").text)
    assert "À reverser (versé au-delà du dû) 50 000,00 €" in page
    assert "-50 000" not in page and "Reste à payer" not in page
    scoped = plain(client.get(f"/finances?appel={g['call']}").text)
    for label, amount in (
        ("Engagé (attribué)", "200 000,00 €"),
        ("Réductions", "50 000,00 €"),
        ("Versé", "200 000,00 €"),
        ("Reste à payer", "0,00 €"),
        ("À reverser (versé au-delà du dû)", "50 000,00 €"),
    ):
        assert f"{label} {amount}" in scoped, label
    response = post_form(
        client,
        f"/suivi/subventions/{grant}/reversements/{recovery['id']}",
        {"value_date": "2018-09-01", "reference": "TR-2018-7", "key": "rec-r"},
    )
    assert response.status_code == 303
    balance = run(client, ledger.balance, grant)
    assert (balance.recovered_cents, balance.remaining_cents) == (5_000_000, 0)
    # Kept in the ledger's transactions: the grant's and its call's sums equal the
    # ledger's, and the dashboard shows them.
    assert run(client, totals.check) == []
    kept = run(client, totals.of_calls, [g["call"]])[g["call"]]
    assert (kept.paid, kept.recovered, kept.reduced, kept.to_pay, kept.to_recover) == (
        20_000_000,
        5_000_000,
        5_000_000,
        0,
        0,
    )


def test_an_amendment_keeps_the_total_and_both_versions(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    rows = parts(client, g["grant"])
    as_(client, people["officer"])
    path = f"/suivi/subventions/{g['grant']}/echeancier"
    bad = {f"amount_{p['id']}": "10" for p in rows[1:]} | {"reason": "Avenant n° 1"}
    post_form(client, path, bad)
    assert [p["amount_cents"] for p in parts(client, g["grant"])] == [
        10_000_000,
        6_000_000,
        4_000_000,
    ]
    good = {
        f"amount_{rows[1]['id']}": "70 000",
        f"amount_{rows[2]['id']}": "30 000",
        "reason": "Avenant n° 1",
    }
    assert post_form(client, path, good).status_code == 303
    assert [p["amount_cents"] for p in parts(client, g["grant"])] == [
        10_000_000,
        7_000_000,
        3_000_000,
    ]
    page = plain(client.get(f"/suivi/subventions/{g['grant']}").text)
    assert "Avenant n° 1" in page and "60 000,00 €" in page and "70 000,00 €" in page


def test_the_exports_match_the_ledger_to_the_cent(client, people):
    g = make_grant(client, people["officer"], people["owner"], amount=12_345_679)
    first = approve(client, people, g["grant"], 1)
    assert pay(client, people, g["grant"], first, "61 000", "exp-0").status_code == 303
    wrong = run(
        client, lambda: LedgerEntry.select().where(LedgerEntry.grant == g["grant"]).first().run()
    )
    reversed_ = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/versements/{wrong['id']}/annulation",
        {"reason": "Montant erroné", "key": "exp-0-r"},
    )
    assert reversed_.status_code == 303
    assert pay(client, people, g["grant"], first, "61 728,39", "exp-1").status_code == 303
    as_(client, people["finance"])
    response = client.get(f"/finances/export/versements.csv?appel={g['call']}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))
    # A reversal is a negative number, never text (no leading quote).
    amounts = [r["Montant signé (€)"] for r in rows]
    assert amounts == ["61000,00", "-61000,00", "61728,39"]
    total = sum(Decimal(a.replace(",", ".")) for a in amounts)
    balance = run(client, ledger.balance, g["grant"])
    assert total * 100 == balance.net_paid_cents == 6_172_839
    assert rows[0]["Date de valeur"] == "03/07/2017"
    assert [r["Écriture"] for r in rows] == ["Versement", "Versement annulé", "Versement"]
    for name in ("subventions", "echeances", "versements"):
        assert client.get(f"/finances/export/{name}.xlsx").status_code == 200
    assert client.get("/finances/export/autre.csv").status_code == 404


def test_the_dashboard_and_the_grantee_timeline(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    first = approve(client, people, g["grant"], 1)
    pay(client, people, g["grant"], first, "100 000", "dash-1")
    as_(client, people["finance"])
    page = plain(client.get(f"/finances?appel={g['call']}").text)
    assert "Versé 100 000,00 € (50,0 %)" in page
    assert "Reste à payer 100 000,00 €" in page
    # Per call: every figure, « reste à engager » and the shares to one decimal.
    assert "Reste à engager" in page and "Engagé sur l’enveloppe" in page
    assert "Versé sur le dû, par appel" in page and "100 000,00 € / 200 000,00 € (50,0 %)" in page
    # The monthly chart names its months and axis; its figures are a table beside it.
    assert "Mois de la date de valeur" in page and "juil. 17" in page
    assert "juil. 2017 100 000,00 €" in page
    as_(client, people["owner"])
    mine = plain(client.get(f"/dossiers/{g['app']}/decision").text)
    assert "Versement — 100 000,00 €" in mine
    assert "M-2017-001" not in mine  # the mandate number is internal
    as_(client, people["stranger"])
    assert client.get(f"/dossiers/{g['app']}/bilans/final").status_code == 404
    assert client.get(f"/suivi/subventions/{g['grant']}").status_code == 403


def test_report_documents_are_for_the_organisation_and_staff_only(client, people):
    from tests.factories import MINIMAL_PDF

    g = make_grant(client, people["officer"], people["owner"])
    as_(client, people["owner"])
    sent = client.post(
        f"/dossiers/{g['app']}/bilans/interim/pieces",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file-activity", ("bilan.pdf", MINIMAL_PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303
    from app.grants.tables import ReportAttachment

    doc = run(client, lambda: ReportAttachment.select(ReportAttachment.id).first().run())
    assert client.get(f"/suivi/pieces-de-bilan/{doc['id']}").content == MINIMAL_PDF
    as_(client, people["finance"])
    assert client.get(f"/suivi/pieces-de-bilan/{doc['id']}").status_code == 200
    as_(client, people["stranger"])
    assert client.get(f"/suivi/pieces-de-bilan/{doc['id']}").status_code == 404


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("approve"), st.integers(0, 2)),
        st.tuples(st.just("pay"), st.integers(0, 2), st.integers(-100, 12_000_000)),
        st.tuples(st.just("reverse"), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_no_sequence_of_operations_breaks_the_ledger(client, people, operations):
    """Whatever officers and finance do, in any order: net paid stays between 0 and
    what is due, no instalment is paid beyond its amount, and the ledger only grows."""
    from app.accounts.services import Actor
    from app.grants import services as grants
    from app.grants.services import GrantError

    g = make_grant(client, people["officer"], people["owner"])
    grant = g["grant"]
    actor = Actor(user_id=people["finance"]["id"])
    seen = 0
    for n, op in enumerate(operations):
        rows = parts(client, grant)
        try:
            if op[0] == "approve":
                run(
                    client,
                    grants.transition_instalment,
                    grant,
                    rows[op[1]]["id"],
                    "approve",
                    role="officer",
                    actor=actor,
                )
            elif op[0] == "pay":
                from datetime import date

                run(
                    client,
                    ledger.record_payment,
                    grant,
                    rows[op[1]]["id"],
                    amount_cents=op[2],
                    value_date=date(2017, 7, 3),
                    reference=f"M-{n}",
                    idempotency_key=f"prop-{grant}-{n}",
                    actor=actor,
                )
            else:
                payments = [e for e in run(client, ledger.entries, grant) if e.kind == "payment"]
                if payments:
                    run(
                        client,
                        ledger.reverse_payment,
                        grant,
                        payments[op[1] % len(payments)].id,
                        reason="Erreur",
                        idempotency_key=f"prop-{grant}-{n}-r",
                        actor=actor,
                    )
        except (ledger.LedgerError, GrantError):
            pass
        balance = run(client, ledger.balance, grant)
        assert 0 <= balance.net_paid_cents <= balance.due_cents
        entries = run(client, ledger.entries, grant)
        assert len(entries) >= seen
        seen = len(entries)
        for part in parts(client, grant):
            on_part = ledger.totals(
                (e.kind, e.amount_cents) for e in entries if e.instalment == part["id"]
            )[0]
            assert 0 <= on_part <= part["amount_cents"]
            assert (part["status"] == "paid") == (on_part == part["amount_cents"] and on_part > 0)
        # The sums the finance dashboard reads are kept with every write.
        assert run(client, totals.check) == []


def test_report_reminders_go_once_before_and_once_after_the_deadline(client, people):
    from datetime import UTC, date, datetime

    from app.accounts.services import Actor
    from app.grants import reports
    from app.grants import services as grants
    from tests.factories import emails_to

    g = make_grant(client, people["officer"], people["owner"])
    run(
        client,
        grants.set_deadlines,
        g["grant"],
        None,
        date(2030, 6, 30),
        actor=Actor(user_id=people["officer"]["id"]),
    )

    def remind(day):
        at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        return run(client, reports.send_reminders, at, base_url="http://testserver.local")

    before = len(emails_to(client, people["owner"]["email"]))
    assert remind(date(2030, 6, 1)) == 0  # a month before: nothing yet
    assert remind(date(2030, 6, 20)) == 1
    assert remind(date(2030, 6, 25)) == 0  # once
    assert remind(date(2030, 7, 2)) == 1  # late
    assert remind(date(2030, 7, 9)) == 0
    mails = emails_to(client, people["owner"]["email"])[before:]
    assert len(mails) == 2 and "en retard" in mails[-1]["subject"]


def test_no_payment_before_the_signed_agreement(client, people):
    g = make_grant(client, people["officer"], people["owner"], agreement=False)
    first = approve(client, people, g["grant"], 1)
    response = pay(client, people, g["grant"], first, "100 000", "agr-1")
    assert response.status_code == 422
    assert "convention" in plain(response.text)
    assert ledger_count(client, g["grant"]) == 0
    # A small grant (not above 23 000 €) needs none unless the call asks.
    small = make_grant(
        client, people["officer"], people["owner"], amount=2_000_000, agreement=False
    )
    first = approve(client, people, small["grant"], 1)
    assert pay(client, people, small["grant"], first, "10 000", "agr-2").status_code == 303


def test_cancelling_needs_a_reason_and_lowers_what_is_due(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    third = parts(client, g["grant"])[2]
    as_(client, people["officer"])
    path = f"/suivi/subventions/{g['grant']}/echeances/{third['id']}"
    post_form(client, path, {"action": "cancel", "reason": " "})
    assert parts(client, g["grant"])[2]["status"] == "scheduled"
    assert (
        post_form(client, path, {"action": "cancel", "reason": "Action abandonnée"}).status_code
        == 303
    )
    assert parts(client, g["grant"])[2]["status"] == "cancelled"
    balance = run(client, ledger.balance, g["grant"])
    assert (balance.due_cents, balance.remaining_cents) == (16_000_000, 16_000_000)
    page = plain(client.get(f"/suivi/subventions/{g['grant']}").text)
    assert "Échéance 3 annulée" in page and "Action abandonnée" in page


def test_a_payment_form_shows_every_mistake_at_once(client, people):
    g = make_grant(client, people["officer"], people["owner"])
    first = approve(client, people, g["grant"], 1)
    as_(client, people["finance"])
    page = plain(client.get(f"/suivi/subventions/{g['grant']}").text)
    assert "reste à payer : 100 000,00 €" in page  # the form starts with what is left
    response = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/versements",
        {
            "instalment": str(first["id"]),
            "amount": "abc",
            "value_date": "",
            "reference": "",
            "key": "m-1",
        },
    )
    text = plain(response.text)
    assert response.status_code == 422
    for message in ("Saisissez un montant", "Saisissez une date", "numéro de mandat"):
        assert message in text
    future = pay(client, people, g["grant"], first, "1 000", "m-2")
    assert future.status_code == 303  # today's date is fine
    far = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/versements",
        {
            "instalment": str(first["id"]),
            "amount": "1 000",
            "value_date": "2099-01-01",
            "reference": "M-9",
            "key": "m-3",
        },
    )
    assert far.status_code == 422 and "plus d’un mois" in plain(far.text)
