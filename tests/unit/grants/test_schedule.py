"""Instalment schedules: parts always add up to the award, the remainder cent last."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.grants import schedule as schedules
from app.grants.schedule import ScheduleError


def percent_schedule(values, triggers=None):
    triggers = triggers or ["acceptance"] * len(values)
    return {
        "mode": "percent",
        "items": [
            {"value": str(v), "trigger": t, "date": None}
            for v, t in zip(values, triggers, strict=True)
        ],
    }


@st.composite
def percent_lists(draw):
    """Up to six positive percentages with two decimals adding up to 100."""
    n = draw(st.integers(min_value=1, max_value=6))
    cuts = sorted(
        draw(st.lists(st.integers(1, 9_999), min_size=n - 1, max_size=n - 1, unique=True))
    )
    bounds = [0, *cuts, 10_000]
    return [Decimal(b - a) / 100 for a, b in itertools.pairwise(bounds)]


@given(total=st.integers(min_value=0, max_value=10**12), shares=percent_lists())
def test_percentages_add_up_exactly_with_the_remainder_last(total, shares):
    parts = schedules.amounts(total, percent_schedule(shares))
    cents = [p.amount_cents for p in parts]
    assert sum(cents) == total
    assert all(c >= 0 for c in cents)
    # Every part but the last is rounded down; the last takes what is left.
    for part, share in zip(cents[:-1], shares[:-1], strict=True):
        assert part == int(total * share / 100)


def test_fifty_thirty_twenty_of_two_hundred_thousand_euros():
    parts = schedules.amounts(20_000_000, schedules.PRESETS["50-30-20"])
    assert [(p.amount_cents, p.trigger) for p in parts] == [
        (10_000_000, "acceptance"),
        (6_000_000, "interim_report"),
        (4_000_000, "final_report"),
    ]


def test_a_third_each_gives_the_cent_to_the_last():
    parts = schedules.amounts(100, percent_schedule(["33.33", "33.33", "33.34"]))
    assert [p.amount_cents for p in parts] == [33, 33, 34]
    parts = schedules.amounts(1, percent_schedule(["50", "50"]))
    assert [p.amount_cents for p in parts] == [0, 1]


@given(amounts=st.lists(st.integers(1, 10**9), min_size=1, max_size=6), delta=st.integers(-5, 5))
def test_amounts_must_add_up_to_the_award(amounts, delta):
    schedule = {
        "mode": "amount",
        "items": [{"value": a, "trigger": "acceptance", "date": None} for a in amounts],
    }
    if delta == 0:
        assert [p.amount_cents for p in schedules.amounts(sum(amounts), schedule)] == amounts
    else:
        with pytest.raises(ScheduleError) as caught:
            schedules.amounts(sum(amounts) + delta, schedule)
        assert caught.value.code == "amount_total"


@pytest.mark.parametrize(
    ("schedule", "code"),
    [
        (percent_schedule(["60", "30"]), "percent_total"),
        (percent_schedule(["100.001"]), "percent"),
        (percent_schedule(["0", "100"]), "percent"),
        (percent_schedule(["NaN"]), "percent"),
        (percent_schedule(["100"], ["whenever"]), "trigger"),
        (percent_schedule(["100"], ["date"]), "date"),
        ({"mode": "percent", "items": []}, "empty"),
        ({"mode": "shares", "items": []}, "mode"),
        (percent_schedule(["10"] * 10), "too_many"),
    ],
)
def test_malformed_schedules_are_refused(schedule, code):
    with pytest.raises(ScheduleError) as caught:
        schedules.amounts(10_000, schedule)
    assert caught.value.code == code


def test_form_round_trip_and_row_errors():
    values = {
        "schedule_preset": "custom",
        "schedule_mode": "amount",
        "schedule_value_1": "1 000,50",
        "schedule_trigger_1": "acceptance",
        "schedule_value_2": "499,50",
        "schedule_trigger_2": "date",
        "schedule_date_2": "2027-03-31",
    }
    parsed = schedules.parse_form(values)
    assert [i["value"] for i in parsed["items"]] == [100_050, 49_950]
    assert schedules.parse_form(schedules.form_values(parsed)) == parsed
    assert schedules.preset_of(schedules.PRESETS["50-50"]) == "50-50"
    with pytest.raises(ScheduleError) as caught:
        schedules.parse_form({**values, "schedule_value_2": "beaucoup"})
    assert (caught.value.code, caught.value.row) == ("amount", 2)


def test_a_refused_schedule_carries_its_message_and_field():
    """The message is written with the rule: the form shows it on the row's field (or
    the preset, or the first value for a total), in the form's own prefix."""
    from app.core import i18n

    values = {
        "sheet_preset": "custom",
        "sheet_mode": "percent",
        "sheet_value_1": "60",
        "sheet_trigger_1": "acceptance",
        "sheet_value_2": "30",
        "sheet_trigger_2": "nowhere",
    }
    with i18n.use_locale("en"):
        with pytest.raises(ScheduleError) as caught:
            schedules.parse_form(values, prefix="sheet")
        assert caught.value.field == "sheet_value_2"
        assert caught.value.text() == "Instalment 2: choose when it is paid."
        with pytest.raises(ScheduleError) as caught:
            schedules.parse_form({**values, "sheet_trigger_2": "acceptance"}, prefix="sheet")
        assert (caught.value.code, caught.value.field) == ("percent_total", "sheet_value_1")
        assert caught.value.text() == "The percentages must add up to 100 %."
        with pytest.raises(ScheduleError) as caught:
            schedules.parse_form({"sheet_preset": "weekly"}, prefix="sheet")
        assert caught.value.field == "sheet_preset"
    with i18n.use_locale("fr"):
        with pytest.raises(ScheduleError) as caught:
            schedules.parse_form(values, prefix="sheet")
        assert caught.value.text().startswith("Échéance 2")
