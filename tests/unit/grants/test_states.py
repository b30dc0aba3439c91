"""The state tables of grants, instalments, reports and recoveries: for every status,
every action and every side, what is allowed (and where it leads) and what is refused."""

import pytest

from app.core.domain import DomainError
from app.grants import states

SIDES = ["applicant", "officer", "finance", "system"]

# machine -> status -> {action: side allowed to fire it from there}; the rest is refused.
ALLOWED = {
    states.GRANT: {
        "awaiting_acceptance": {"accept": "applicant"},
        "active": {},
    },
    states.INSTALMENT: {
        "scheduled": {"make_due": "system", "cancel": "officer", "cancel_by_reduction": "officer"},
        "due": {"approve": "officer", "cancel": "officer", "cancel_by_reduction": "officer"},
        "approved": {"pay": "finance", "cancel": "officer", "cancel_by_reduction": "officer"},
        "paid": {"reverse_payment": "finance"},
        "cancelled": {},
    },
    states.REPORT: {
        "draft": {"submit": "applicant"},
        "submitted": {"approve": "officer", "send_back": "officer"},
        "approved": {},
        "returned": {"submit": "applicant"},
    },
    states.RECOVERY: {
        "open": {"receive": "finance", "receive_part": "finance"},
        "received": {},
    },
}

TARGETS = {
    states.GRANT: {"accept": "active"},
    states.INSTALMENT: {
        "make_due": "due",
        "approve": "approved",
        "cancel": "cancelled",
        "cancel_by_reduction": "cancelled",
        "pay": "paid",
        "reverse_payment": "approved",
    },
    states.REPORT: {"submit": "submitted", "approve": "approved", "send_back": "returned"},
    states.RECOVERY: {"receive": "received", "receive_part": "open"},
}


@pytest.mark.parametrize("machine", list(ALLOWED), ids=lambda m: m.name)
def test_the_table_of_allowed_and_refused_transitions(machine):
    assert set(ALLOWED[machine]) == set(machine.states)
    assert set(TARGETS[machine]) == set(machine.transitions)
    for state in machine.states:
        for action in machine.transitions:
            for who in SIDES:
                if ALLOWED[machine][state].get(action) == who:
                    assert machine.fire(action, state, who) == TARGETS[machine][action]
                else:
                    with pytest.raises(DomainError):
                        machine.fire(action, state, who)
        assert machine.allowed(state, SIDES) == set(ALLOWED[machine][state])


def test_what_may_still_change():
    # An amendment moves amounts not yet approved nor paid; the organisation writes in a
    # draft or a report sent back; a report submitted or approved is « in ».
    assert {"scheduled", "due"} == states.AMENDABLE
    assert {"draft", "returned"} == states.REPORT_EDITABLE
    assert {"submitted", "approved"} == states.REPORT_IN
    assert {"scheduled", "due", "approved"} == states.UNPAID


def test_bulk_steps_are_fired_by_their_side():
    step = states.INSTALMENT.step("make_due", "system")
    assert (step.sources, step.target) == ({"scheduled"}, "due")
    with pytest.raises(ValueError):
        states.INSTALMENT.step("make_due", "officer")
