"""Accounts: people and their staff roles, staff invitations, disabling, the admin's
site settings and who must use two-step verification.

No HTTP here. Every change is audited in the same transaction, and every e-mail is
written to the outbox in that transaction too. The rest of the domain, by concern:
``credentials`` (the error type, password rules, e-mailed tokens), ``passwords``
(signing up and in, confirming the address, reset and change), ``two_factor`` and
``personal_data``; other domains import what they need from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.accounts.credentials import (
    AccountError,
    check_password_rules,
    consume_token,
    issue_token,
    link,
    normalise_email,
    now,
    valid_token,
)
from app.accounts.tables import (
    AccountToken,
    ApiToken,
    RoleGrant,
    SiteSetting,
    StaffRole,
    TokenPurpose,
    User,
)
from app.core import audit
from app.core.audit import SYSTEM, Actor
from app.core.audit_checkpoints import Checkpoint
from app.core.db import write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.outbox import enqueue_email
from app.core.security import new_password_hash
from app.permissions import is_staff, totp_required_by_the_admin_setting

SETTING_MANDATORY_TOTP = "mandatory_totp_finance_admin"

# Imported from here by the other domains and the command line.
__all__ = [
    "SETTING_MANDATORY_TOTP",
    "SYSTEM",
    "AccountError",
    "Actor",
    "CurrentUser",
    "accept_staff_invitation",
    "audit_account",
    "check_roles",
    "count_users",
    "create_user",
    "email_audit_checkpoint",
    "end_sessions",
    "get_setting",
    "get_user",
    "grant_role",
    "invite_staff",
    "is_last_active_admin",
    "keep_an_admin",
    "list_users",
    "load_current_user",
    "must_enrol_totp",
    "normalise_email",
    "require_user",
    "revoke_role",
    "revoke_role_grant",
    "role_scopes",
    "set_active",
    "set_setting",
    "totp_required",
    "update_profile",
    "user_id_by_email",
]


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """Who is signed in, as the request sees it."""

    id: int
    email: str
    full_name: str
    language: str
    session_version: int
    totp_enabled: bool
    roles: frozenset[str] = field(default_factory=frozenset)
    # Staff who also belong to an organisation (applicants always see their pages).
    is_member: bool = False
    # (role, funder id) for each role held for some funders only; a role of ``roles``
    # without a pair here is held for every funder (``permissions.funder_ids_for``).
    funder_scopes: frozenset[tuple[str, int]] = frozenset()

    def has_role(self, *roles: str) -> bool:
        """For ``app.permissions`` only: pages and routes ask it by name (``can``)."""
        return bool(self.roles.intersection(roles))


async def audit_account(action: str, actor: Actor, *, user_id: int | None, **summary: Any) -> None:
    label = actor.label
    if not label and actor.user_id is not None:
        row = await User.select(User.email).where(User.id == actor.user_id).first()
        label = row["email"] if row else ""
    await audit.record(
        action,
        actor_id=actor.user_id,
        actor_label=label,
        ip=actor.ip,
        object_type="user" if user_id else "",
        object_id=user_id,
        summary=summary or None,
    )


async def end_sessions(user_id: int) -> None:
    """Every session of this person ends at its next request, and their API tokens
    stop working (password change or reset, role change, disabling)."""
    await User.update({User.session_version: User.session_version + 1}).where(User.id == user_id)
    await ApiToken.update({ApiToken.revoked_at: now()}).where(
        (ApiToken.user == user_id) & ApiToken.revoked_at.is_null()
    )


def user_not_found() -> AccountError:
    return AccountError("user_not_found", N_("This person does not exist."))


async def require_user(user_id: int) -> None:
    if not await User.exists().where(User.id == user_id):
        raise user_not_found()


# --- People ------------------------------------------------------------------------


async def create_user(
    *,
    email: str,
    full_name: str,
    password: str | None,
    roles: Iterable[StaffRole] = (),
    language: str = "fr",
    verified: bool = True,
    actor: Actor = SYSTEM,
) -> int:
    """Create a person with the given staff roles; the email must be new."""
    email = normalise_email(email)
    if password is not None:
        check_password_rules(password, email=email)
    password_hash = await new_password_hash(password) if password is not None else None
    async with write_transaction():
        if await User.exists().where(User.email == email):
            raise AccountError(
                "email_taken", N_("An account already uses this email address."), field="email"
            )
        rows = await User.insert(
            User(
                email=email,
                full_name=full_name.strip(),
                password_hash=password_hash,
                language=language,
                email_verified_at=now() if verified else None,
            )
        ).returning(User.id)
        user_id = rows[0]["id"]
        role_values = sorted({StaffRole(r).value for r in roles})
        for role in role_values:
            await RoleGrant.insert(RoleGrant(user=user_id, role=role))
        await audit_account("accounts.user_created", actor, user_id=user_id, roles=role_values)
    return user_id


# One query for the person, their roles (with the funder each is limited to) and whether
# they belong to an organisation, run by every signed-in request: a row per role grant,
# one with a NULL role for someone who has none. ("user" is quoted: a reserved word in PostgreSQL; organisations come after
# accounts, so their membership table is named here, not imported.)
_CURRENT_USER_SQL = """
SELECT u.id, u.email, u.full_name, u.language, u.session_version, u.totp_enabled_at,
       r.role, r.funder_id,
       EXISTS (SELECT 1 FROM membership m WHERE m."user" = u.id) AS is_member
