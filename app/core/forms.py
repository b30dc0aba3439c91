"""Form handling shared by controllers: typed values kept, field errors in the
user's language, 422 for a refused form (htmx swaps it too: see base.html's config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class FormState:
    """What the person typed and what is wrong with it, field by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after a form, never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\x00"):
        return default
    return target
