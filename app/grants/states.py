"""The lives of a grant and of its parts, as data: who may fire which action from which
state (``core.states.Machine``). Every status write of this domain goes through one of
these tables; pages show the actions ``allowed`` from a status, never a comparison
with a status string.

The sides (``who``): ``applicant`` (the organisation's members), ``officer``
(instruction: approve, cancel, examine reports, reduce), ``finance`` (payments,
reversals, recoveries received) and ``system`` (what a date, an acceptance or an
approved report makes due). Which staff role holds which side is ``app.permissions``'.
"""

from __future__ import annotations

from app.core.i18n import gettext_noop as N_
from app.core.states import Machine, Transition

# --- The grant --------------------------------------------------------------------------------

GRANT = Machine(
    "grant",
    {
        "awaiting_acceptance": N_("not yet accepted"),
        "active": N_("accepted"),
    },
    [
        # The organisation accepts the award online: the follow-up starts.
        Transition("accept", frozenset({"awaiting_acceptance"}), "active", "applicant"),
    ],
)

# --- Instalments (échéances) -----------------------------------------------------------------

UNPAID = frozenset({"scheduled", "due", "approved"})

INSTALMENT = Machine(
    "instalment",
    {
        "scheduled": N_("scheduled"),
        "due": N_("due"),
        "approved": N_("approved for payment"),
        "paid": N_("paid"),
        "cancelled": N_("cancelled"),
    },
    [
        # Its trigger came: the acceptance, the approval of a report, its date.
        Transition("make_due", frozenset({"scheduled"}), "due", "system"),
        Transition("approve", frozenset({"due"}), "approved", "officer"),
        # The funder will not pay it (with a reason; refused once part of it is paid).
        Transition("cancel", UNPAID, "cancelled", "officer"),
        # The proportional reduction after the final report takes the whole of it.
        Transition("cancel_by_reduction", UNPAID, "cancelled", "officer"),
        # Payments against an approved instalment; the one that covers it pays it.
        Transition("pay", frozenset({"approved"}), "paid", "finance"),
        # A payment of a paid instalment is reversed: it is approved for payment again.
        Transition("reverse_payment", frozenset({"paid"}), "approved", "finance"),
    ],
)

# No instalment of a grant that needs a written agreement is approved before that
# agreement is in force (signed by both parties, or its scan accepted): the actions
# of ``INSTALMENT`` that wait for it (loi n° 2000-321 art. 10).
WAIT_FOR_AGREEMENT = frozenset({"approve"})


def agreement_holds_back(action: str, *, required: bool, in_force: bool) -> bool:
    """Whether ``action`` on an instalment must wait for the grant's agreement."""
    return action in WAIT_FOR_AGREEMENT and required and not in_force


# Amounts an amendment (avenant) may still move: not yet approved nor paid.
AMENDABLE = frozenset({"scheduled", "due"})

# --- Reports (bilans) -------------------------------------------------------------------------

REPORT = Machine(
    "report",
    {
        "draft": N_("draft"),
        "submitted": N_("submitted"),
        "approved": N_("approved"),
        "returned": N_("sent back"),
    },
    [
        # Submitted first, or again once sent back for corrections.
        Transition("submit", frozenset({"draft", "returned"}), "submitted", "applicant"),
        Transition("approve", frozenset({"submitted"}), "approved", "officer"),
        Transition("send_back", frozenset({"submitted"}), "returned", "officer"),
    ],
)

# A report its organisation may still write in (figures, narrative, documents).
REPORT_EDITABLE = REPORT.sources("submit")
# Submitted or approved: no reminder any more, not overdue.
REPORT_IN = frozenset({"submitted", "approved"})

# --- Recoveries (reversements) ----------------------------------------------------------------

RECOVERY = Machine(
    "recovery",
    {"open": N_("open"), "received": N_("received")},
    [
        # Part of it paid back (a ledger entry of that part): it stays open.
        Transition("receive_part", frozenset({"open"}), "open", "finance"),
        # The rest paid back (the entry that covers it): received.
        Transition("receive", frozenset({"open"}), "received", "finance"),
    ],
)

# --- The written agreement (convention) -------------------------------------------------------

AGREEMENT = Machine(
    "agreement",
    {
        "to_sign": N_("to sign by the organisation"),
        "to_countersign": N_("signed by the organisation, to countersign"),
        "signed": N_("signed by both parties"),
        "uploaded": N_("received, to check"),
        "accepted": N_("accepted"),
        "refused": N_("refused"),
        "replaced": N_("replaced"),
    },
    [
        # Online: the organisation's legal representative signs, then staff holding the
        # signing delegation countersign.
        Transition("sign", frozenset({"to_sign"}), "to_countersign", "applicant"),
        Transition("countersign", frozenset({"to_countersign"}), "signed", "officer"),
        # Generated again before anyone signed it (the text or the grant changed).
        Transition("replace", frozenset({"to_sign"}), "replaced", "officer"),
        # A printed-and-scanned copy: an officer checks it.
        Transition("accept", frozenset({"uploaded"}), "accepted", "officer"),
        Transition("refuse", frozenset({"uploaded"}), "refused", "officer"),
    ],
)

# An agreement that binds both parties: the grant's instalments may be approved.
AGREEMENT_IN_FORCE = frozenset({"signed", "accepted"})
# Under way: no other version is generated or uploaded meanwhile.
AGREEMENT_PENDING = frozenset({"to_sign", "to_countersign", "uploaded"})
