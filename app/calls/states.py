"""The life of a call, as data: draft → published → closed → archived, each step
fired by the officers who run it; and what each state leaves open to change."""

from app.core.i18n import gettext_noop as N_
from app.core.states import Machine, Transition

LABELS = {
    "draft": N_("draft"),
    "published": N_("published"),
    "closed": N_("closed"),
    "archived": N_("archived"),
}

CALL = Machine(
    "call",
    LABELS,
    [
        Transition("publish", frozenset({"draft"}), "published", "officer"),
        Transition("close", frozenset({"published"}), "closed", "officer"),
        Transition("archive", frozenset({"closed"}), "archived", "officer"),
    ],
)

# The buttons of the call's page, in this order.
ACTION_LABELS = {
    "publish": N_("Publish the call"),
    "close": N_("Close the call"),
    "archive": N_("Archive the call"),
}

# Eligibility questions and documents: fixed once applicants may have answered.
SETUP_OPEN = frozenset({"draft"})
# The form: changed freely as a draft, compatibly once published, then no more.
FORM_OPEN = frozenset({"draft", "published"})
FORM_COMPATIBLE_ONLY = frozenset({"published"})
# The rubric: until the call closes (and no review is scored against it).
RUBRIC_OPEN = frozenset({"draft", "published"})
# Settings: until the call is archived.
SETTINGS_OPEN = frozenset({"draft", "published", "closed"})
# Anyone may read the call (never a draft).
PUBLIC = frozenset({"published", "closed", "archived"})
