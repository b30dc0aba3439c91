"""Form handling shared by controllers: typed values kept, field errors in the
user's language, 422 for a refused form (htmx swaps it too: see base.html's config)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from app.core.domain import DomainError
from app.core.i18n import gettext as _


@dataclass
class FormState:
    """What the person typed and what is wrong with it, field by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Prefix of the fields' ids, distinct for each form of a page (unique ids).
    prefix: str = "field"
    # The field's label, where its message alone would not say which field it is (the
    # error summary reads « Budget : Indiquez un montant… », not the message twice).
    labels: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str, label: str | None = None) -> None:
        self.errors.setdefault(name, message)
        if label:
            self.labels.setdefault(name, label)

    def refuse(self, exc: DomainError, field: str = "", label: str | None = None) -> None:
        """Show a refused action's message on the field it names (else on ``field``,
        the form's main one)."""
        self.error(exc.field or field, exc.text(), label)

    @property
    def ok(self) -> bool:
        return not self.errors


def valid_email(text: str) -> bool:
    """One plain address a person can receive mail at: no list, no display name,
    nothing under the reserved ``.invalid`` domain (used for erased accounts)."""
    text = text.strip()
    return (
        0 < len(text) <= 254
        and text.count("@") == 1
        and re.fullmatch(
            r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[^@\s<>,;:\"()\[\]\\.]+", text
        )
        is not None
        and not text.lower().endswith(".invalid")
    )


def require_email(form: FormState, name: str = "email", *, own: bool = True) -> None:
    """The address typed in ``name`` is there and valid; ``own``: the person's own
    address (else someone else's, as in invitations)."""
    value = form.values.get(name, "")
    if not value:
        form.error(
            name,
            _("Enter your email address.") if own else _("Enter the email address of the person."),
        )
    elif not valid_email(value):
        form.error(name, _("Enter an email address like nom@exemple.fr."))


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after a form, never another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\x00"):
        return default
    return target


_DOMAIN = re.compile(
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]+)?([/?#].*)?$", re.I
)


def web_address(text: str) -> str | None:
    """A website as people type it: « www.asso.fr » or « asso.fr/contact » gets
    https:// in front; an address with http(s):// is kept. None: not a web address
    (spaces, another scheme, no dot in the name)."""
    text = (text or "").strip()
    if not text:
        return ""
    lowered = text.lower()
    if lowered.startswith(("https://", "http://")):
        rest = text.split("://", 1)[1]
    elif "://" in text or lowered.startswith(("javascript:", "data:", "mailto:")):
        return None
    else:
        rest, text = text, "https://" + text
    if not rest or any(c.isspace() for c in rest) or not _DOMAIN.match(rest):
        return None
    return text


_DMY = re.compile(r"^\s*([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\s*$")


def parse_date(text: str) -> date:
    """A date as typed: ``2017-05-17`` (date picker) or ``17/05/2017``; ValueError else."""
    text = (text or "").strip()
    match = _DMY.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    return date.fromisoformat(text)
