"""Who may do what: every access rule of Guichet, as named predicates.

The one place roles are combined (pretalx's rules style). Route guards
(``accounts.guards.requires``), services that filter their queries and templates
(``can("pay", grant)``) all ask these predicates; no role tuple is written anywhere
else. Each predicate takes the person (a ``CurrentUser``, or None for a visitor) and
the object the question is about (a call, a grant, an organisation…).

Roles per funder: a staff role (officer, reviewer, finance) may be granted for one
funder only (``RoleGrant.funder_id``); a grant without a funder is for every funder, and
admins are global. A predicate asked about an object (a call, a file, a grant: anything
carrying ``funder_id`` or ``funder``) says no when the person holds the role only for
other funders; asked about no object (a route's guard, a menu), it answers for the role.
Queries narrow lists with ``funder_ids_for`` (None = every funder).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from jinja2 import pass_context

from app.accounts.tables import StaffRole

REVIEWER, OFFICER, FINANCE, ADMIN = (
    StaffRole.reviewer.value,
    StaffRole.officer.value,
    StaffRole.finance.value,
    StaffRole.admin.value,
)


class Person(Protocol):
    id: int
    roles: frozenset[str]

    def has_role(self, *roles: str) -> bool: ...


def _has(user: Person | None, *roles: str) -> bool:
    return user is not None and user.has_role(*roles)


def funder_ids_for(user: Person | None, *roles: str) -> frozenset[int] | None:
    """The funders whose calls, files and grants this person reaches through any of
    ``roles``: None for every funder (a grant without a funder, or admin), else the set
    (empty without any of the roles). Lists are narrowed to it in their queries."""
    if user is None:
        return frozenset()
    held = user.roles.intersection(roles)
    if not held:
        return frozenset()
    scopes: frozenset[tuple[str, int]] = getattr(user, "funder_scopes", frozenset())
    limited = {role for role, _funder in scopes}
    if ADMIN in held or held - limited:
        return None
    return frozenset(funder for role, funder in scopes if role in held)


def is_scoped(user: Person | None) -> bool:
    """Holds some role for some funders only (the guards then check each object)."""
    return bool(getattr(user, "funder_scopes", None))


def funder_of(obj: Any) -> int | None:
    """The funder an object belongs to: its ``funder_id`` or ``funder`` (a dict's key or
    an attribute); None when it says nothing (which a scoped person is refused)."""
    for name in ("funder_id", "funder"):
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _reaches(user: Person | None, obj: Any, *roles: str) -> bool:
    """Holds one of ``roles``, and, asked about an object, holds it for its funder."""
    if not _has(user, *roles):
        return False
    if obj is None:
        return True
    funders = funder_ids_for(user, *roles)
    return funders is None or funder_of(obj) in funders


def sees_applicant_pages(user: Person | None, _obj: Any = None) -> bool:
    """« My applications » and « My organisations » in the menu: applicants, and staff
    who also belong to an organisation."""
    return user is not None and (not is_staff(user) or bool(getattr(user, "is_member", False)))


# --- Staff work ---------------------------------------------------------------------------


def is_staff(user: Person | None, _obj: Any = None) -> bool:
    """Holds any staff role (shorter idle timeout, second factor in production)."""
    return user is not None and bool(user.roles)


def can_manage_calls(user: Person | None, call: Any = None) -> bool:
    """Prepare, publish and close calls; screen their files; run their review and
    committee: officers (and admins), of the call's funder."""
    return _reaches(user, call, OFFICER, ADMIN)


def can_view_every_application(user: Person | None, call: Any = None) -> bool:
    """Read any file of a call, not only their organisations' (the query is not
    narrowed to the person's memberships)."""
    return can_manage_calls(user, call)


def can_review(user: Person | None, assignment: Any = None) -> bool:
    """Score the files assigned to them: reviewers (the assignment itself is checked
    in the query: their own, without a conflict), of the file's funder."""
    return _reaches(user, assignment, REVIEWER)


def can_follow_grants(user: Person | None, grant: Any = None) -> bool:
    """Read every grant, its schedule, ledger and reports, and the dashboard:
    officers, finance staff and admins, of the grant's funder."""
    return _reaches(user, grant, OFFICER, FINANCE, ADMIN)


