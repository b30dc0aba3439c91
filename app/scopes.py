"""The funder a staff request's object belongs to, read from its path parameters.

Roles per funder (``app.permissions``): a person who holds a role for some funders
only must not open another funder's call, file, review or grant. Route guards
(``accounts.guards.requires``) ask ``object_of`` for the object named by the path
(``call_id``, ``app_id``, ``assignment_id``, ``grant_id``, ``funder_id``) and give it to the
permission's predicate; a miss is « not found », like any object one may not see. Only
for people with such a limited role: for everyone else no query is run.
"""

from __future__ import annotations

from typing import Any

from app.applications.tables import Application
from app.calls.tables import Call
from app.funders.tables import Funder
from app.grants.tables import Grant
from app.reviews.tables import Assignment

# Path parameter -> the query of the funder of the object it names (the first one
# present wins: a nested id — an instalment, a letter — is checked against its parent
# by the page itself).
_FUNDER_OF = (
    ("call_id", lambda i: Call.select(Call.funder.as_alias("funder")).where(Call.id == i)),
    (
        "app_id",
        lambda i: Application.select(Application.call.funder.as_alias("funder")).where(
            Application.id == i
        ),
    ),
    (
        "assignment_id",
        lambda i: Assignment.select(Assignment.application.call.funder.as_alias("funder")).where(
            Assignment.id == i
        ),
    ),
    ("grant_id", lambda i: Grant.select(Grant.call.funder.as_alias("funder")).where(Grant.id == i)),
    # A funder's own settings (its agreement articles, say).
    ("funder_id", lambda i: Funder.select(Funder.id.as_alias("funder")).where(Funder.id == i)),
)


async def object_of(path_params: dict[str, Any]) -> dict | None:
    """``{"funder_id": …}`` for the object the path names, or None when it names none
    (or one that does not exist: the page answers 404 itself)."""
    for name, query in _FUNDER_OF:
        value = path_params.get(name)
        if isinstance(value, int):
            row = await query(value).first()
            return None if row is None else {"funder_id": row["funder"]}
    return None
