"""The proportional reduction and the instalment state machine."""

from hypothesis import given
from hypothesis import strategies as st

from app.grants.services import INSTALMENT_TRANSITIONS, can, reduced_total


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


@given(
    st.lists(st.sampled_from(sorted(INSTALMENT_TRANSITIONS)), max_size=20),
    st.sampled_from(["officer", "finance", "admin", "system", "applicant"]),
)
def test_no_action_leaves_a_paid_or_cancelled_instalment(actions, role):
    state = "scheduled"
    for action in actions:
        if can(action, state, role):
            state = INSTALMENT_TRANSITIONS[action][1]
        assert state in ("scheduled", "due", "approved", "cancelled")
    for action in INSTALMENT_TRANSITIONS:
        for who in ("officer", "finance", "admin", "system", "applicant"):
            assert not can(action, "paid", who)
            assert not can(action, "cancelled", who)
    # Finance never approves; applicants never act on instalments.
    assert not any(
        can(a, s, "applicant")
        for a in INSTALMENT_TRANSITIONS
        for s in ("scheduled", "due", "approved")
    )
    assert not can("approve", "due", "finance")
