"""The life of an application, as data: who may fire which action from which state.

Applicants see the French labels of ``../shared/product.md``; staff see the same.
Decisions stay private: until the committee publishes them, applicants see
« en cours d'évaluation » for reviewed, awarded, rejected and waitlisted files.
"""

from app.core.i18n import gettext_noop as N_

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

# action -> (states it may start from, state it leads to, role that fires it)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "submit": (frozenset({"draft", "to_complete"}), "submitted", "applicant"),
    "withdraw": (
        frozenset(
            {"draft", "submitted", "to_complete", "eligible", "in_review", "reviewed", "waitlisted"}
        ),
        "withdrawn",
        "applicant",
    ),
    "request_completion": (frozenset({"submitted"}), "to_complete", "officer"),
    "mark_eligible": (frozenset({"submitted"}), "eligible", "officer"),
    "mark_ineligible": (frozenset({"submitted", "to_complete"}), "ineligible", "officer"),
    # The review: every assigned review submitted; one reopened or a reviewer added.
    "reviews_complete": (frozenset({"in_review"}), "reviewed", "system"),
    "reviews_reopened": (frozenset({"reviewed"}), "in_review", "system"),
    # The committee's decisions, applied when an officer publishes them.
    "award": (frozenset({"eligible", "in_review", "reviewed", "waitlisted"}), "awarded", "officer"),
    "reject": (
        frozenset({"eligible", "in_review", "reviewed", "waitlisted"}),
        "rejected",
        "officer",
    ),
    "waitlist": (frozenset({"eligible", "in_review", "reviewed"}), "waitlisted", "officer"),
}

EDITABLE = frozenset({"draft", "to_complete"})
FINAL = frozenset({"ineligible", "rejected", "withdrawn"})


def can(action: str, state: str, role: str) -> bool:
    sources, _target, who = TRANSITIONS[action]
    return state in sources and role == who


def target(action: str) -> str:
    return TRANSITIONS[action][1]
