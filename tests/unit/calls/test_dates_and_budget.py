"""Paris date-times across summer time, and the forecast budget's rules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.applications import budget
from app.calls.services import CallError, _plus_one_year, paris_datetime
from app.core.time import paris_input as to_paris_input

PARIS = ZoneInfo("Europe/Paris")


def test_winter_and_summer_offsets():
    assert paris_datetime("2017-03-17T12:00") == datetime(2017, 3, 17, 11, 0, tzinfo=UTC)
    assert paris_datetime("2017-07-17T12:00") == datetime(2017, 7, 17, 10, 0, tzinfo=UTC)


def test_the_skipped_hour_in_spring_is_refused():
    with pytest.raises(CallError) as err:
        paris_datetime("2017-03-26T02:30")
    assert err.value.code == "datetime_gap"


def test_the_repeated_hour_in_autumn_is_the_first_one():
    assert paris_datetime("2017-10-29T02:30") == datetime(2017, 10, 29, 0, 30, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    )
)
def test_shown_then_typed_gives_the_same_instant(naive):
    instant = naive.replace(tzinfo=UTC)
    assert paris_datetime(to_paris_input(instant)) in (instant, instant - timedelta(hours=1))


def test_next_year_keeps_the_paris_wall_clock_across_offsets():
    closes = paris_datetime("2017-03-17T12:00")  # winter
    assert _plus_one_year(closes).astimezone(PARIS).strftime("%Y-%m-%d %H:%M") == "2018-03-17 12:00"


def b(charges=None, produits=None, requested=0):
    return budget.Budget(charges=charges or {}, produits=produits or {}, requested=requested)


def test_balanced_with_in_kind_contributions_left_out_of_the_rate():
    plan = b(
        {"64": 18_000_000, "60": 7_000_000, "86": 1_000_000},
        {"74_etat": 5_000_000, "87": 1_000_000},
        20_000_000,
    )
    assert plan.balanced
    assert plan.eligible_cost == 25_000_000
    assert plan.rate_bp() == 8000
    assert budget.problems(plan, min_cents=1, max_cents=30_000_000, max_rate_bp=8000) == []
    assert budget.problems(plan, min_cents=1, max_cents=30_000_000, max_rate_bp=7999) == [
        "rate_above_cap"
    ]


def test_problems_name_each_rule():
    assert budget.problems(b(), min_cents=100, max_cents=200, max_rate_bp=8000) == [
        "requested_missing",
        "charges_missing",
    ]
    assert "requested_below_min" in budget.problems(
        b({"60": 50}, {}, 50), min_cents=100, max_cents=200, max_rate_bp=10000
    )
    assert "requested_above_max" in budget.problems(
        b({"60": 300}, {}, 300), min_cents=100, max_cents=200, max_rate_bp=10000
    )
    assert "in_kind_not_balanced" in budget.problems(
        b({"60": 100, "86": 5}, {"87": 4}, 101), min_cents=1, max_cents=1000, max_rate_bp=10000
    )


@given(
    st.dictionaries(
        st.sampled_from([k for k, _ in budget.CHARGES]), st.integers(0, 10**11), max_size=9
    ),
    st.integers(1, 10**11),
)
def test_rate_is_never_understated(charges, requested):
    plan = b(charges, {}, requested)
    rate = plan.rate_bp()
    if rate is not None:
        assert rate * plan.eligible_cost >= requested * 10_000


def test_parse_reads_french_amounts_and_names_bad_lines():
    plan, errors = budget.parse(
        {"requested": "200 000", "budget_charges_64": "1 250,50 €", "budget_produits_70": "abc"}
    )
    assert plan.requested == 20_000_000 and plan.charges == {"64": 125_050}
    assert {k: e.code for k, e in errors.items()} == {"budget_produits_70": "money_invalid"}
