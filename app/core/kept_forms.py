"""Answers kept aside for a short time: a form posted when its session had ended, or
a form whose upload was refused, comes back as typed on the next visit of its page.

Not in the session store: the session may be gone (ended, swept, a restarted Redis).
One small file per browser under ``<data dir>/kept/``, named by the SHA-256 of a random
token that only the browser holds (an HttpOnly cookie); it says which page it is for
and, when known, whose answers they are. ``take`` gives them back once, to that page and
that person, and deletes the file; files past their time are deleted on the next keep.

The cookie alone never decides who gets the answers (a shared computer, a cookie set
by someone else): answers kept for a known person go to that person only; answers kept
for an unknown person (no session at all when they were posted) go only into a file of
an organisation the person signing in belongs to, and, when the keeper knew the file's
organisation, only into a file of that organisation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

COOKIE = "guichet_kept"
KEPT_FOR_S = 2 * 3600
_TOKEN_BYTES = 32
# Bounds of the disk these answers may take: a form's answers are a few kilobytes; past
# either bound nothing more is kept (the person gets the plain sign-in page) until the
# time of the oldest ones is up.
MAX_KEPT_BYTES = 256 * 1024
MAX_KEPT_FILES = 2000


def _directory(data_dir: Path) -> Path:
    return data_dir / "kept"


def _path_of(data_dir: Path, token: str) -> Path | None:
    if not token or len(token) > 100 or not token.replace("-", "").replace("_", "").isalnum():
        return None
    return _directory(data_dir) / (hashlib.sha256(token.encode()).hexdigest() + ".json")


def _sweep(directory: Path, now: float) -> None:
    for path in directory.glob("*.json"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < now - KEPT_FOR_S:
                path.unlink()


def keep(
    data_dir: Path,
    *,
    page: str,
    user_id: int | None,
    values: dict[str, Any],
    reason: str,
    replaces: str | None = None,
    organisation: int | None = None,
) -> str | None:
    """Keep ``values`` for ``page`` (a path) and return the token to set in the cookie
    (None: not kept, too large or too many kept already); ``replaces``: the browser's
    previous token, whose answers go; ``organisation``: the organisation of the file the
    page shows, when known."""
    directory = _directory(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    now = time.time()
    _sweep(directory, now)
    if replaces and (old := _path_of(data_dir, replaces)):
        old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    path = directory / (hashlib.sha256(token.encode()).hexdigest() + ".json")
    data = json.dumps(
        {
            "page": page,
            "user_id": user_id,
            "organisation": organisation,
            "until": int(now) + KEPT_FOR_S,
            "reason": reason,
            "values": values,
        },
        ensure_ascii=False,
    ).encode()
    if len(data) > MAX_KEPT_BYTES or sum(1 for _ in directory.glob("*.json")) >= MAX_KEPT_FILES:
        return None
    # Readable by the server's user only: the answers are personal data.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return token


def take(
    data_dir: Path,
    token: str | None,
    *,
    page: str,
    user_id: int,
    organisation: int | None = None,
    member_of: Collection[int] = (),
) -> tuple[dict, str] | None:
    """The answers kept by this token for ``page`` and this person, and why they were
    kept (``"session_ended"``, ``"upload_refused"``); once, then deleted.

    ``organisation`` is the organisation of the file ``page`` shows, ``member_of`` the
    organisations the person belongs to. Answers kept for someone else, for another
    page, or (kept for an unknown person) for a file outside the person's organisations
    are not given and stay until their time is up."""
    path = _path_of(data_dir, token or "")
    if path is None:
        return None
    try:
        kept = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    if kept.get("page") != page or not _theirs(kept, user_id, organisation, member_of):
        return None
    path.unlink(missing_ok=True)
    if kept.get("until", 0) < time.time():
        return None
    return kept.get("values") or {}, kept.get("reason", "")


def _theirs(kept: dict, user_id: int, organisation: int | None, member_of: Collection[int]) -> bool:
    kept_for = kept.get("user_id")
    if kept_for is not None:
        return kept_for == user_id
    kept_in = kept.get("organisation")
    return (
        organisation is not None and organisation in member_of and kept_in in (None, organisation)
    )
