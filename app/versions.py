"""What moves which data version (``core.versions``), and the versions each page part
kept rendered reads. One list for the whole app: a migration installs it as triggers
(``guichet`` migrate), and tests/integration/core/test_versions.py fails when the
database's triggers differ from it (a change here needs a migration calling
``install`` again).

Each page kept rendered reads its versions first (the functions below), then its data:
what it shows must come from tables whose writes move one of them.
"""

from __future__ import annotations

from app.core.versions import Seen, Tracked, seen

TRACKED: tuple[Tracked, ...] = (
    # A call and its settings, per call (its pages' headers, envelope, pool, ranking
    # settings), and every call at once (lists naming calls: the reviewer's, finance's).
    Tracked("call", "call", per="id"),
    Tracked("call", "review_settings", per="call"),
    Tracked("call", "review_pool_member", per="call"),
    Tracked("calls", "call"),
    Tracked("calls", "review_settings"),
    Tracked("calls", "funder"),
    Tracked("calls", "form_version"),
    # A call's files: the files, their marks, their reviewers.
    Tracked("files", "application", per="call"),
    Tracked("files", "review_file_mark", per="call", via=("application", "application")),
    Tracked("files", "review_assignment", per="call", via=("application", "application")),
    # A file: the file, its documents, its messages, its history (audit entries).
    Tracked("file", "application", per="id"),
    Tracked("file", "attachment", per="application"),
    Tracked("file", "message", per="application"),
    Tracked("file", "audit_entry", per="object_id", only=("object_type", "application")),
    # Names shown in lists: organisations, and a file's number and title.
    Tracked("organisations", "organisation"),
    Tracked("titles", "application", columns=("reference", "title")),
    # People's names (a call's pool of reviewers).
    Tracked("people", "guichet_user", columns=("full_name", "email")),
    # A reviewer's assignments, and the organisations they declared a link with.
    Tracked("reviews", "review_assignment", per="reviewer"),
    Tracked("reviews", "review_conflict", per="reviewer"),
    # The grants' money and follow-up (the finance dashboard).
    Tracked("funding", "grant"),
    Tracked("funding", "instalment"),
    Tracked("funding", "ledger_entry"),
    Tracked("funding", "report"),
    Tracked("funding", "recovery"),
    Tracked("funding", "grant_call_totals"),
)


async def call_files(call_id: int) -> Seen:
    """A call's pages listing its files (the officers' table)."""
    return await seen([f"call:{call_id}", f"files:{call_id}", "organisations"])


async def ranking(call_id: int) -> Seen:
    """A call's ranking: its files, their marks, and the names in its pool."""
    return await seen([f"call:{call_id}", f"files:{call_id}", "organisations", "people"])


async def staff_file(app_id: int) -> Seen:
    """A file as the staff read it: the file, its call and funder, its organisation,
    the names of its messages' authors."""
    return await seen([f"file:{app_id}", "calls", "organisations", "people"])


async def reviewer_files(reviewer_id: int) -> Seen:
    """A reviewer's dashboard: their assignments, their files' titles, the calls."""
    return await seen([f"reviews:{reviewer_id}", "titles", "calls"])


async def finance() -> Seen:
    """The finance dashboard: the grants' money, the calls, the names in its lists."""
    return await seen(["funding", "calls", "organisations", "titles"])
