"""Payment batches: finance selects approved instalments, exports them for the
accounting system (read back as French Excel and openpyxl read them), marks them paid
through the ledger — idempotent, kept totals right — and every export is audited
without the IBAN."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.core import audit
from app.grants import totals
from app.grants.tables import Grant, Instalment, LedgerEntry, PaymentBatchLine
from tests.factories import make_grant, make_user, post_form, run, sign_in


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


def approved_first(client, people, amount):
    """A grant whose first instalment (50 %) is approved for payment: (grant, instalment)."""
    g = make_grant(client, people["officer"], people["owner"], amount=amount)
    first = run(
        client,
        lambda: (
            Instalment.select()
            .where((Instalment.grant == g["grant"]) & (Instalment.position == 1))
            .first()
            .run()
        ),
    )
    as_(client, people["officer"])
    response = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/echeances/{first['id']}",
        {"action": "approve"},
    )
    assert response.status_code == 303
    return g, first


def make_batch(client, people, *instalments):
    as_(client, people["finance"])
    page = client.get("/finances/lots?tous=1").text
    for i in instalments:
        assert f'value="{i["id"]}" id="batch-{i["id"]}" checked' in page
    response = post_form(
        client, "/finances/lots", {"instalment": [str(i["id"]) for i in instalments]}
    )
    assert response.status_code == 303, response.text
    return int(re.search(r"/finances/lots/(\d+)$", response.headers["location"]).group(1))


def french_excel(text):
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def test_a_batch_is_exported_then_marked_paid_once(client, people):
    g1, i1 = approved_first(client, people, 12_345_679)
    g2, i2 = approved_first(client, people, 2_000_000)
    batch = make_batch(client, people, i1, i2)
    # Finance's « À traiter » leads to where the work is done.
    assert 'href="/finances/lots"' in client.get("/a-traiter").text
    page = client.get(f"/finances/lots/{batch}").text
    assert "61 728,39" in page.replace("\u202f", " ").replace("\xa0", " "), page[
        page.find("<tbody") :
    ][:1500]

    # An instalment is in one batch to pay at most.
    again = post_form(client, "/finances/lots", {"instalment": [str(i1["id"])]})
    assert again.status_code == 422 and "déjà dans un lot" in again.text

    # The CSV opens in French Excel: numbers with a decimal comma, the bank details.
    export = client.get(f"/finances/lots/{batch}/export/lot-{batch}.csv")
    assert export.status_code == 200
    rows = french_excel(export.text)
    assert [r["Montant (€)"] for r in rows] == ["61728,39", "10000,00"]
    assert sum(Decimal(r["Montant (€)"].replace(",", ".")) for r in rows) == Decimal("71728.39")
    assert rows[0]["IBAN"].startswith("FR") and len(rows[0]["IBAN"]) == 27
    assert rows[0]["SIRET"].isdigit() and rows[0]["Échéance"] == "1"
    # Each export is in the trail, never the IBAN.
    entries, _n = run(client, audit.search, object_type="payment_batch", object_id=batch)
    assert [e["action"] for e in entries] == ["grants.batch_exported", "grants.batch_created"]
    assert rows[0]["IBAN"] not in str(entries)

    # The workbook: amounts as euros, a totals row, frozen bold header, filter.
    workbook = client.get(f"/finances/lots/{batch}/export/lot-{batch}.xlsx")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    header = [c.value for c in sheet[1]]
    amount = header.index("Montant (€)") + 1
    assert sheet.cell(2, amount).value == 61728.39 and "€" in sheet.cell(2, amount).number_format
    assert sheet.cell(4, 1).value == "Total" and sheet.cell(4, amount).value.startswith("=SUBTOTAL")
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref and sheet.cell(1, 1).font.b

    # Marking paid: a mandate number is needed (the batch's or each line's).
    refused = post_form(client, f"/finances/lots/{batch}/paiement", {"value_date": "2017-07-03"})
    assert refused.status_code == 422 and "numéro de mandat" in refused.text
    assert (
        run(client, lambda: LedgerEntry.count().where(LedgerEntry.grant == g1["grant"]).run()) == 0
    )

    line2 = run(
        client,
        lambda: (
            PaymentBatchLine.select(PaymentBatchLine.id)
            .where(PaymentBatchLine.instalment == i2["id"])
            .first()
            .run()
        ),
    )["id"]
    form = {"mandate": "M-2017-100", "value_date": "2017-07-03", f"mandate_{line2}": "M-2017-101"}
    done = post_form(client, f"/finances/lots/{batch}/paiement", form)
    assert done.status_code == 303
    entries = run(
        client,
        lambda: (
            LedgerEntry.select()
            .where(LedgerEntry.grant.is_in([g1["grant"], g2["grant"]]))
            .order_by(LedgerEntry.id)
            .run()
        ),
    )
    assert [(e["amount_cents"], e["reference"]) for e in entries] == [
        (6_172_839, "M-2017-100"),
        (1_000_000, "M-2017-101"),
    ]
    assert entries[0]["value_date"] == date(2017, 7, 3)
    statuses = run(
        client,
        lambda: (
            Instalment.select(Instalment.status)
            .where(Instalment.id.is_in([i1["id"], i2["id"]]))
            .run()
        ),
    )
    assert {s["status"] for s in statuses} == {"paid"}

    # Twice: nothing new; the kept totals agree with the ledger.
    twice = post_form(client, f"/finances/lots/{batch}/paiement", form, follow_redirects=True)
    assert "déjà marqué payé" in twice.text
    count = run(
        client,
        lambda: (
            LedgerEntry.count().where(LedgerEntry.grant.is_in([g1["grant"], g2["grant"]])).run()
        ),
    )
    assert count == 2
    assert run(client, totals.check) == []
    # Paid lines leave the list of what waits for a batch.
    waiting = client.get("/finances/lots").text
    assert f'id="batch-{i1["id"]}"' not in waiting


def test_a_line_paid_otherwise_is_skipped_with_a_message(client, people):
    g, first = approved_first(client, people, 1_000_000)
    batch = make_batch(client, people, first)
    as_(client, people["finance"])
    paid = post_form(
        client,
        f"/suivi/subventions/{g['grant']}/versements",
        {
            "instalment": str(first["id"]),
            "amount": "5 000",
            "value_date": "2017-07-03",
            "reference": "M-HORS-LOT",
            "key": "outside-batch",
        },
    )
    assert paid.status_code == 303
    done = post_form(
        client,
        f"/finances/lots/{batch}/paiement",
        {"mandate": "M-2017-200", "value_date": "2017-07-04"},
        follow_redirects=True,
    )
    assert "déjà payé par ailleurs" in done.text
    assert (
        run(client, lambda: LedgerEntry.count().where(LedgerEntry.grant == g["grant"]).run()) == 1
    )
    assert run(client, totals.check) == []


def test_only_finance_makes_batches(client, people):
    as_(client, people["officer"])
    assert client.get("/finances/lots").status_code == 403
    as_(client, people["finance"])
    assert client.get("/finances/lots/999999").status_code == 404
    assert client.get("/finances/lots/1/export/lot-2.csv").status_code == 404
    empty = post_form(client, "/finances/lots", {})
    assert empty.status_code == 422 and "Sélectionnez au moins une échéance" in empty.text


def test_the_decision_date_is_a_date_cell(client, people):
    g, first = approved_first(client, people, 3_000_000)
    run(
        client,
        lambda: Grant.raw(
            "UPDATE decision SET deliberation_reference = {}, deliberation_date = {} "
            "WHERE application = {}",
            "CP-2017-05",
            date(2017, 5, 17),
            g["app"],
        ).run(),
    )
    batch = make_batch(client, people, first)
    sheet = load_workbook(
        io.BytesIO(client.get(f"/finances/lots/{batch}/export/lot-{batch}.xlsx").content)
    ).active
    header = [c.value for c in sheet[1]]
    decided = sheet.cell(2, header.index("Date de la décision") + 1)
    assert decided.is_date and decided.value == datetime(2017, 5, 17)
    assert sheet.cell(2, header.index("Référence de la décision") + 1).value == "CP-2017-05"


def test_exports_follow_the_page_language(client, people):
    g, _first = approved_first(client, people, 4_000_000)
    as_(client, people["finance"])
    client.cookies.set("guichet_lang", "en", domain="testserver.local", path="/")
    try:
        export = client.get(f"/finances/export/echeances.csv?appel={g['call']}")
        rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
        assert rows[0]["Amount (€)"] == "20000.00" and rows[0]["Status"] == "approved for payment"
        assert rows[0]["Status (code)"] == "approved"
        assert rows[0]["Paid when"] == "on acceptance"
    finally:
        client.cookies.delete("guichet_lang", domain="testserver.local", path="/")
    french = client.get(f"/finances/export/echeances.csv?appel={g['call']}")
    rows = list(csv.DictReader(io.StringIO(french.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0]["Montant (€)"] == "20000,00" and rows[0]["Statut"] == "validée pour paiement"


def test_finance_of_one_funder_batches_only_its_instalments(client, people):
    """Roles per funder: finance staff of another funder neither see the instalments
    nor the batch, cannot put them in a batch, export it or mark it paid (404); finance
    of the grant's funder can."""
    from app.accounts.services import SYSTEM, grant_role
    from app.funders.services import ensure_funder

    g, first = approved_first(client, people, 3_000_000)
    funder = run(
        client,
        lambda: (
            Grant.select(Grant.call.funder.as_alias("f"))
            .where(Grant.id == g["grant"])
            .first()
            .run()
        ),
    )["f"]
    other = run(
        client,
        ensure_funder,
        name="Région Autre",
        slug="region-autre-batches",
        kind="région",
        address="",
        website="",
    )
    theirs = make_user(client)
    run(client, grant_role, theirs["id"], "finance", actor=SYSTEM, funder_id=other)
    ours = make_user(client)
    run(client, grant_role, ours["id"], "finance", actor=SYSTEM, funder_id=funder)

    as_(client, theirs)
    assert f'id="batch-{first["id"]}"' not in client.get("/finances/lots?tous=1").text
    refused = post_form(client, "/finances/lots", {"instalment": [str(first["id"])]})
    assert refused.status_code == 422
    count = run(
        client,
        lambda: PaymentBatchLine.count().where(PaymentBatchLine.instalment == first["id"]).run(),
    )
    assert count == 0

    as_(client, ours)
    assert f'id="batch-{first["id"]}"' in client.get("/finances/lots?tous=1").text
    made = post_form(client, "/finances/lots", {"instalment": [str(first["id"])]})
    assert made.status_code == 303, made.text
    batch_id = int(re.search(r"/finances/lots/(\d+)$", made.headers["location"]).group(1))
    assert client.get(f"/finances/lots/{batch_id}").status_code == 200

    as_(client, theirs)
    assert f"/finances/lots/{batch_id}" not in client.get("/finances/lots").text
    assert client.get(f"/finances/lots/{batch_id}").status_code == 404
    assert client.get(f"/finances/lots/{batch_id}/export/lot-{batch_id}.csv").status_code == 404
    paid = post_form(
        client,
        f"/finances/lots/{batch_id}/paiement",
        {"mandate": "M-1", "value_date": "01/02/2027"},
    )
    assert paid.status_code == 404
    assert (
        run(
            client,
            lambda: LedgerEntry.count().where(LedgerEntry.grant == g["grant"]).run(),
        )
        == 0
    )
