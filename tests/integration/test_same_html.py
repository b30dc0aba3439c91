"""The same HTML for the same data (issue 20): the key pages rendered on the demo by
today's code equal those rendered by the code before the performance work (kept
connections, prepared formatters, one query for user and roles, the ranking in SQL,
kept finance totals), snapshots of tests/pages_before_perf.py."""

import difflib

import pytest

from app import demo
from app.core.db import is_sqlite
from tests.factories import QueryCounter, run, signed_in
from tests.pages_before_perf import PAGES, PASSWORD, QUERIES_BEFORE, normalise, snapshot


@pytest.fixture(scope="module")
def loaded(client):
    assert run(client, demo.load, if_empty=True, settings=client.app.state.settings)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_as_before_the_performance_work(client, loaded, name):
    email, path = PAGES[name]
    with signed_in(client, {"email": email, "password": PASSWORD}):
        response = client.get(path)
    assert response.status_code == 200
    backend = "sqlite" if is_sqlite() else "postgresql"
    today, before = normalise(response.text), snapshot(name, backend)
    assert today == before, "\n".join(
        difflib.unified_diff(
            before.splitlines(), today.splitlines(), "before", "today", lineterm=""
        )
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_page_issues_no_more_queries_than_before(client, loaded, name, monkeypatch):
    email, path = PAGES[name]
    with signed_in(client, {"email": email, "password": PASSWORD}):
        client.get(path)
        counter = QueryCounter(monkeypatch)
        queries = counter.measure(lambda: client.get(path))
    assert 0 < queries <= QUERIES_BEFORE[name], (name, queries)


def test_normalise_keeps_what_is_data():
    """Dates far from today and references of other years stay as they are; tokens,
    today's date-times, this year's references and documents' digests do not count."""
    from datetime import date

    html = (
        '<main><input name="_csrf_token" value="abc"> 5 févr. 2017, 12:00:00 · '
        "3 déc. 2026, 17:37:58 · IDF-2017-0001 · CVL-2026-0002 · 2017-09-04 · "
        "SHA-256 0123456789abcdef… · 2017</main>"
    )
    assert normalise(html, today=date(2026, 12, 3)) == (
        '<main><input name="_csrf_token" value="‹csrf›"> 5 févr. 2017, 12:00:00 · '
        "‹now› · IDF-2017-0001 · CVL-‹year›-0002 · 2017-09-04 · "
        "SHA-256 ‹sha256›… · 2017</main>"
    )
