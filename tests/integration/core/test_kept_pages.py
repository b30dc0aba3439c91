"""Pages kept rendered (core.web.kept_part) and the data versions that key them
(core.versions, the list in app/versions.py): the database holds a trigger for every
tracked table, every write to one moves its version, a page seen again unchanged is
not rendered again, a change of what it shows shows at once, and nothing kept for one
person reaches another (their CSRF token, their funders)."""

import importlib
import pkgutil

import pytest

from app import demo
from app.applications.tables import Application
from app.calls.tables import Call
from app.core import versions
from app.core.db import is_sqlite
from app.core.tables import DataVersion
from app.organisations.tables import Organisation
from app.versions import TRACKED
from tests.factories import QueryCounter, csrf_token, run, signed_in

PASSWORD = "demo-guichet-2026"
OFFICER = {"email": "instruction@demo.guichet.test", "password": PASSWORD}
REVIEWER = {"email": "evaluation@demo.guichet.test", "password": PASSWORD}
FINANCE = {"email": "finances@demo.guichet.test", "password": PASSWORD}
FINANCE_CVL = {"email": "finances-cvl@demo.guichet.test", "password": PASSWORD}


@pytest.fixture(scope="module")
def loaded(client):
    assert run(client, demo.load, if_empty=True, settings=client.app.state.settings)


def test_the_database_holds_the_triggers_of_the_list(client, loaded):
    found = run(client, versions.installed)
    assert found == versions.expected(TRACKED, postgres=not is_sqlite())
    assert len(found) >= len(TRACKED)


def test_the_latest_migration_installs_the_list_as_it_is():
    """Change app/versions.py without a migration installing it again and existing
    databases keep the old triggers: this test says so."""
    latest = None
    package = importlib.import_module("app.decisions.piccolo_migrations")
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "INSTALLS") and (latest is None or module.ID > latest.ID):
            latest = module
    assert latest is not None
    assert versions.digest(TRACKED) == latest.INSTALLS, (
        "app/versions.py changed: add a migration calling core.versions.install with "
        f"INSTALLS = {versions.digest(TRACKED)!r}"
    )


async def _version_of(tracked, row) -> str:
    if tracked.per is None:
        return tracked.name
    if tracked.via is None:
        return f"{tracked.name}:{row[tracked.per]}"
    column, table = tracked.via
    (linked,) = await DataVersion.raw(
        f'SELECT "{tracked.per}" AS value FROM "{table}" WHERE id = {{}}', row[column]
    )
    return f"{tracked.name}:{linked['value']}"


@pytest.mark.parametrize("tracked", TRACKED, ids=lambda t: t.trigger)
def test_a_write_to_a_tracked_table_moves_its_version(client, loaded, tracked):
    async def check():
        where = f"WHERE \"{tracked.only[0]}\" = '{tracked.only[1]}'" if tracked.only else ""
        rows = await DataVersion.raw(f'SELECT * FROM "{tracked.table}" {where} ORDER BY id LIMIT 1')
        assert rows, f"the demo has no row in {tracked.table}"
        row = rows[0]
        name = await _version_of(tracked, row)

        async def value() -> int:
            return (await versions.seen([name])).values[0]

        before = await value()
        if tracked.columns:  # an update of the column to the same value does not count
            column = tracked.columns[0]
            same = f'UPDATE "{tracked.table}" SET "{column}" = "{column}" WHERE id = {{}}'
            await DataVersion.raw(same, row["id"])
            assert await value() == before, name
            change = f'UPDATE "{tracked.table}" SET "{column}" = {{}} WHERE id = {{}}'
            await DataVersion.raw(change, (row[column] or "") + "·", row["id"])
            assert await value() > before, name
            await DataVersion.raw(change, row[column], row["id"])
        else:
            await DataVersion.raw(
                f'UPDATE "{tracked.table}" SET id = id WHERE id = {{}}', row["id"]
            )
            assert await value() > before, name

    run(client, check)