FROM guichet_user u LEFT JOIN role_grant r ON r."user" = u.id
WHERE u.id = {} AND u.is_active = {}
"""


async def load_current_user(user_id: int) -> CurrentUser | None:
    """The active person with this id and their roles."""
    rows = await User.raw(_CURRENT_USER_SQL, user_id, True)
    if not rows:
        return None
    user = rows[0]
    roles = frozenset(r["role"] for r in rows if r["role"] is not None)
    return CurrentUser(
        id=user["id"],
        email=user["email"],
        full_name=user["full_name"],
        language=user["language"],
        session_version=user["session_version"],
        totp_enabled=user["totp_enabled_at"] is not None,
        roles=roles,
        # Read for staff (the menus hide the applicant's pages from staff who are not
        # members of an organisation).
        is_member=bool(user["is_member"]),
        funder_scopes=role_scopes(rows),
    )


def role_scopes(grants: Iterable[dict]) -> frozenset[tuple[str, int]]:
    """(role, funder) for the roles these grant rows give for some funders only: one
    grant of a role without a funder gives it for every funder (and wins)."""
    everywhere = {g["role"] for g in grants if g["role"] is not None and g["funder_id"] is None}
    return frozenset(
        (g["role"], g["funder_id"])
        for g in grants
        if g["role"] is not None and g["funder_id"] is not None and g["role"] not in everywhere
    )


async def user_id_by_email(email: str) -> int | None:
    row = await User.select(User.id).where(User.email == normalise_email(email)).first()
    return row["id"] if row else None


async def count_users() -> int:
    return await User.count()


def invitation_pending():
    """People invited as staff who have not set their password yet, their invitation
    still valid (the admin's list filter and « À traiter » count the same)."""
    return User.password_hash.is_null() & User.id.is_in(
        AccountToken.select(AccountToken.user).where(
            (AccountToken.purpose == TokenPurpose.staff_invitation.value)
            & AccountToken.used_at.is_null()
            & (AccountToken.expires_at > now())
        )
    )


async def list_users(
    *,
    role: str | None = None,
    q: str = "",
    invited: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """People for the admin list, with their roles (two queries whatever the count)."""
    query = User.select(User.id, User.email, User.full_name, User.is_active, User.last_login_at)
    count = User.count()
    conditions = [invitation_pending()] if invited else []
    if role:
        ids = RoleGrant.select(RoleGrant.user).where(RoleGrant.role == StaffRole(role).value)
        conditions.append(User.id.is_in(ids))
    if q:
        conditions.append(User.email.ilike(f"%{q}%") | User.full_name.ilike(f"%{q}%"))
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.order_by(User.email).limit(limit).offset(offset)
    ids = [r["id"] for r in rows]
    grants = (
        await RoleGrant.select(RoleGrant.user, RoleGrant.role, RoleGrant.funder_id)
        .where(RoleGrant.user.is_in(ids))
        .order_by(RoleGrant.role, RoleGrant.id)
        if ids
        else []
    )
    by_user: dict[int, list[dict]] = {}
    for grant in grants:
        by_user.setdefault(grant["user"], []).append(grant)
    for row in rows:
        row["grants"] = by_user.get(row["id"], [])
        row["roles"] = sorted({g["role"] for g in row["grants"]})
    return rows, await count


async def get_user(user_id: int) -> dict | None:
    row = (
        await User.select(
            User.id,
            User.email,
            User.full_name,
            User.is_active,
            User.last_login_at,
            User.created_at,
            User.email_verified_at,
            User.totp_enabled_at,
            User.language,
        )
        .where(User.id == user_id)
        .first()
    )
    if row:
        # Each grant: a role for every funder (funder_id None) or for one funder.
        row["grants"] = (
            await RoleGrant.select(RoleGrant.id, RoleGrant.role, RoleGrant.funder_id)
            .where(RoleGrant.user == user_id)
            .order_by(RoleGrant.role, RoleGrant.id)
        )
        row["roles"] = sorted({g["role"] for g in row["grants"]})
    return row


async def update_profile(user_id: int, *, full_name: str, language: str, actor: Actor) -> None:
    async with write_transaction():
        await User.update({User.full_name: full_name.strip(), User.language: language}).where(
            User.id == user_id
        )
        await audit_account("accounts.profile_updated", actor, user_id=user_id)


# --- Staff: invitations, roles, disabling --------------------------------------------


def check_roles(roles: Iterable[str], *, funder_id: int | None = None) -> list[str]:
    """The staff roles asked for, at least one; for one funder (``funder_id``), never
    the administrator role (admins are global)."""
    role_values = sorted({StaffRole(r).value for r in roles})
    if not role_values:
        raise AccountError("roles_required", N_("Choose at least one role."), field="roles")
    if funder_id is not None and StaffRole.admin.value in role_values:
        raise _admin_is_global()
    return role_values


def _admin_is_global() -> AccountError:
    return AccountError(
        "admin_is_global", N_("The administrator role is for every funder."), field="funder"
    )


async def invite_staff(
    *,
    email: str,
    full_name: str,
    roles: Iterable[str],
    language: str,
    base_url: str,
    actor: Actor,
    funder_id: int | None = None,
) -> int:
    """Invite a staff member, with roles for every funder or (``funder_id``) for one
    funder: a new account gets a 7-day link to set a password; an existing, confirmed
    account gets the roles at once and is told by e-mail. An unconfirmed account is
    refused: whoever created it may not own the address."""
    email = normalise_email(email)
    role_values = check_roles(roles, funder_id=funder_id)
    async with write_transaction():
        existing = (
            await User.select(User.id, User.language, User.email_verified_at, User.password_hash)
            .where(User.email == email)
            .first()
        )
        if existing:
            if existing["email_verified_at"] is None and existing["password_hash"] is not None:
                raise AccountError(
                    "email_unconfirmed",
                    N_(
                        "This address has an account that is not confirmed yet: ask the person to confirm it first."
                    ),
                    field="email",
                )
            user_id = existing["id"]
            for role in role_values:
                await _grant(user_id, role, actor, funder_id)
            await enqueue_email(
                to=email,
                template="roles_granted",
                language=existing["language"],
                context={"roles": role_values, "url": f"{base_url}/connexion"},
            )
            return user_id
        rows = await User.insert(
            User(email=email, full_name=full_name.strip(), password_hash=None, language=language)
        ).returning(User.id)
        user_id = rows[0]["id"]
        for role in role_values:
            await RoleGrant.insert(RoleGrant(user=user_id, role=role, funder_id=funder_id))
        raw = await issue_token(user_id, TokenPurpose.staff_invitation)
        await enqueue_email(
            to=email,
            template="staff_invitation",
            language=language,
            context={
                "name": full_name.strip(),
                "url": link(base_url, "/invitation", raw),
                "roles": role_values,
            },
        )
        scope = {} if funder_id is None else {"funder": funder_id}
        await audit_account(
            "accounts.staff_invited", actor, user_id=user_id, roles=role_values, **scope
        )
    return user_id


async def accept_staff_invitation(raw_token: str, password: str, *, actor: Actor) -> int:
    # Checked and hashed before the write transaction (argon2), used up inside it.
    row = await valid_token(raw_token, TokenPurpose.staff_invitation)
    user = await User.select(User.email).where(User.id == row["user"]).first()
    check_password_rules(password, email=user["email"] if user else "")
    password_hash = await new_password_hash(password)
    async with write_transaction():
        user_id = await consume_token(raw_token, TokenPurpose.staff_invitation)
        await User.update({User.password_hash: password_hash, User.email_verified_at: now()}).where(
            User.id == user_id
        )
        await audit_account(
            "accounts.invitation_accepted", Actor(user_id, actor.ip), user_id=user_id
        )
    return user_id


async def _grant(user_id: int, role: str, actor: Actor, funder_id: int | None = None) -> None:
    same = (RoleGrant.user == user_id) & (RoleGrant.role == role)
    same = same & (
        RoleGrant.funder_id.is_null() if funder_id is None else RoleGrant.funder_id == funder_id
    )
    if await RoleGrant.exists().where(same):
        return
    await RoleGrant.insert(RoleGrant(user=user_id, role=role, funder_id=funder_id))
    await end_sessions(user_id)
    summary = {"role": role} if funder_id is None else {"role": role, "funder": funder_id}
    await audit_account("accounts.role_granted", actor, user_id=user_id, **summary)


async def grant_role(
    user_id: int, role: str, *, actor: Actor, funder_id: int | None = None
) -> None:
    """Give a staff role, for every funder or (``funder_id``) for one funder only; the
    person's sessions end (a privilege change). Admins are global: an admin role is
    never limited to a funder."""
    role = StaffRole(role).value
    if funder_id is not None and role == StaffRole.admin:
        raise _admin_is_global()
    async with write_transaction():
        await require_user(user_id)
        await _grant(user_id, role, actor, funder_id)


async def revoke_role(user_id: int, role: str, *, actor: Actor) -> None:
    """Take a staff role back; an admin cannot remove the last admin."""
    role = StaffRole(role).value
    async with write_transaction():
        if role == StaffRole.admin:
            await keep_an_admin(user_id)
        deleted = (
            await RoleGrant.delete()
            .where((RoleGrant.user == user_id) & (RoleGrant.role == role))
            .returning(RoleGrant.id)
        )
        if deleted:
            await end_sessions(user_id)
            await audit_account("accounts.role_revoked", actor, user_id=user_id, role=role)


async def revoke_role_grant(user_id: int, grant_id: int, *, actor: Actor) -> None:
    """Take back one grant of a role (for every funder, or for one funder): what an
    admin does to narrow a role to some funders. The last admin keeps theirs."""
    async with write_transaction():
        row = (
            await RoleGrant.select(RoleGrant.role, RoleGrant.funder_id)
            .where((RoleGrant.id == grant_id) & (RoleGrant.user == user_id))
            .first()
        )
        if row is None:
            return
        if row["role"] == StaffRole.admin:
            await keep_an_admin(user_id)
        await RoleGrant.delete().where(RoleGrant.id == grant_id)
        await end_sessions(user_id)
        summary = {"role": row["role"]}
        if row["funder_id"] is not None:
            summary["funder"] = row["funder_id"]
        await audit_account("accounts.role_revoked", actor, user_id=user_id, **summary)


async def is_last_active_admin(user_id: int) -> bool:
    admins = await RoleGrant.select(RoleGrant.user).where(
        (RoleGrant.role == StaffRole.admin.value) & (RoleGrant.user.is_active.eq(True))
    )
    ids = {a["user"] for a in admins}
    return ids == {user_id}


async def keep_an_admin(user_id: int) -> None:
    """Someone must stay able to administer: the last active admin keeps the role and
    the account."""
    if await is_last_active_admin(user_id):
        raise AccountError(
            "last_admin",
            N_("This is the last administrator: give the role to someone else first."),
        )


async def set_active(user_id: int, active: bool, *, actor: Actor) -> None:
    """Disable (or re-enable) an account; disabling ends its sessions at once."""
    async with write_transaction():
        if not active:
            await keep_an_admin(user_id)
        await require_user(user_id)
        await User.update({User.is_active: active}).where(User.id == user_id)
        await end_sessions(user_id)
        await audit_account(
            "accounts.enabled" if active else "accounts.disabled", actor, user_id=user_id
        )


async def staff_recipients(role: str) -> list[dict]:
    """The e-mail address and language of every active person holding ``role`` (to
    tell the officers of what waits for them)."""
    holders = RoleGrant.select(RoleGrant.user).where(RoleGrant.role == role)
    return await User.select(User.email, User.language).where(
        User.id.is_in(holders), User.is_active.eq(True)
    )


async def email_audit_checkpoint(checkpoint: Checkpoint) -> int:
    """E-mail the audit trail's signed head to every active administrator, to keep out
    of reach of whoever can write to the database (``guichet audit checkpoint
    --email``, never on a timer). Returns how many messages went to the outbox."""
    admins = RoleGrant.select(RoleGrant.user).where(RoleGrant.role == StaffRole.admin.value)
    rows = await User.select(User.email, User.language).where(
        User.id.is_in(admins), User.is_active.eq(True)
    )
    context = {
        "at": checkpoint.at,
        "entries": checkpoint.entries,
        "last_id": checkpoint.last_id,
        "line": checkpoint.line,
    }
    async with write_transaction():
        for row in rows:
            await enqueue_email(
                to=row["email"],
                template="audit_checkpoint",
                language=row["language"],
                context=context,
            )
    return len(rows)


# --- Site settings and two-step verification policy ---------------------------------


async def get_setting(key: str, default: Any = None) -> Any:
    row = (
        await SiteSetting.select(SiteSetting.value)
        .where(SiteSetting.key == key)
        .output(load_json=True)
        .first()
    )
    return default if row is None else row["value"]


async def set_setting(key: str, value: Any, *, actor: Actor) -> None:
    async with write_transaction():
        encoded = json.dumps(value)
        if await SiteSetting.exists().where(SiteSetting.key == key):
            await SiteSetting.update(
                {
                    SiteSetting.value: encoded,
                    SiteSetting.updated_at: now(),
                    SiteSetting.updated_by: actor.user_id,
                }
            ).where(SiteSetting.key == key)
        else:
            await SiteSetting.insert(SiteSetting(key=key, value=encoded, updated_by=actor.user_id))
        await audit.record(
            "accounts.setting_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            object_type="setting",
            object_id=key,
            summary={"value": value},
        )


async def totp_required(user: CurrentUser, *, staff_mfa_required: bool) -> bool:
    """Staff need two-factor: every staff role when the server requires it
    (``STAFF_MFA=required``, the default in production), finance and admin staff also
    when the admin setting says so. Applicants choose."""
    if not is_staff(user):
        return False
    if staff_mfa_required:
        return True
    if not totp_required_by_the_admin_setting(user):
        return False
    return bool(await get_setting(SETTING_MANDATORY_TOTP, False))


async def must_enrol_totp(user: CurrentUser, *, staff_mfa_required: bool) -> bool:
    """Staff who need two-factor and have not set it up do that before anything else."""
    if user.totp_enabled:
        return False
    return await totp_required(user, staff_mfa_required=staff_mfa_required)
