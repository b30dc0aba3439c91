"""Composing e-mails: templates rendered in the reader's language, addresses checked,
MIME messages built, ``.eml`` files written atomically, the SMTP URL read.

The queue and the sender that use these live in ``core.outbox``.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment

from app.core import i18n

if TYPE_CHECKING:
    pass


_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")


_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._@-]")


@cache
def _environment() -> Environment:
    from app.core.templating import build_environment

    return build_environment()


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(template: str, language: str, context: dict[str, Any]) -> RenderedEmail:
    """``templates/emails/{template}.subject.txt``, ``.txt`` and ``.html`` in ``language``.

    Only the ``.html`` part is autoescaped; the subject is folded onto one line."""
    if not _TEMPLATE_NAME.match(template):
        raise ValueError(f"bad e-mail template name: {template!r}")
    env = _environment()
    with i18n.use_locale(language):
        parts = [
            env.get_template(f"emails/{template}.{suffix}").render(context)
            for suffix in ("subject.txt", "txt", "html")
        ]
    subject = " ".join(parts[0].split())
    if not subject or len(subject) > 255:
        raise ValueError(f"e-mail subject of {template!r} is empty or too long")
    return RenderedEmail(subject=subject, text=parts[1].strip() + "\n", html=parts[2].strip())


def check_address(address: str) -> str:
    """One plain address (no display name, no list, no header injection)."""
    address = (address or "").strip()
    if (
        not address
        or len(address) > 254
        or address.count("@") != 1
        or address.startswith("@")
        or address.endswith("@")
        or any(c.isspace() or c in '<>,;:"()[]\\' for c in address)
    ):
        raise ValueError("not a single e-mail address")
    return address


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@guichet>"


def build_message(
    *,
    message_id: str,
    from_address: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    created_at: datetime,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(created_at.astimezone(UTC))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def eml_name(message_id: str) -> str:
    return _UNSAFE_IN_FILENAME.sub("_", message_id.strip().strip("<>")) + ".eml"


def write_eml(directory: Path, message_id: str, data: bytes) -> Path:
    """Write atomically (temp file, fsync, rename, fsync the directory) under a name
    fixed by the Message-ID: writing the same message again leaves one file."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / eml_name(message_id)
    temp = directory / f".{final.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # bodies carry links
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, final)
    except BaseException:
        with suppress(OSError):
            temp.unlink()
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return final


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    hostname: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpConfig:
    """``smtp://host:port`` (STARTTLS when offered) or ``smtps://user:pass@host:port``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL: expected smtp://host:port or smtps://user:pass@host:port")
    use_tls = parts.scheme == "smtps"
    return SmtpConfig(
        hostname=parts.hostname,
        port=parts.port or (465 if use_tls else 25),
        use_tls=use_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
