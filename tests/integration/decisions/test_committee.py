"""The committee's sheet for many files: bulk decisions (all or none, within the
envelope, one audit entry), filters, one row's form, « select all », and the annex to
the deliberation as PDF and XLSX."""

import html
import io
import json

import openpyxl
import pypdf
import pytest

from app.applications.tables import Application
from app.core.audit import Actor
from app.core.audit import search as audit_search
from app.decisions import services
from app.decisions.tables import Decision
from app.reviews.settings import save_settings as save_review_settings
from tests.factories import (
    QueryCounter,
    make_committee,
    make_user,
    post_form,
    publish_award,
    run,
    sign_in,
    sign_out,
    text_of,
)


@pytest.fixture(scope="module")
def officer(client):
    return make_user(client, roles=["officer"])


@pytest.fixture
def as_officer(client, officer):
    sign_in(client, officer)
    yield officer
    sign_out(client)


def plain(text):
    return html.unescape(text_of(text)).replace("\u202f", " ").replace("\xa0", " ")


def sheet_url(call):
    return f"/instruction/appels/{call}/decisions"


def bulk(client, call, ids, action, reason="", query=""):
    return post_form(
        client,
        f"{sheet_url(call)}/lot{query}",
        {"ids": [str(i) for i in ids], "action": action, "reason": reason},
    )


def decisions_of(client, call):
    return run(
        client,
        lambda: (
            Decision.select(Decision.application, Decision.outcome, Decision.amount_cents)
            .where(Decision.call == call)
            .run()
        ),
    )


def test_300_files_decided_with_two_bulk_actions(client, officer, as_officer):
    # 300 files of 15 000 €; an envelope of 2 500 000 € holds 166 of them.
    call, ids = make_committee(client, officer, files=300, envelope_cents=250_000_000)
    page = client.get(sheet_url(call))
    assert page.status_code == 200
    assert page.text.count('name="ids"') == 300

    # Awarding all 300 would need 4 500 000 €: refused, nothing recorded.
    response = bulk(client, call, ids, "award")
    assert response.status_code == 422
    text = plain(response.text)
    assert "dépasseraient l’enveloppe" in text
    assert "4 500 000,00 €" in text and "2 500 000,00 €" in text
    assert decisions_of(client, call) == []
    assert response.text.count("checked") >= 300  # the ticks come back as they were

    first, rest = ids[:150], ids[150:]
    response = bulk(client, call, first, "award")
    assert response.status_code == 303, plain(response.text)[:500]
    response = bulk(client, call, rest, "reject", reason="Hors du champ de l'appel")
    assert response.status_code == 303, plain(response.text)[:500]

    rows = decisions_of(client, call)
    assert len(rows) == 300
    awards = [r for r in rows if r["outcome"] == "award"]
    assert {r["application"] for r in awards} == set(first)
    assert all(r["amount_cents"] == 1_500_000 for r in awards)
    totals = run(client, services.totals, call)
    assert (totals.awards, totals.rejections, totals.awarded_cents) == (150, 150, 225_000_000)
    assert totals.remaining_cents == 25_000_000
    page = plain(client.get(sheet_url(call)).text)
    assert "2 250 000,00 €" in page and "250 000,00 €" in page
    assert "300 décisions pas encore publiées" in page

    # One audit entry per bulk action, listing its files.
    entries, total = run(
        client, audit_search, object_type="call", object_id=call, action="decisions.decided_many"
    )
    assert total == 2
    listed = {e["summary"]["outcome"]: e["summary"]["applications"] for e in entries}
    assert sorted(listed["award"]) == first and sorted(listed["reject"]) == rest

    # Changing some decisions again: the rejected become awards within what is left.
    response = bulk(client, call, rest[:16], "award")
    assert response.status_code == 303
    assert run(client, services.totals, call).remaining_cents == 1_000_000
    response = bulk(client, call, rest[16:18], "award")
    assert response.status_code == 422  # 30 000 € asked, 10 000 € left
    assert run(client, services.totals, call).awards == 166


