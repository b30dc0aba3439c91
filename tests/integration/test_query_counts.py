"""List pages issue a number of SQL queries that does not grow with their rows."""

import pytest

from tests.factories import (
    QueryCounter,
    make_application,
    make_call,
    make_organisation,
    make_user,
    sign_in,
    sign_out,
    signed_in,
)


@pytest.fixture(scope="module")
def calls_with_1_and_50(client):
    officer, owner = make_user(client, roles=["officer", "admin"]), make_user(client)
    small, large = (
        make_call(client, officer, publish=True),
        make_call(client, officer, publish=True),
    )
    make_application(client, owner, make_organisation(client, owner), small)
    for _ in range(50):
        make_application(client, owner, make_organisation(client, owner), large)
    return officer, owner, small, large


def test_staff_table_queries_do_not_grow_with_rows(client, calls_with_1_and_50, monkeypatch):
    officer, _owner, small, large = calls_with_1_and_50
    sign_in(client, officer)
    counter = QueryCounter(monkeypatch)
    for suffix in ("dossiers", "dossiers/export.csv", "dossiers/export.xlsx"):
        few = counter.measure(lambda s=suffix: client.get(f"/instruction/appels/{small}/{s}"))
        many = counter.measure(lambda s=suffix: client.get(f"/instruction/appels/{large}/{s}"))
        assert 0 < few == many, (suffix, few, many)
    sign_out(client)


def test_applicant_lists_do_not_grow_with_rows(client, calls_with_1_and_50, monkeypatch):
    _officer, owner, _small, _large = calls_with_1_and_50
    sign_in(client, owner)  # 51 applications and 51 organisations
    counter = QueryCounter(monkeypatch)
    mine = counter.measure(lambda: client.get("/dossiers"))
    organisations = counter.measure(lambda: client.get("/structures"))
    fresh = make_user(client)
    make_application(client, fresh, make_organisation(client, fresh), _small)
    sign_out(client)
    sign_in(client, fresh)  # 1 application, 1 organisation
    assert counter.measure(lambda: client.get("/dossiers")) == mine
    assert counter.measure(lambda: client.get("/structures")) == organisations
    sign_out(client)


def test_admin_people_list_does_not_grow_with_rows(client, calls_with_1_and_50, monkeypatch):
    officer, *_ = calls_with_1_and_50
    sign_in(client, officer)
    counter = QueryCounter(monkeypatch)
    one = counter.measure(lambda: client.get("/admin/utilisateurs", params={"q": officer["email"]}))
    many = counter.measure(lambda: client.get("/admin/utilisateurs"))
    assert one == many
    sign_out(client)


def test_long_lists_are_paginated(client, calls_with_1_and_50):
    officer, _owner, _small, large = calls_with_1_and_50
    make_application(client, _owner, make_organisation(client, _owner), large)  # 51 > 50 a page
    sign_in(client, officer)
    first = client.get(f"/instruction/appels/{large}/dossiers").text
    assert "Page 1 sur 2" in first and "page=2" in first
    second = client.get(f"/instruction/appels/{large}/dossiers", params={"page": 2}).text
    assert "Page 2 sur 2" in second and "Page précédente" in second
    sign_out(client)


def test_decision_sheet_queries_do_not_grow_with_rows(client, monkeypatch):
    from app.accounts.services import Actor
    from app.decisions import services as decisions
    from tests.factories import make_decidable, run

    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    small, large = (
        make_call(client, officer, publish=True),
        make_call(client, officer, publish=True),
    )
    actor = Actor(user_id=officer["id"])
    for call, count in ((small, 1), (large, 50)):
        for _ in range(count):
            app = make_decidable(client, owner, call, requested=2_000_000)
            run(client, decisions.decide, app, outcome="award", amount=None, reason="", actor=actor)
    sign_in(client, officer)
    counter = QueryCounter(monkeypatch)
    few = counter.measure(lambda: client.get(f"/instruction/appels/{small}/decisions"))
    many = counter.measure(lambda: client.get(f"/instruction/appels/{large}/decisions"))
    assert 0 < few == many, (few, many)
    sign_out(client)


def test_finance_pages_do_not_grow_with_grants(client, monkeypatch):
    from tests.factories import make_grant, run

    officer, finance, owner = (
        make_user(client, roles=["officer"]),
        make_user(client, roles=["finance", "officer"]),
        make_user(client),
    )
    one = make_grant(client, officer, owner)
    sign_in(client, finance)
    counter = QueryCounter(monkeypatch)
    pages = (
        "/finances",
        f"/finances?appel={one['call']}",
        "/finances/export/versements.csv",
        "/finances/export/subventions.csv",
        "/finances/export/echeances.csv",
        "/finances/lots",
        "/journal?object_type=grant",
    )

    def approve_first(grant_id):
        from app.accounts.services import Actor
        from app.grants import services as grants
        from app.grants.tables import Instalment

        first = run(
            client,
            lambda: (
                Instalment.select(Instalment.id)
                .where((Instalment.grant == grant_id) & (Instalment.position == 1))
                .first()
                .run()
            ),
        )
        run(
            client,
            grants.transition_instalment,
            grant_id,
            first["id"],
            "approve",
            role="officer",
            actor=Actor(user_id=officer["id"]),
        )

    approve_first(one["grant"])
    before = [counter.measure(lambda p=p: client.get(p)) for p in pages]
    for _ in range(12):
        approve_first(make_grant(client, officer, owner)["grant"])
    after = [counter.measure(lambda p=p: client.get(p)) for p in pages]
    assert "Tout sélectionner" in client.get("/finances/lots").text
    assert before == after, list(zip(pages, before, after, strict=True))
    sign_out(client)


