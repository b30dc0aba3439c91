"""The life of a letter batch as data (``decisions.states.LETTER_BATCH``): every
status × action; only the system (the batch's worker) moves it on."""

import pytest

from app.core.domain import DomainError
from app.decisions import jobs
from app.decisions.states import IN_PROGRESS, LETTER_BATCH

SIDES = ["system", "officer", "applicant"]
ALLOWED = {
    "pending": {"claim": "system"},
    "running": {"claim": "system", "finish": "system", "fail": "system"},
    "done": {},
    "failed": {"claim": "system"},
}


def test_the_table_of_allowed_and_refused_transitions():
    assert set(ALLOWED) == set(LETTER_BATCH.states)
    for state in LETTER_BATCH.states:
        for action in LETTER_BATCH.transitions:
            for who in SIDES:
                if ALLOWED[state].get(action) == who:
                    assert LETTER_BATCH.fire(action, state, who) == LETTER_BATCH.target(action)
                else:
                    with pytest.raises(DomainError):
                        LETTER_BATCH.fire(action, state, who)
        assert LETTER_BATCH.allowed(state, SIDES) == set(ALLOWED[state])


def test_the_worker_writes_the_statuses_of_the_table():
    """The batch machinery writes no status of its own: claim, finish and fail are the
    table's (a written batch is never claimed again)."""
    assert (jobs.CLAIM.target, jobs.FINISH.target, jobs.FAIL.target) == (
        "running",
        "done",
        "failed",
    )
    assert "done" not in jobs.CLAIM.sources
    assert {"pending", "running"} == IN_PROGRESS
    batch = jobs.LetterBatch(id=1, status="running", total=3, done=1)
    assert batch.in_progress and not batch.finished and not batch.failed
