"""Roles per funder in a browser, on the demo: the officer of the Région Centre-Val de
Loire (``instruction-cvl@``) and its finance officer (``finances-cvl@``) see nothing of
the Île-de-France call — not on « À traiter », the calls list, the files' table and its
exports, the finance dashboard and its exports, the payment batches, nor through the
JSON API with a token made on the account page — and an Île-de-France file, call or
grant opened by its address is « Page introuvable ». Reads only (the API token made
here is revoked at the end), so it runs on the shared demo server."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook

from tests.conftest import in_own_loop
from tests.e2e.conftest import Live, Watched
from tests.e2e.test_review import sign_in, sign_out

IDF_CALL_TITLE = "Le numérique au service de la formation professionnelle"


def rows(live: Live, statement: str) -> list[tuple]:
    """Read the server's database (the ids and names the pages must not show)."""
    if live.database_url.startswith("sqlite:"):
        import sqlite3

        with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as conn:
            return conn.execute(statement).fetchall()
    import asyncpg

    async def run():
        conn = await asyncpg.connect(live.database_url)
        try:
            return [tuple(r) for r in await conn.fetch(statement)]
        finally:
            await conn.close()

    return in_own_loop(run())


def ile_de_france(live: Live) -> dict:
    """The Île-de-France call's ids, and the names only it holds: its files' references
    and titles, the organisations that applied to no other funder's call."""
    ((funder,),) = rows(live, "SELECT id FROM funder WHERE name = 'Région Île-de-France'")
    # Other browser tests add calls of this funder to the shared demo: the demo's own
    # call is found by its title, the rest by their funder.
    listed = rows(live, f"SELECT id, title FROM call WHERE funder = {funder} ORDER BY id")
    calls = [r[0] for r in listed]
    (call,) = [r[0] for r in listed if r[1] == IDF_CALL_TITLE]
    in_calls = ", ".join(map(str, calls))
    files = rows(
        live,
        f"SELECT a.id, a.reference, a.title FROM application a WHERE a.call IN ({in_calls})"
        " AND a.reference IS NOT NULL ORDER BY a.id",
    )
    grants = [
        r[0] for r in rows(live, f'SELECT id FROM "grant" WHERE call IN ({in_calls}) ORDER BY id')
    ]
    only_here = [
        r[0]
        for r in rows(
            live,
            "SELECT o.name FROM organisation o WHERE EXISTS (SELECT 1 FROM application a"
            f" WHERE a.organisation = o.id AND a.call IN ({in_calls})) AND NOT EXISTS"
            " (SELECT 1 FROM application a WHERE a.organisation = o.id"
            f" AND a.call NOT IN ({in_calls}))",
        )
    ]
    assert files and grants and "Le PoleS" not in only_here, (files, grants, only_here)
    return {
        "funder": funder,
        "call": call,
        "file": files[0][0],
        "grant": grants[0],
        # Le PoleS also has a draft on the Centre-Val de Loire call (its own, shown there):
        # what must not show is its Île-de-France file, by reference and title.
        "names": [IDF_CALL_TITLE, "Île-de-France", "IDF-2017"]
        + [title for _id, _ref, title in files]
        + only_here,
    }


