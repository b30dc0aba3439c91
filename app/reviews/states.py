"""The life of one review (a reviewer's assignment to a file), as data.

Its state is not a column: a review is a ``draft`` until its ``submitted_at`` is set,
``submitted`` after; declining it (a conflict of interest) or taking it back removes
the assignment. The table says who may do what from each state; services ask it
before they write, pages show the buttons of ``REVIEW.allowed``."""

from __future__ import annotations

from datetime import datetime

from app.core.i18n import gettext_noop as N_
from app.core.states import Machine, Transition

LABELS = {
    "draft": N_("draft review"),
    "submitted": N_("review submitted"),
    "removed": N_("review given back"),
}

DRAFT = frozenset({"draft"})

REVIEW = Machine(
    "review",
    LABELS,
    [
        # The reviewer, on a review not submitted yet.
        Transition("save", DRAFT, "draft", "reviewer"),
        Transition("submit", DRAFT, "submitted", "reviewer"),
        Transition("decline", DRAFT, "removed", "reviewer"),  # a conflict of interest
        # The officer: a submitted review reopened, an unsubmitted one taken back.
        Transition("reopen", frozenset({"submitted"}), "draft", "officer"),
        Transition("unassign", DRAFT, "removed", "officer"),
    ],
)


def state_of(submitted_at: datetime | None) -> str:
    return "draft" if submitted_at is None else "submitted"