def test_bulk_refusals_save_nothing(client, officer, as_officer):
    call, ids = make_committee(client, officer, files=4)
    other_call, other_ids = make_committee(client, officer, files=1)
    response = bulk(client, call, ids, "reject", reason="  ")
    assert response.status_code == 422
    assert "motif" in plain(response.text)
    assert bulk(client, call, [], "award").status_code == 422
    # A file of another call, ticked by a forged form: nothing is decided.
    response = bulk(client, call, [ids[0], other_ids[0]], "award")
    assert response.status_code == 422
    assert decisions_of(client, call) == [] and decisions_of(client, other_call) == []
    # A file that is not waiting for a decision yet, among others.
    under_review, more = make_committee(client, officer, files=1, status="submitted")
    response = bulk(client, under_review, more, "award")
    assert response.status_code == 422
    assert "COM" in plain(response.text)
    # A published decision cannot change: the action names the file, saves nothing.
    publish_award(client, officer, call, ids[0])
    response = bulk(client, call, ids[:3], "reject", reason="Budget")
    assert response.status_code == 422
    assert f"COM{call}-00000" in plain(response.text)
    assert len(decisions_of(client, call)) == 1


def test_select_all_and_none_without_javascript(client, officer, as_officer):
    call, ids = make_committee(client, officer, files=5)
    assert bulk(client, call, ids[:2], "award").status_code == 303
    # Ticks every row shown (here: those not decided), keeps the reason typed.
    response = bulk(client, call, [], "select-all", reason="Motif gardé", query="?decision=none")
    assert response.status_code == 200
    for app_id in ids[2:]:
        assert f'value="{app_id}" id="select-{app_id}" form="bulk" checked' in response.text
    for app_id in ids[:2]:
        assert f'id="select-{app_id}"' not in response.text  # filtered out
    assert 'value="Motif gardé"' in response.text
    response = bulk(client, call, ids, "select-none")
    assert response.status_code == 200 and " checked" not in response.text.split("<tbody>")[1]
    assert len(decisions_of(client, call)) == 2


def test_filters_narrow_the_sheet(client, officer, as_officer):
    call, ids = make_committee(client, officer, files=6)
    assert bulk(client, call, ids[:2], "award").status_code == 303
    assert bulk(client, call, ids[2:3], "reject", reason="Non").status_code == 303

    def shown(**params):
        text = client.get(sheet_url(call), params=params).text
        return {i for i in ids if f'id="row-{i}"' in text}

    assert shown() == set(ids)
    assert shown(decision="award") == set(ids[:2])
    assert shown(decision="reject") == {ids[2]}
    assert shown(decision="none") == set(ids[3:])
    assert shown(q=f"COM{call}-00004") == {ids[4]}
    assert shown(status="eligible") == set()
    assert shown(mark_min="0") == set()  # no file has a mark yet
    page = client.get(sheet_url(call), params={"mark_min": "25"})
    assert page.status_code == 200 and "entre 0 et 20" in plain(page.text)
    # The bulk form keeps the filters: after the action, the same rows.
    response = bulk(client, call, ids[3:4], "award", query="?decision=none")
    assert response.headers["location"].endswith("?decision=none")


