"""A refused decision: a ``DomainError`` with its message written where the rule is."""

from __future__ import annotations

from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_

TOO_LONG = N_("This text is too long.")
NOT_FOUND = N_("Not found.")


class DecisionError(DomainError):
    """A refused decision, with its message and the form field it is about."""
