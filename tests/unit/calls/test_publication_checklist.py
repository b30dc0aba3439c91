"""The checklist before a call is published: a pure rule on the call as stored."""

from datetime import UTC, datetime, timedelta

from app.calls.services import checklist

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def a_call(**overrides):
    call = {
        "opens_at": NOW - timedelta(days=1),
        "closes_at": NOW + timedelta(days=30),
        "envelope_cents": 100_000_000,
        "form": {"sections": [{"key": "s1", "title": "Public", "fields": [{"key": "f1"}]}]},
        "documents": [{"key": "d1"}],
        "rubric": [{"key": "c1"}],
    }
    return {**call, **overrides}


def blocking(call, review_planned=False):
    return [
        i.code
        for i in checklist(call, review_planned=review_planned, at=NOW)
        if i.blocking and not i.ok
    ]


def test_a_complete_call_has_nothing_blocking():
    assert blocking(a_call(), review_planned=True) == []


def test_a_closing_date_past_or_now_blocks():
    assert blocking(a_call(closes_at=NOW - timedelta(minutes=1))) == ["closes_at"]
    assert blocking(a_call(closes_at=NOW)) == ["closes_at"]


def test_an_opening_date_past_is_only_noted():
    items = {i.code: i for i in checklist(a_call(), review_planned=False, at=NOW)}
    assert items["opens_at"].ok and not items["opens_at"].blocking
    later = {
        i.code: i
        for i in checklist(a_call(opens_at=NOW + timedelta(days=2)), review_planned=False, at=NOW)
    }
    assert later["opens_at"].params  # the date is said


def test_envelope_form_and_documents_are_required():
    assert blocking(a_call(envelope_cents=0)) == ["envelope"]
    assert blocking(a_call(form={"sections": [{"key": "s", "title": "x", "fields": []}]})) == [
        "form"
    ]
    assert blocking(a_call(documents=[])) == ["documents"]


def test_the_rubric_blocks_only_once_the_review_is_set_up():
    assert blocking(a_call(rubric=[]), review_planned=False) == []
    rubric = next(
        i for i in checklist(a_call(rubric=[]), review_planned=False, at=NOW) if i.code == "rubric"
    )
    assert not rubric.ok and not rubric.blocking  # said, not blocking
    assert blocking(a_call(rubric=[]), review_planned=True) == ["rubric"]


def test_each_failed_item_says_where_to_fix_it():
    call = a_call(
        closes_at=NOW - timedelta(days=1),
        envelope_cents=0,
        documents=[],
        rubric=[],
        form={"sections": []},
    )
    fixes = {
        i.code: (i.fix, i.field) for i in checklist(call, review_planned=True, at=NOW) if not i.ok
    }
    assert fixes == {
        "closes_at": ("settings", "closes_at"),
        "envelope": ("settings", "envelope"),
        "form": ("form", ""),
        "documents": ("documents", ""),
        "rubric": ("rubric", ""),
    }