def test_a_row_opens_its_form_only_when_edited(client, officer, as_officer):
    call, ids = make_committee(client, officer, files=3)
    page = client.get(sheet_url(call)).text
    assert 'name="outcome"' not in page  # no per-row form until a row is edited
    assert f"edit={ids[1]}" in page
    page = client.get(sheet_url(call), params={"edit": ids[1]}).text
    assert page.count('name="outcome"') == 1 and f'id="d{ids[1]}-outcome"' in page
    # htmx: only that row comes back, then closed again.
    row = client.get(sheet_url(call), params={"edit": ids[1]}, headers={"HX-Request": "true"})
    assert row.text.lstrip().startswith(f'<tr id="row-{ids[1]}"') and 'name="outcome"' in row.text
    row = client.get(sheet_url(call), params={"row": ids[1]}, headers={"HX-Request": "true"})
    assert 'name="outcome"' not in row.text
    # Saved from the row's form: back to the sheet with its filters, at the row.
    response = post_form(
        client,
        f"/instruction/dossiers/{ids[1]}/decision?decision=none",
        {"outcome": "award", "amount": "12 000", "reason": ""},
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith(f"?decision=none#row-{ids[1]}")
    # A refused amount keeps that row's form open with what was typed.
    response = post_form(
        client,
        f"/instruction/dossiers/{ids[2]}/decision",
        {"outcome": "award", "amount": "999 999", "reason": ""},
    )
    assert response.status_code == 422
    assert response.text.count('name="outcome"') == 1 and "999 999" in response.text


def annex_pdf(client, call):
    response = client.get(f"{sheet_url(call)}/annexe.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    return response


def pdf_text(data):
    reader = pypdf.PdfReader(io.BytesIO(data))
    return reader, " ".join(page.extract_text() for page in reader.pages).replace("\u202f", " ")


def embedded(font):
    """A font whose program is in the file (TrueType subset, as core/pdf.py embeds)."""
    font = font.get_object()
    if "/DescendantFonts" in font:
        font = font["/DescendantFonts"][0].get_object()
    return "/FontFile2" in font["/FontDescriptor"].get_object()


def test_the_annex_before_and_after_publication(client, officer, as_officer):
    call, ids = make_committee(client, officer, files=40, requested=2_000_000)
    assert bulk(client, call, ids[:25], "award").status_code == 303
    assert bulk(client, call, ids[25:], "reject", reason="Non retenu").status_code == 303
    response = annex_pdf(client, call)
    assert "projet" in response.headers["content-disposition"]
    reader, text = pdf_text(response.content)
    assert "PROJET" in text and "Annexe à la délibération" in text
    assert f"COM{call}-00000" in text and "Asso comité 0" in text and "Projet 39" in text
    assert "500 000,00 €" in text  # 25 × 20 000 €, the totals row
    assert "25 subventions" in text
    page = reader.pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape
    fonts = [
        f.get_object() for p in reader.pages for f in (p["/Resources"]["/Font"] or {}).values()
    ]
    assert fonts and all(embedded(f) for f in fonts)
    siret = run(
        client,
        lambda: (
            Application.select(Application.organisation.siret.as_alias("siret"))
            .where(Application.id == ids[0])
            .first()
            .run()
        ),
    )["siret"]
    assert siret in text, text[:1500]

    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(f"{sheet_url(call)}/annexe.xlsx").content)
    )
    sheet = workbook.active
    assert "PROJET" in sheet["A1"].value
    header = [c.value for c in sheet[2]]
    assert header == [
        "Numéro de dossier",
        "Bénéficiaire",
        "SIRET",
        "Projet",
        "Montant proposé",
        "Décision",
    ]
    assert all(c.font.bold for c in sheet[2])
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:F42"
    amounts = [sheet.cell(row=r, column=5).value for r in range(3, 28)]
    assert amounts == [20_000.0] * 25
    assert "€" in sheet.cell(row=3, column=5).number_format
    assert sheet.cell(row=28, column=5).value is None  # a rejection has no amount
    totals = sheet[43]
    assert totals[0].value == "Total" and totals[0].font.bold
    assert totals[4].value == "=SUM(E3:E42)"
    values = openpyxl.load_workbook(
        io.BytesIO(client.get(f"{sheet_url(call)}/annexe.xlsx").content), data_only=True
    ).active
    assert values.cell(row=43, column=5).value == 500_000

    # Published: no longer a draft, the amounts are awarded.
    token = run(client, services.pending, call).token
    run(
        client,
        services.save_settings,
        call,
        {
            "deliberation_reference": "CP 2026-77",
            "deliberation_date": "2026-12-01",
            "schedule_preset": "50-30-20",
        },
        actor=Actor(user_id=officer["id"]),
    )
    response = post_form(client, f"{sheet_url(call)}/publier", {"token": token})
    assert response.status_code == 303, plain(response.text)[:300]
    response = annex_pdf(client, call)
    assert "projet" not in response.headers["content-disposition"]
    _reader, text = pdf_text(response.content)
    assert "PROJET" not in text and "CP 2026-77" in text and "1er décembre 2026" in text
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get(f"{sheet_url(call)}/annexe.xlsx").content)
    ).active
    assert "PROJET" not in sheet["A1"].value and sheet["E2"].value == "Montant attribué"


