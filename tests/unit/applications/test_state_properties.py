"""The application state machine against any sequence of attempted actions
(hypothesis): only allowed moves happen, final states stay final, nobody reaches a
decision without submission and screening, applicants never fire staff actions."""

from hypothesis import given
from hypothesis import strategies as st

from app.applications import states

MACHINE = states.APPLICATION
ACTIONS = sorted(MACHINE.transitions)
ROLES = ["applicant", "officer", "reviewer", "finance", "admin"]
attempts = st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ROLES)), max_size=40)


@given(attempts)
def test_no_sequence_reaches_a_forbidden_state(sequence):
    state, seen = "draft", ["draft"]
    for action, role in sequence:
        transition = MACHINE.transitions[action]
        sources, target, who = transition.sources, transition.target, transition.who
        allowed = MACHINE.can(action, state, role)
        assert allowed == (state in sources and role == who)
        if role != who:
            assert not allowed  # applicants never screen or decide; staff never submit
        if state in states.FINAL:
            assert not allowed, (state, action)
        if allowed:
            state = target
            seen.append(state)
    if state in {"awarded", "rejected", "waitlisted", "eligible", "in_review", "reviewed"}:
        # A decision or a review needs a submission screened eligible first.
        assert "submitted" in seen and "eligible" in seen
        assert seen.index("submitted") < seen.index("eligible")
    if state == "ineligible":
        assert "submitted" in seen
    assert state in states.LABELS


@given(attempts)
def test_only_a_draft_or_a_file_to_complete_is_editable_by_its_applicant(sequence):
    state = "draft"
    for action, role in sequence:
        if MACHINE.can(action, state, role):
            state = MACHINE.target(action)
        assert (state in states.EDITABLE) == (state in {"draft", "to_complete"})
        if state not in states.EDITABLE:
            assert not MACHINE.can("submit", state, "applicant")


def test_an_awarded_file_cannot_be_withdrawn_or_decided_again():
    for action in ACTIONS:
        for role in ROLES:
            assert not MACHINE.can(action, "awarded", role), action


# Every status × action: who may fire it from there (the rest is refused).
ALLOWED = {
    "draft": {"submit": "applicant", "withdraw": "applicant"},
    "submitted": {
        "withdraw": "applicant",
        "request_completion": "officer",
        "mark_eligible": "officer",
        "mark_ineligible": "officer",
    },
    "to_complete": {"submit": "applicant", "withdraw": "applicant", "mark_ineligible": "officer"},
    "eligible": {
        "withdraw": "applicant",
        "start_review": "officer",
        "award": "officer",
        "reject": "officer",
        "waitlist": "officer",
    },
    "ineligible": {},
    "in_review": {
        "withdraw": "applicant",
        "reviews_complete": "system",
        "award": "officer",
        "reject": "officer",
        "waitlist": "officer",
    },
    "reviewed": {
        "withdraw": "applicant",
        "reviews_reopened": "system",
        "award": "officer",
        "reject": "officer",
        "waitlist": "officer",
    },
    "awarded": {},
    "rejected": {},
    "waitlisted": {"withdraw": "applicant", "award": "officer", "reject": "officer"},
    "withdrawn": {},
}


def test_the_table_of_allowed_and_refused_transitions():
    import pytest

    from app.core.domain import DomainError

    assert set(ALLOWED) == set(MACHINE.states)
    for state in MACHINE.states:
        for action in ACTIONS:
            for who in ["applicant", "officer", "system"]:
                if ALLOWED[state].get(action) == who:
                    assert MACHINE.fire(action, state, who) == MACHINE.target(action)
                else:
                    with pytest.raises(DomainError):
                        MACHINE.fire(action, state, who)
        assert MACHINE.allowed(state, ["applicant", "officer", "system"]) == set(ALLOWED[state])