KEPT_PAGES = {
    "/finances": FINANCE,
    "/instruction/appels/1/dossiers": OFFICER,
    "/instruction/appels/2/classement": OFFICER,
    "/instruction/dossiers/1": OFFICER,
    "/evaluation": REVIEWER,
}


@pytest.mark.parametrize("path", list(KEPT_PAGES))
def test_a_page_seen_again_unchanged_is_not_rendered_again(client, loaded, path, monkeypatch):
    with signed_in(client, KEPT_PAGES[path]):
        first = client.get(path)
        counter = QueryCounter(monkeypatch)
        again = counter.measure(lambda: client.get(path))
        assert _main(client.get(path).text) == _main(first.text)
    # The person and roles, the versions, and the call or file the path names.
    assert again <= 3, (path, again)


def _main(html: str) -> str:
    """The page's content (the flash after signing in is in the layout)."""
    return html[html.index("<main") : html.index("</main>")]


async def _rename(table, row_id: int, column, value: str) -> None:
    await table.update({column: value}).where(table.id == row_id)


@pytest.mark.parametrize(
    ("path", "table", "row_id", "column"),
    [
        # A call's title on the finance dashboard and on the reviewer's.
        ("/finances", Call, 2, Call.title),
        ("/evaluation", Call, 2, Call.title),
        # An organisation on a call's table and its ranking (the first one shown).
        ("/instruction/appels/1/dossiers", Organisation, None, Organisation.name),
        ("/instruction/appels/2/classement", Organisation, None, Organisation.name),
        # The file's own title on its page.
        ("/instruction/dossiers/1", Application, 1, Application.title),
    ],
)
def test_a_change_of_what_a_kept_page_shows_shows_at_once(
    client, loaded, path, table, row_id, column
):
    value = f"Renommé pour le test{path.replace('/', ' ')}"
    with signed_in(client, KEPT_PAGES[path]):
        before = _main(client.get(path).text)
        assert _main(client.get(path).text) == before  # kept
        if row_id is None:
            rows = run(client, table.select(table.id, column).order_by(table.id).run)
            row_id = next(r["id"] for r in rows if f">{r[column._meta.name]}<" in before)
        assert value not in before
        run(client, _rename, table, row_id, column, value)
        assert value in client.get(path).text


def test_a_kept_page_carries_the_csrf_token_of_whoever_reads_it(client, loaded):
    """The file's page has forms: two sessions of the same person (same kept part)
    each get their own token in them."""
    tokens = []
    for _ in range(2):
        with signed_in(client, OFFICER):
            html = client.get("/instruction/dossiers/2").text
            token = csrf_token(client)
            assert f'name="_csrf_token" value="{token}"' in html
            assert "kept-csrf-" not in html
            tokens.append(token)
        client.cookies.clear()
    assert tokens[0] != tokens[1]


def test_a_page_kept_for_one_person_is_not_shown_to_another(client, loaded):
    """Finance staff of every funder, then of the Centre-Val de Loire only, on the same
    address: the second never sees the Île-de-France call kept for the first."""
    with signed_in(client, FINANCE):
        everyone = client.get("/finances").text
    with signed_in(client, FINANCE_CVL):
        theirs = client.get("/finances").text
    assert "Île-de-France" in everyone
    assert "Île-de-France" not in theirs


def test_a_tables_triggers_take_the_most_shared_versions_first():
    """PostgreSQL fires a table's triggers by name: the table's version, then one per
    call, then the row's own, so that a bulk action and a single one on the same call
    take the version rows in one order (no deadlock between them)."""

    def shared(t) -> int:
        return 0 if t.per is None else 2 if t.per == "id" and not t.via else 1

    for table in {t.table for t in TRACKED}:
        mine = sorted((t for t in TRACKED if t.table == table), key=lambda t: t.trigger)
        assert [shared(t) for t in mine] == sorted(shared(t) for t in mine), table
