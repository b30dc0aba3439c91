"""The life of a call as a table: every status × action, allowed or refused; and what
each status leaves open to change (read by the pages instead of the status)."""

import pytest

from app.calls import states
from app.calls.services import CallStage
from app.core.domain import DomainError

MACHINE = states.CALL
ACTIONS = sorted(MACHINE.transitions)
SIDES = ["applicant", "officer", "finance", "system"]

# Every status: the actions officers may take from it (anything else is refused).
ALLOWED = {
    "draft": {"publish": "published"},
    "published": {"close": "closed"},
    "closed": {"archive": "archived"},
    "archived": {},
}


def test_the_table_of_allowed_and_refused_transitions():
    assert set(ALLOWED) == set(MACHINE.states)
    for state in MACHINE.states:
        for action in ACTIONS:
            for who in SIDES:
                if who == "officer" and action in ALLOWED[state]:
                    assert MACHINE.fire(action, state, who) == ALLOWED[state][action]
                else:
                    with pytest.raises(DomainError):
                        MACHINE.fire(action, state, who)
        assert MACHINE.allowed(state, SIDES) == set(ALLOWED[state])


def test_a_call_never_goes_back():
    order = ["draft", "published", "closed", "archived"]
    for transition in MACHINE.transitions.values():
        assert all(order.index(transition.target) > order.index(s) for s in transition.sources)


def test_the_action_buttons_cover_every_transition_once():
    assert list(states.ACTION_LABELS) == ["publish", "close", "archive"]
    assert set(states.ACTION_LABELS) == set(MACHINE.transitions)


# status -> (public, setup_open, form_open, form_compatible_only, rubric_open)
OPEN = {
    "draft": (False, True, True, False, True),
    "published": (True, False, True, True, True),
    "closed": (True, False, False, False, False),
    "archived": (True, False, False, False, False),
}


@pytest.mark.parametrize("status", sorted(OPEN))
def test_what_each_status_leaves_open(status):
    stage = CallStage.of({"status": status, "rubric_locked_at": None})
    assert (
        stage.public,
        stage.setup_open,
        stage.form_open,
        stage.form_compatible_only,
        stage.rubric_open,
    ) == OPEN[status]
    assert stage.actions == tuple(ALLOWED[status])


def test_a_rubric_scored_against_is_closed_whatever_the_status():
    for status in OPEN:
        assert not CallStage.of({"status": status, "rubric_locked_at": "2017-03-01"}).rubric_open
