"""The one error type of a refused action: a rule of the domain said no.

The message is written where the rule is, in English marked with ``N_`` (translated
when shown), with ``%(name)s`` placeholders filled from ``params``; ``field`` names the
form field it is about, so the page can show it there and link to it from the error
summary (``FormState.refuse``). Services raise it; routes never look up a message by
code, and there is no fallback text: an error without its message cannot be raised.
"""

from __future__ import annotations

from typing import Any

from app.core import i18n


class DomainError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None, **params: Any):
        if not message:
            raise ValueError(f"DomainError {code!r} needs its message")
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field
        self.params = params

    def text(self) -> str:
        """The message in the current language, its placeholders filled."""
        message = i18n.gettext(self.message)
        return message % self.params if self.params and "%(" in message else message

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, field={self.field!r})"