def test_a_blind_call_annex_names_the_organisations(client, officer, as_officer):
    call, ids = make_committee(client, officer, files=2)
    run(
        client,
        save_review_settings,
        call,
        {
            "blind": "yes",
            "reviews_wanted": "2",
            "rank_by": "mean",
            "visibility": "never",
            "threshold": "4",
        },
        actor=Actor(user_id=officer["id"]),
    )
    assert bulk(client, call, ids, "award").status_code == 303
    _reader, text = pdf_text(annex_pdf(client, call).content)
    assert "Asso comité 0" in text and "Asso comité 1" in text


def test_sheet_and_annex_queries_do_not_grow_with_rows(client, officer, monkeypatch):
    small, small_ids = make_committee(client, officer, files=2)
    large, large_ids = make_committee(client, officer, files=60)
    sign_in(client, officer)
    try:
        assert bulk(client, small, small_ids, "award").status_code == 303
        assert bulk(client, large, large_ids[:30], "award").status_code == 303
        counter = QueryCounter(monkeypatch)
        for path in ("", "?decision=award&q=COM", "/annexe.pdf", "/annexe.xlsx"):
            few = counter.measure(lambda p=path: client.get(sheet_url(small) + p))
            many = counter.measure(lambda p=path: client.get(sheet_url(large) + p))
            assert 0 < few == many, (path, few, many)
        # One bulk action: a fixed number of queries for 2 files or 30.
        few = counter.measure(lambda: bulk(client, small, small_ids, "reject", reason="Non"))
        many = counter.measure(lambda: bulk(client, large, large_ids[30:], "reject", reason="Non"))
        assert few == many, (few, many)
    finally:
        sign_out(client)


def test_json_summary_stays_small(client, officer, as_officer):
    """400 files in one action: the audit entry listing them fits its bound."""
    call, ids = make_committee(
        client, officer, files=401, requested=1_000_000, envelope_cents=500_000_000
    )
    response = bulk(client, call, ids, "award")
    assert response.status_code == 422 and "400" in plain(response.text)
    assert bulk(client, call, ids[:400], "award").status_code == 303
    entries, _ = run(
        client, audit_search, object_type="call", object_id=call, action="decisions.decided_many"
    )
    assert len(json.dumps(entries[0]["summary"])) < 4000


def test_the_annex_keeps_hostile_text_as_text(client, officer, as_officer):
    """A project title as markup or as a spreadsheet formula: shown as typed in the
    PDF (never reportlab markup) and stored as a string in the workbook (never a
    formula)."""
    call, ids = make_committee(client, officer, files=2)
    titles = {ids[0]: '=HYPERLINK("http://evil.test","x")', ids[1]: "<font color=red>rouge</font>"}
    for app_id, title in titles.items():
        run(
            client,
            lambda a=app_id, t=title: (
                Application.update({Application.title: t}).where(Application.id == a).run()
            ),
        )
    assert bulk(client, call, ids, "award").status_code == 303
    _reader, text = pdf_text(annex_pdf(client, call).content)
    assert "<font color=red>rouge</font>" in text
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get(f"{sheet_url(call)}/annexe.xlsx").content)
    ).active
    cells = {sheet.cell(row=r, column=4).value: sheet.cell(row=r, column=4) for r in (3, 4)}
    formula = cells['=HYPERLINK("http://evil.test","x")']
    assert formula.data_type == "s"