def normalised(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def assert_nothing_of(idf: dict, text: str, where: str) -> None:
    text = normalised(text)
    shown = [name for name in idf["names"] if name in text]
    assert shown == [], f"{where} shows {shown}"
    # The 19 Île-de-France grants awarded 26 000 000 €.
    assert "26 000 000" not in text, where


def downloaded(page, link) -> str:
    """Click an export link; the file's text (a workbook's cells, one per line)."""
    with page.expect_download() as info:
        link.click()
    download = info.value
    body = Path(download.path()).read_bytes()
    if download.suggested_filename.endswith(".xlsx"):
        book = load_workbook(io.BytesIO(body))
        return "\n".join(
            str(cell.value)
            for sheet in book.worksheets
            for row in sheet.iter_rows()
            for cell in row
            if cell.value is not None
        )
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    return body.decode("utf-8-sig")


def main_text(page) -> str:
    return page.locator("main").inner_text()


def assert_not_found(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 404, url
    page.get_by_role("heading", name="Page introuvable").wait_for()


def test_the_centre_val_de_loire_officer_sees_nothing_of_ile_de_france(
    live: Live, watched: Watched
):
    idf = ile_de_france(live)
    page = watched.page
    sign_in(page, live, "instruction-cvl@demo.guichet.test")

    # « À traiter »: the queues count and name only the Centre-Val de Loire call.
    page.wait_for_url(re.compile(r"/a-traiter$"))
    assert "Compétences numériques et insertion des jeunes" in main_text(page)
    assert_nothing_of(idf, main_text(page), "À traiter")
    watched.assert_clean()

    # The calls list: only the Centre-Val de Loire calls.
    page.get_by_role("link", name="Instruction").first.click()
    page.wait_for_url(re.compile(r"/instruction/appels$"))
    listed = page.locator("main tbody tr")
    assert listed.count() >= 1
    assert all(
        "Région Centre-Val de Loire" in listed.nth(i).inner_text() for i in range(listed.count())
    )
    assert_nothing_of(idf, main_text(page), "the calls list")
    watched.assert_clean()
    tables = [
        a.get_attribute("href") for a in page.get_by_role("link", name="Voir les dossiers").all()
    ]

    # Each call's files and their exports (CSV, Excel): no Île-de-France file.
    exported = ""
    for href in tables:
        page.goto(live.url + href)
        assert_nothing_of(idf, main_text(page), href)
        for name in ("Exporter en CSV", "Exporter en Excel"):
            export = downloaded(page, page.get_by_role("link", name=name))
            assert_nothing_of(idf, export, f"{href}: {name}")
            exported += export
    # Not empty: the exports hold the Centre-Val de Loire files.
    assert "CVL-2026-0001" in exported
    watched.assert_clean()

    # The finance dashboard (officers may open it), its filters and its six exports.
    page.get_by_role("link", name="Finances").first.click()
    page.wait_for_url(re.compile(r"/finances$"))
    page.get_by_role("heading", name="Tableau de bord financier").wait_for()
    assert_nothing_of(idf, main_text(page), "the finance dashboard")
    offered = normalised(page.locator("main select").all_inner_texts().__str__())
    assert "Île-de-France" not in offered and IDF_CALL_TITLE not in offered
    watched.assert_clean()
    links = page.locator("main a").filter(has_text=re.compile(r"^(CSV|Excel)$"))
    assert links.count() == 6
    for i in range(links.count()):
        assert_nothing_of(idf, downloaded(page, links.nth(i)), f"finance export {i}")
    # Asking for the other funder or its call by the filters' parameters shows nothing.
    for query in (f"financeur={idf['funder']}", f"appel={idf['call']}"):
        page.goto(f"{live.url}/finances?{query}")
        assert_nothing_of(idf, main_text(page), query)
        href = page.locator("main a").filter(has_text="CSV").first.get_attribute("href")
        assert_nothing_of(idf, page.request.get(live.url + href).text(), href)

    # An Île-de-France call, file, export or grant opened by its address: not found.
    for path in (
        f"/instruction/dossiers/{idf['file']}",
        f"/instruction/appels/{idf['call']}",
        f"/instruction/appels/{idf['call']}/dossiers",
        f"/suivi/subventions/{idf['grant']}",
    ):
        assert_not_found(page, live.url + path)
    # The browser logs each 404 it was answered; the « not found » page itself is clean.
    watched.errors = [e for e in watched.errors if "status of 404" not in e]
    watched.assert_clean()
    for path in (
        f"/instruction/appels/{idf['call']}/dossiers/export.csv",
        f"/instruction/appels/{idf['call']}/dossiers/export.xlsx",
    ):
        assert page.request.get(live.url + path).status == 404, path

    # The JSON API, with a token made on the account page: nothing of Île-de-France.
    page.goto(live.url + "/compte/api")
    page.get_by_label("Nom du nouveau jeton").fill("Contrôle des rôles par financeur")
    page.get_by_role("button", name="Créer un jeton").click()
    token = page.locator("code.token").inner_text().strip()
    assert token.startswith("gch_")
    watched.assert_clean()
    api = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/calls", "/api/v1/grants", "/api/v1/payments"):
        answer = page.request.get(live.url + path, headers=api)
        assert answer.status == 200, path
        assert_nothing_of(idf, answer.text(), path)
    calls = page.request.get(live.url + "/api/v1/calls", headers=api).json()
    assert calls["items"] and all(
        c["funder"] == "Région Centre-Val de Loire" for c in calls["items"]
    )
    assert page.request.get(live.url + "/api/v1/grants", headers=api).json()["total"] == 0
    for path in (
        f"/api/v1/calls/{idf['call']}",
        f"/api/v1/grants/{idf['grant']}",
        f"/api/v1/grants/{idf['grant']}/instalments",
    ):
        assert page.request.get(live.url + path, headers=api).status == 404, path
    assert (
        page.request.get(f"{live.url}/api/v1/grants?call={idf['call']}", headers=api).json()[
            "total"
        ]
        == 0
    )
    assert (
        page.request.get(f"{live.url}/api/v1/payments?grant={idf['grant']}", headers=api).json()[
            "total"
        ]
        == 0
    )
    page.get_by_role("button", name="Révoquer").click()
    page.get_by_text("Le jeton est révoqué").wait_for()
    sign_out(page)


def test_the_centre_val_de_loire_finance_officer_sees_no_ile_de_france_grant(
    live: Live, watched: Watched
):
    idf = ile_de_france(live)
    page = watched.page
    sign_in(page, live, "finances-cvl@demo.guichet.test")
    page.goto(live.url + "/finances")
    page.get_by_role("heading", name="Tableau de bord financier").wait_for()
    assert_nothing_of(idf, main_text(page), "the finance dashboard")
    watched.assert_clean()

    # The payment batches: no Île-de-France instalment waits, no batch of theirs is listed.
    page.get_by_role("link", name="Lots de mandatement").click()
    page.wait_for_url(re.compile(r"/finances/lots$"))
    assert_nothing_of(idf, main_text(page), "the payment batches")
    assert page.get_by_role("checkbox").count() == 0
    assert "Lot " not in main_text(page).replace("Lots de", "")
    watched.assert_clean()
    for (batch,) in rows(live, "SELECT id FROM payment_batch"):
        assert_not_found(page, f"{live.url}/finances/lots/{batch}")
    assert_not_found(page, f"{live.url}/suivi/subventions/{idf['grant']}")
    watched.errors = [e for e in watched.errors if "status of 404" not in e]
    watched.assert_clean()
    sign_out(page)


def test_the_same_pages_show_ile_de_france_to_an_officer_of_every_funder(
    live: Live, watched: Watched
):
    """The control: what the officer of one funder does not see is there to be seen."""
    idf = ile_de_france(live)
    page = watched.page
    sign_in(page, live, "instruction@demo.guichet.test")
    page.goto(live.url + "/instruction/appels")
    assert IDF_CALL_TITLE in main_text(page)
    page.goto(f"{live.url}/instruction/appels/{idf['call']}/dossiers")
    assert "IDF-2017-0001" in main_text(page) and "Le PoleS" in main_text(page)
    page.goto(live.url + "/finances")
    assert "Île-de-France" in main_text(page)
    assert page.goto(f"{live.url}/instruction/dossiers/{idf['file']}").status == 200
    sign_out(page)
