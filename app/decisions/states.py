"""The life of a letter batch (the letters of one publication, written off the
request path), as data: its status is written only through these transitions.

The decisions themselves move the files on through ``applications.states.APPLICATION``
(award, reject, waitlist, when an officer publishes them)."""

from __future__ import annotations

from app.core.i18n import gettext_noop as N_
from app.core.states import Machine, Transition

LABELS = {
    "pending": N_("queued"),
    "running": N_("being written"),
    "done": N_("written"),
    "failed": N_("stopped on an error"),
}

IN_PROGRESS = frozenset({"pending", "running"})

LETTER_BATCH = Machine(
    "letter_batch",
    LABELS,
    [
        # A worker takes a queued batch, one whose worker fell silent, or one that
        # failed a while ago (the claim's query says how long: jobs._claimable).
        Transition("claim", frozenset({"pending", "running", "failed"}), "running", "system"),
        Transition("finish", frozenset({"running"}), "done", "system"),
        Transition("fail", frozenset({"running"}), "failed", "system"),
    ],
)