def test_reviewer_dashboard_pages_its_files_to_do_first(client, calls_with_1_and_50, monkeypatch):
    """51 files or more: 50 on the first page, the ones to review first; the count
    covers all; the same number of queries as for 1 file."""
    from datetime import UTC, datetime

    from app.applications.tables import Application
    from app.reviews.tables import Assignment
    from tests.factories import run

    _officer, _owner, small, large = calls_with_1_and_50
    many, one = make_user(client, roles=["reviewer"]), make_user(client, roles=["reviewer"])

    async def assign():
        apps = await Application.select(Application.id, Application.call).where(
            Application.call.is_in([small, large])
        )
        for n, app in enumerate(sorted(apps, key=lambda a: a["id"])):
            # The first ones reviewed, the last 40 to review: shown first all the same.
            done = datetime.now(UTC) if n < len(apps) - 40 else None
            await Assignment.insert(
                Assignment(application=app["id"], reviewer=many["id"], submitted_at=done)
            )
        await Assignment.insert(Assignment(application=apps[0]["id"], reviewer=one["id"]))
        return sorted(a["id"] for a in apps)

    app_ids = run(client, assign)
    sign_in(client, many)
    counter = QueryCounter(monkeypatch)
    queries = counter.measure(lambda: client.get("/evaluation"))
    first_page = client.get("/evaluation")
    # Seen again, unchanged: the page is kept rendered (its data versions, one query).
    assert counter.measure(lambda: client.get("/evaluation")) < queries
    total = len(app_ids)  # 51 or more (other tests of the module add files)
    assert 51 <= total < 100
    assert f"{total - 40} sur {total} évaluées" in first_page.text
    links = first_page.text.count('href="/evaluation/')
    assert links - first_page.text.count('href="/evaluation/liens"') == 50
    assert "Page 1 sur 2" in first_page.text and "?page=2" in first_page.text
    assert first_page.text.count(">à faire<") == 40  # those to review first
    second = client.get("/evaluation", params={"page": "2"}).text
    assert second.count(">remise<") == total - 50 and second.count(">à faire<") == 0
    last = client.get("/evaluation", params={"page": "99"}).text  # the last page
    assert last.count(">remise<") == total - 50
    sign_out(client)
    sign_in(client, one)
    assert counter.measure(lambda: client.get("/evaluation")) == queries
    sign_out(client)


def test_staff_of_some_funders_cost_the_same_whatever_the_rows(
    client, calls_with_1_and_50, monkeypatch
):
    """Roles per funder: an officer of the two calls' funders only pays one query more
    (the guard reads the call's funder), still constant in the number of files."""
    from app.accounts.services import SYSTEM, grant_role
    from app.calls.tables import Call
    from tests.factories import run

    _officer, _owner, small, large = calls_with_1_and_50
    scoped = make_user(client)
    for call in (small, large):
        funder = run(
            client, lambda c=call: Call.select(Call.funder).where(Call.id == c).first().run()
        )["funder"]
        run(client, grant_role, scoped["id"], "officer", actor=SYSTEM, funder_id=funder)
    sign_in(client, scoped)
    counter = QueryCounter(monkeypatch)
    for suffix in ("dossiers", "dossiers/export.csv"):
        for call in (small, large):
            assert client.get(f"/instruction/appels/{call}/{suffix}").status_code == 200
        few = counter.measure(lambda s=suffix: client.get(f"/instruction/appels/{small}/{s}"))
        many = counter.measure(lambda s=suffix: client.get(f"/instruction/appels/{large}/{s}"))
        assert 0 < few == many, (suffix, few, many)
    sign_out(client)


def test_ranking_and_a_file_do_not_grow_with_rows(client, monkeypatch):
    """The ranking (a count and one page, sorted and summed in SQL) and an officer's
    view of a file issue a fixed number of queries, whatever the call's size."""
    from tests.factories import make_decidable

    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    small = make_call(client, officer, publish=True)
    large = make_call(client, officer, publish=True)
    one = make_decidable(client, owner, small, status="in_review")
    many = [make_decidable(client, owner, large, status="in_review") for _ in range(30)]
    counter = QueryCounter(monkeypatch)
    with signed_in(client, officer):
        ranking = [
            counter.measure(lambda c=c: client.get(f"/instruction/appels/{c}/classement"))
            for c in (small, large)
        ]
        files = [
            counter.measure(lambda a=a: client.get(f"/instruction/dossiers/{a}"))
            for a in (one, many[-1])
        ]
    assert 0 < ranking[0] == ranking[1], ranking
    assert 0 < files[0] == files[1], files
