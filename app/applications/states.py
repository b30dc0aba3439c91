"""The life of an application, as data: who may fire which action from which state.

Applicants see the French labels of ``../shared/product.md``; staff see the same.
Decisions stay private: until the committee publishes them, applicants see
« en cours d'évaluation » for reviewed, awarded, rejected and waitlisted files.
"""

from app.core.i18n import gettext_noop as N_
from app.core.states import Machine, Transition

LABELS = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "to_complete": N_("to complete"),
    "eligible": N_("eligible"),
    "ineligible": N_("ineligible"),
    "in_review": N_("under review"),
    "reviewed": N_("reviewed"),
    "awarded": N_("grant awarded"),
    "rejected": N_("not selected"),
    "waitlisted": N_("waiting list"),
    "withdrawn": N_("withdrawn"),
}

REVIEWABLE = frozenset({"eligible", "in_review", "reviewed"})
DECIDABLE = frozenset({"eligible", "in_review", "reviewed", "waitlisted"})

APPLICATION = Machine(
    "application",
    LABELS,
    [
        Transition("submit", frozenset({"draft", "to_complete"}), "submitted", "applicant"),
        Transition(
            "withdraw",
            frozenset(
                {"draft", "submitted", "to_complete", "eligible", "in_review", "reviewed"}
                | {"waitlisted"}
            ),
            "withdrawn",
            "applicant",
        ),
        Transition("request_completion", frozenset({"submitted"}), "to_complete", "officer"),
        Transition("mark_eligible", frozenset({"submitted"}), "eligible", "officer"),
        Transition(
            "mark_ineligible", frozenset({"submitted", "to_complete"}), "ineligible", "officer"
        ),
        # The review: reviewers assigned to an eligible file; every assigned review
        # submitted; one reopened or a reviewer added.
        Transition("start_review", frozenset({"eligible"}), "in_review", "officer"),
        Transition("reviews_complete", frozenset({"in_review"}), "reviewed", "system"),
        Transition("reviews_reopened", frozenset({"reviewed"}), "in_review", "system"),
        # The committee's decisions, applied when an officer publishes them.
        Transition("award", DECIDABLE, "awarded", "officer"),
        Transition("reject", DECIDABLE, "rejected", "officer"),
        Transition("waitlist", REVIEWABLE, "waitlisted", "officer"),
    ],
)

EDITABLE = frozenset({"draft", "to_complete"})
FINAL = frozenset({"ineligible", "rejected", "withdrawn"})

# What pages say about a file, by state (instead of comparing status strings there).
DRAFTING = frozenset({"draft"})  # not yet submitted: the call's deadline applies
SENT_BACK = frozenset({"to_complete"})  # the officer's message and deadline apply
SCREENED_OUT = frozenset({"ineligible"})  # the screening reason is shown
DECIDED = frozenset({"awarded", "rejected", "waitlisted"})  # set when decisions are published


def applicant_status(status: str) -> str:
    """The state the organisation sees: decisions stay private until published, so a
    reviewed file still reads « under review »."""
    return "in_review" if status == "reviewed" else status
