"""The proportional reduction and the instalment state machine (any sequence of
attempted actions; the full table is in test_states.py)."""

from hypothesis import given
from hypothesis import strategies as st

from app.grants.services import reduced_total
from app.grants.states import INSTALMENT


@given(
    amount=st.integers(0, 10**11),
    planned=st.integers(0, 10**11),
    actual=st.integers(-(10**6), 2 * 10**11),
)
def test_the_reduction_is_proportional_and_never_raises_the_award(amount, planned, actual):
    due = reduced_total(amount, planned, actual)
    assert 0 <= due <= amount
    if planned > 0 and 0 <= actual < planned:
        # Rounded down to the cent: the funder never pays a cent more than the rule.
        assert due * planned <= amount * actual < (due + 1) * planned


def test_two_hundred_thousand_euros_for_ninety_per_cent_spent():
    assert reduced_total(20_000_000, 40_000_000, 36_000_000) == 18_000_000


SIDES = ["officer", "finance", "system", "applicant"]


@given(
    st.lists(st.tuples(st.sampled_from(sorted(INSTALMENT.transitions)), st.sampled_from(SIDES))),
)
def test_no_action_leaves_a_cancelled_instalment_and_only_finance_pays(attempts):
    state = "scheduled"
    for action, who in attempts:
        before = state
        if INSTALMENT.can(action, state, who):
            state = INSTALMENT.fire(action, state, who)
        assert state in INSTALMENT.states
        if before == "cancelled":
            assert state == "cancelled"
        if state == "paid" and before != "paid":
            assert (before, who) == ("approved", "finance")
    for action in INSTALMENT.transitions:
        for who in SIDES:
            assert not INSTALMENT.can(action, "cancelled", who)
            # A paid instalment only goes back to approved, when its payment is reversed.
            if INSTALMENT.can(action, "paid", who):
                assert (action, who) == ("reverse_payment", "finance")
    # Finance never approves; applicants never act on instalments.
    assert not any(
        INSTALMENT.can(a, s, "applicant") for a in INSTALMENT.transitions for s in INSTALMENT.states
    )
    assert not INSTALMENT.can("approve", "due", "finance")