def can_instruct_grant(user: Person | None, grant: Any = None) -> bool:
    """Approve or cancel instalments, amend the schedule, examine reports, reduce the
    grant, check the agreement: officers (and admins), of the grant's funder."""
    return _reaches(user, grant, OFFICER, ADMIN)


def can_sign_agreements(user: Person | None, grant: Any = None) -> bool:
    """Countersign a grant's agreement for the funder, by the signing delegation its
    executive gives: officers (and admins), of the grant's funder."""
    return _reaches(user, grant, OFFICER, ADMIN)


def can_pay(user: Person | None, grant: Any = None) -> bool:
    """Record payments, reversals and recoveries received: finance staff (and admins),
    of the grant's funder."""
    return _reaches(user, grant, FINANCE, ADMIN)


def can_view_every_organisation(user: Person | None, organisation: Any = None) -> bool:
    """Open any organisation's page (members see their own): officers, finance, admins."""
    return _has(user, OFFICER, FINANCE, ADMIN)


def can_read_bank_details(user: Person | None, organisation: Any = None) -> bool:
    """See an organisation's IBAN unmasked (its members see their own): finance staff."""
    return _has(user, FINANCE)


def can_use_api(user: Person | None, _obj: Any = None) -> bool:
    """Hold API tokens and read the JSON API: officers, finance staff and admins."""
    return _has(user, OFFICER, FINANCE, ADMIN)


def can_read_audit(user: Person | None, _obj: Any = None) -> bool:
    """Browse and export the audit trail: officers of every funder and admins (the trail
    is not split by funder, so an officer limited to some funders does not read it)."""
    return _has(user, ADMIN) or (_has(user, OFFICER) and funder_ids_for(user, OFFICER) is None)


def can_administer(user: Person | None, _obj: Any = None) -> bool:
    """People, roles, funders, settings, the audit checkpoints: admins."""
    return _has(user, ADMIN)


def totp_required_by_the_admin_setting(user: Person | None, _obj: Any = None) -> bool:
    """The roles the admin setting « two-step verification mandatory » applies to (with
    ``STAFF_MFA=required`` every staff role must have it)."""
    return _has(user, FINANCE, ADMIN)


Predicate = Callable[[Person | None, Any], bool]

# The names templates and guards use: ``can("pay", grant)``, ``requires("pay")``.
PERMISSIONS: dict[str, Predicate] = {
    "staff": is_staff,
    "applicant_pages": sees_applicant_pages,
    "manage_calls": can_manage_calls,
    "view_every_application": can_view_every_application,
    "review": can_review,
    "follow_grants": can_follow_grants,
    "instruct_grant": can_instruct_grant,
    "sign_agreements": can_sign_agreements,
    "pay": can_pay,
    "view_every_organisation": can_view_every_organisation,
    "read_bank_details": can_read_bank_details,
    "use_api": can_use_api,
    "read_audit": can_read_audit,
    "administer": can_administer,
}


# The roles behind the permissions whose lists are narrowed to funders (``funders_for``).
_ROLES_OF: dict[str, tuple[str, ...]] = {
    "manage_calls": (OFFICER, ADMIN),
    "view_every_application": (OFFICER, ADMIN),
    "review": (REVIEWER,),
    "follow_grants": (OFFICER, FINANCE, ADMIN),
    "instruct_grant": (OFFICER, ADMIN),
    "sign_agreements": (OFFICER, ADMIN),
    "pay": (FINANCE, ADMIN),
    "use_api": (OFFICER, FINANCE, ADMIN),
}


def funders_for(user: Person | None, permission: str) -> frozenset[int] | None:
    """The funders whose objects ``permission`` reaches for this person (None: every
    funder): what the queries of lists, exports, totals and the API are narrowed to."""
    return funder_ids_for(user, *_ROLES_OF[permission])


def can(user: Person | None, permission: str, obj: Any = None) -> bool:
    """Whether ``user`` holds ``permission`` (a key of ``PERMISSIONS``) on ``obj``; an
    unknown name is an error, never a silent no."""
    return PERMISSIONS[permission](user, obj)


@pass_context
def template_can(context: Any, permission: str, obj: Any = None) -> bool:
    """``{% if can("pay", grant) %}`` in templates: the signed-in person (the page's
    ``current_user``) holds ``permission`` on ``obj`` (registered by ``create_app``)."""
    return can(context.get("current_user"), permission, obj)
