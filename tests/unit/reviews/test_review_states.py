"""The life of one review as data (``reviews.states.REVIEW``): every state × action,
who may fire it from there; the rest is refused."""

from datetime import UTC, datetime

import pytest

from app.core.domain import DomainError
from app.reviews.states import REVIEW, state_of

SIDES = ["reviewer", "officer", "system", "applicant"]
ALLOWED = {
    "draft": {
        "save": "reviewer",
        "submit": "reviewer",
        "decline": "reviewer",
        "unassign": "officer",
    },
    "submitted": {"reopen": "officer"},
    "removed": {},
}


def test_the_table_of_allowed_and_refused_transitions():
    assert set(ALLOWED) == set(REVIEW.states)
    for state in REVIEW.states:
        for action in REVIEW.transitions:
            for who in SIDES:
                if ALLOWED[state].get(action) == who:
                    assert REVIEW.fire(action, state, who) == REVIEW.target(action)
                else:
                    with pytest.raises(DomainError):
                        REVIEW.fire(action, state, who)
        assert REVIEW.allowed(state, SIDES) == set(ALLOWED[state])


def test_a_submitted_review_changes_only_once_reopened():
    assert REVIEW.target("submit") == "submitted" and REVIEW.target("reopen") == "draft"
    for action in ("save", "submit", "decline", "unassign"):
        assert not REVIEW.allowed("submitted", SIDES) & {action}


def test_the_state_is_read_from_the_submission_date():
    assert state_of(None) == "draft"
    assert state_of(datetime.now(UTC)) == "submitted"
