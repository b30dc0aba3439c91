"""Organisations (associations, SCIC, companies...) and their members.

Every query that reads an organisation filters by what the person may see: members
see their organisations; finance, officers and admins see all (IBAN masked except for
members and finance). Anything else is "not found".
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.accounts.credentials import AccountError, normalise_email
from app.accounts.personal_data import block_erasure_when, keep_records_when, on_erasure
from app.accounts.services import CurrentUser
from app.accounts.tables import User
from app.core import audit
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.numbers import is_digits
from app.core.outbox import enqueue_email
from app.organisations.tables import (
    JoinRequest,
    JoinStatus,
    LegalForm,
    MemberInvitation,
    MemberRole,
    Membership,
    Organisation,
)
from app.organisations.validators import (
    IdentifierError,
    clean_bic,
    clean_iban,
    clean_rna,
    clean_siret,
    format_iban,
    format_siret,
    mask_iban,
)
from app.permissions import can_view_every_organisation

INVITATION_LIFETIME = timedelta(days=7)
ASSOCIATION_FORMS = {LegalForm.association.value, LegalForm.association_rup.value}

FIELDS = (
    "name",
    "legal_form",
    "siret",
    "rna",
    "description",
    "street",
    "postcode",
    "city",
    "legal_rep_name",
    "legal_rep_title",
    "contact_email",
    "phone",
    "iban",
    "bic",
)
# The fields that must be filled in, with « this field is required » said with the
# field's name where the message alone would not say which (for the error summary).
REQUIRED = {
    "name": N_("Enter the name of the organisation."),
    "legal_form": N_("Choose the legal form."),
    "siret": N_("Enter the SIRET number."),
    "street": N_("Enter the street and number."),
    "postcode": N_("Enter the postcode."),
    "city": N_("Enter the town."),
    "legal_rep_name": N_("Enter the name of the legal representative."),
    "legal_rep_title": N_("Enter the capacity of the legal representative."),
    "contact_email": N_("Enter the contact email."),
    "phone": N_("Enter the phone number."),
    "iban": N_("Enter the IBAN (on your bank details, RIB)."),
    "bic": N_("Enter the BIC."),
}
MAX_LENGTHS = {
    "name": 200,
    "street": 200,
    "postcode": 10,
    "city": 100,
    "legal_rep_name": 200,
    "legal_rep_title": 100,
    "contact_email": 254,
    "phone": 30,
    "description": 2000,
}


class OrganisationError(DomainError):
    """A rule about organisations or their members said no; its message is written
    where it is raised."""


def _not_owner() -> OrganisationError:
    return OrganisationError("not_owner", N_("Only the owners of the organisation can do this."))


def _member_not_found() -> OrganisationError:
    return OrganisationError("not_found", N_("This member does not exist."))


def _last_owner() -> OrganisationError:
    return OrganisationError(
        "last_owner",
        N_("The organisation must keep at least one owner: make someone else an owner first."),
    )


def _siret_taken() -> OrganisationError:
    return OrganisationError(
        "siret_taken",
        N_(
            "An organisation with this SIRET number is already registered: ask its owners to let you join it."
        ),
        field="siret",
    )


def now() -> datetime:
    return datetime.now(UTC)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def clean_organisation(
    values: dict[str, str],
) -> tuple[dict[str, str | None], dict[str, DomainError]]:
    """Check an organisation form; return the stored values and, per field in the
    order of ``FIELDS``, what is wrong with it (its code: ``required``, ``too_long``,
    ``siret_length``, ``iban_checksum``…, and its message)."""
    cleaned: dict[str, str | None] = {k: (values.get(k) or "").strip() for k in FIELDS}
    errors: dict[str, DomainError] = {}

    def refuse(name: str, code: str, message: str) -> None:
        errors[name] = OrganisationError(code, message, field=name)

    for name, message in REQUIRED.items():
        if not cleaned[name]:
            refuse(name, "required", message)
    for name, limit in MAX_LENGTHS.items():
        if len(cleaned[name] or "") > limit:
            refuse(name, "too_long", N_("This is too long."))
    if cleaned["legal_form"] and cleaned["legal_form"] not in {f.value for f in LegalForm}:
        refuse("legal_form", "choice", N_("Choose an option from the list."))
    for name, clean in (("siret", clean_siret), ("iban", clean_iban), ("bic", clean_bic)):
        if cleaned[name] and name not in errors:
            try:
                cleaned[name] = clean(cleaned[name])
            except IdentifierError as exc:
                errors[name] = exc
    if cleaned["rna"]:
        try:
            cleaned["rna"] = clean_rna(cleaned["rna"])
        except IdentifierError as exc:
            errors["rna"] = exc
    elif cleaned["legal_form"] in ASSOCIATION_FORMS:
        refuse(
            "rna",
            "rna_required",
            N_("Enter the RNA number of the association (W followed by 9 characters)."),
        )
    if not cleaned["rna"]:
        cleaned["rna"] = None
    email = cleaned["contact_email"] or ""
    if email and ("@" not in email or any(c.isspace() for c in email)):
        refuse("contact_email", "email", N_("Enter an email address like nom@exemple.fr."))
    phone = cleaned["phone"] or ""
    if phone and not re.fullmatch(r"\+?[0-9 .()-]{6,30}", phone):
        refuse("phone", "phone", N_("Enter a phone number, e.g. 01 23 45 67 89."))
    postcode = cleaned["postcode"] or ""
    if postcode and not is_digits(postcode, 5) and "postcode" not in errors:
        refuse("postcode", "postcode", N_("Enter a French postcode of 5 digits."))
    return cleaned, {name: errors[name] for name in FIELDS if name in errors}


async def create_organisation(values: dict[str, str | None], *, actor: Actor) -> int:
    """Create an organisation from cleaned values; its creator is its first owner."""
    async with write_transaction():
        if await Organisation.exists().where(Organisation.siret == values["siret"]):
            raise _siret_taken()
        rows = await Organisation.insert(
            Organisation(**values, created_by=actor.user_id)
        ).returning(Organisation.id)
        org_id = rows[0]["id"]
        await Membership.insert(
            Membership(organisation=org_id, user=actor.user_id, role=MemberRole.owner.value)
        )
        await audit.record_by(
            actor,
            "organisations.created",
            "organisation",
            org_id,
            name=values["name"],
            siret=values["siret"],
        )
    return org_id


async def update_organisation(org_id: int, values: dict[str, str | None], *, actor: Actor) -> None:
    """Owners change the organisation's details; the IBAN change is audited, masked."""
    async with write_transaction():
        await _require_owner(org_id, actor.user_id)
        if await Organisation.exists().where(
            (Organisation.siret == values["siret"]) & (Organisation.id != org_id)
        ):
            raise _siret_taken()
        before = (
            await Organisation.select(*[getattr(Organisation, f) for f in FIELDS])
            .where(Organisation.id == org_id)
            .first()
        )
        changed = sorted(k for k in FIELDS if before[k] != values[k])
        await Organisation.update({getattr(Organisation, k): v for k, v in values.items()}).where(
            Organisation.id == org_id
        )
        summary = {"changed": changed}
        if "iban" in changed:
            summary["new_bank_account"] = mask_iban(values["iban"] or "")
            await _tell_owners_iban_changed(org_id, values, actor)
        await audit.record_by(actor, "organisations.updated", "organisation", org_id, **summary)


async def email_members(organisation_id: int, template: str, context: dict) -> None:
    """Queue one e-mail to each member of the organisation, in their language (inside
    the caller's transaction: sent only if it commits)."""
    members = await Membership.select(
        Membership.user.email.as_alias("email"), Membership.user.language.as_alias("language")
    ).where(Membership.organisation == organisation_id)
    for member in members:
        await enqueue_email(
            to=member["email"], template=template, language=member["language"], context=context
        )


async def _tell_owners_iban_changed(org_id: int, values: dict, actor: Actor) -> None:
    """Bank details decide where the money goes: every owner hears of a change."""
    owners = await Membership.select(
        Membership.user.email.as_alias("email"), Membership.user.language.as_alias("language")
    ).where((Membership.organisation == org_id) & (Membership.role == MemberRole.owner.value))
    who = await User.select(User.full_name).where(User.id == actor.user_id).first()
    for owner in owners:
        await enqueue_email(
            to=owner["email"],
            template="iban_changed",
            language=owner["language"],
            context={
                "organisation": values["name"],
                "iban": mask_iban(values["iban"] or ""),
                "who": who["full_name"] if who else "",
            },
        )


async def _membership(org_id: int, user_id: int | None) -> dict | None:
    if user_id is None:
        return None
    return (
        await Membership.select(Membership.id, Membership.role)
        .where((Membership.organisation == org_id) & (Membership.user == user_id))
        .first()
    )


async def _require_owner(org_id: int, user_id: int | None) -> None:
    membership = await _membership(org_id, user_id)
    if membership is None or membership["role"] != MemberRole.owner.value:
        raise _not_owner()


@dataclass(frozen=True, slots=True)
class OrganisationView:
    """An organisation as one person may see it."""

    data: dict
    my_role: str | None  # owner / member / None for staff
    iban_visible: bool

    @property
    def is_owner(self) -> bool:
        return self.my_role == MemberRole.owner.value

    @property
    def siret_shown(self) -> str:
        return format_siret(self.data["siret"])

    @property
    def iban_shown(self) -> str:
        return format_iban(self.data["iban"]) if self.iban_visible else mask_iban(self.data["iban"])


async def organisation_for(user: CurrentUser, org_id: int) -> OrganisationView | None:
    """The organisation if this person may see it, else None (answered as 404)."""
    membership = await _membership(org_id, user.id)
    if membership is None and not can_view_every_organisation(user):
        return None
    data = await Organisation.select().where(Organisation.id == org_id).first()
    if data is None:
        return None
    role = membership["role"] if membership else None
    # In full to its members only: finance staff see it masked here and ask for it on a
    # grant's page, where each display is audited (``grants.bank``).
    return OrganisationView(data=data, my_role=role, iban_visible=role is not None)


async def organisations_of(user_id: int) -> list[dict]:
    """The person's organisations with their role there (one query)."""
    return (
        await Membership.select(
            Membership.organisation.id.as_alias("id"),
            Membership.organisation.name.as_alias("name"),
            Membership.organisation.city.as_alias("city"),
            Membership.role,
        )
        .where(Membership.user == user_id)
        .order_by(Membership.organisation.name)
    )


async def members(org_id: int) -> list[dict]:
    return (
        await Membership.select(
            Membership.id,
            Membership.role,
            Membership.joined_at,
            Membership.user.id.as_alias("user_id"),
            Membership.user.full_name.as_alias("full_name"),
            Membership.user.email.as_alias("email"),
        )
        .where(Membership.organisation == org_id)
        .order_by(Membership.joined_at)
    )


def sole_owner(members: list[dict]) -> int | None:
    """The membership of the organisation's only owner (None with several): they may
    neither become a mere member nor leave until someone else is an owner."""
    owners = [m["id"] for m in members if m["role"] == MemberRole.owner.value]
    return owners[0] if len(owners) == 1 else None


async def pending_invitations(org_id: int) -> list[dict]:
    return (
        await MemberInvitation.select(
            MemberInvitation.id,
            MemberInvitation.email,
            MemberInvitation.role,
            MemberInvitation.expires_at,
        )
        .where(
            (MemberInvitation.organisation == org_id)
            & MemberInvitation.accepted_at.is_null()
            & MemberInvitation.cancelled_at.is_null()
            & (MemberInvitation.expires_at > now())
        )
        .order_by(MemberInvitation.created_at)
    )


async def invite_member(org_id: int, *, email: str, role: str, base_url: str, actor: Actor) -> None:
    """An owner invites someone by e-mail (link valid 7 days)."""
    email = normalise_email(email)
    role = MemberRole(role).value
    raw = secrets.token_urlsafe(32)
    async with write_transaction():
        await _require_owner(org_id, actor.user_id)
        already = await Membership.exists().where(
            (Membership.organisation == org_id) & (Membership.user.email == email)
        )
        if already:
            raise OrganisationError(
                "already_member", N_("This person is already a member."), field="email"
            )
        org = await Organisation.select(Organisation.name).where(Organisation.id == org_id).first()
        inviter = await User.select(User.full_name).where(User.id == actor.user_id).first()
        invitee = await User.select(User.language).where(User.email == email).first()
        await MemberInvitation.insert(
            MemberInvitation(
                organisation=org_id,
                email=email,
                role=role,
                token_hash=_hash(raw),
                invited_by=actor.user_id,
                expires_at=now() + INVITATION_LIFETIME,
            )
        )
        await enqueue_email(
            to=email,
            template="member_invitation",
            language=invitee["language"] if invitee else "fr",
            context={
                "organisation": org["name"],
                "inviter": inviter["full_name"] if inviter else "",
                "url": f"{base_url}/structures/invitation?jeton={raw}",
            },
        )
        await audit.record_by(
            actor, "organisations.member_invited", "organisation", org_id, role=role
        )


async def invitation_by_token(raw: str) -> dict:
    row = (
        await MemberInvitation.select(
            MemberInvitation.id,
            MemberInvitation.email,
            MemberInvitation.role,
            MemberInvitation.expires_at,
            MemberInvitation.accepted_at,
            MemberInvitation.cancelled_at,
            MemberInvitation.organisation.id.as_alias("organisation_id"),
            MemberInvitation.organisation.name.as_alias("organisation_name"),
        )
        .where(MemberInvitation.token_hash == _hash(raw or ""))
        .first()
    )
    if row is None or row["cancelled_at"] is not None:
        raise OrganisationError(
            "token_invalid", N_("This invitation is not valid. Ask for a new one.")
        )
    if row["accepted_at"] is not None:
        raise _invitation_used()
    if row["expires_at"] <= now():
        raise OrganisationError(
            "token_expired", N_("This invitation has expired. Ask for a new one.")
        )
    return row


def _invitation_used() -> OrganisationError:
    return OrganisationError("token_used", N_("This invitation has already been used."))


async def accept_invitation(raw: str, user: CurrentUser, *, actor: Actor) -> int:
    """Join the organisation; the invitation was for this person's e-mail address."""
    async with write_transaction():
        invitation = await invitation_by_token(raw)
        locked = await for_update(
            MemberInvitation.select(MemberInvitation.accepted_at).where(
                MemberInvitation.id == invitation["id"]
            )
        ).first()
        if locked["accepted_at"] is not None:
            raise _invitation_used()
        if normalise_email(user.email) != invitation["email"]:
            raise OrganisationError(
                "wrong_account",
                N_("This invitation was sent to another email address: sign in with that address."),
            )
        org_id = invitation["organisation_id"]
        await MemberInvitation.update({MemberInvitation.accepted_at: now()}).where(
            MemberInvitation.id == invitation["id"]
        )
        if await _membership(org_id, user.id) is None:
            await Membership.insert(
                Membership(organisation=org_id, user=user.id, role=invitation["role"])
            )
        await audit.record(
            "organisations.member_joined",
            actor_id=user.id,
            actor_label=user.email,
            ip=actor.ip,
            object_type="organisation",
            object_id=org_id,
            summary={"role": invitation["role"]},
        )
    return org_id


async def cancel_invitation(org_id: int, invitation_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        await _require_owner(org_id, actor.user_id)
        await MemberInvitation.update({MemberInvitation.cancelled_at: now()}).where(
            (MemberInvitation.id == invitation_id) & (MemberInvitation.organisation == org_id)
        )


async def _lock_organisation(org_id: int) -> None:
    """Serialise changes of members of one organisation (the last-owner rule)."""
    await for_update(Organisation.select(Organisation.id).where(Organisation.id == org_id)).first()


async def _owner_count(org_id: int) -> int:
    return await Membership.count().where(
        (Membership.organisation == org_id) & (Membership.role == MemberRole.owner.value)
    )


async def remove_member(org_id: int, membership_id: int, *, actor: Actor) -> None:
    """An owner removes a member, or a member leaves; an organisation always keeps an owner."""
    async with write_transaction():
        await _lock_organisation(org_id)
        target = await for_update(
            Membership.select(Membership.id, Membership.user, Membership.role).where(
                (Membership.id == membership_id) & (Membership.organisation == org_id)
            )
        ).first()
        if target is None:
            raise _member_not_found()
        if target["user"] != actor.user_id:
            await _require_owner(org_id, actor.user_id)
        if target["role"] == MemberRole.owner.value and await _owner_count(org_id) <= 1:
            raise _last_owner()
        await Membership.delete().where(Membership.id == membership_id)
        await audit.record_by(
            actor, "organisations.member_removed", "organisation", org_id, user=target["user"]
        )


async def change_member_role(org_id: int, membership_id: int, role: str, *, actor: Actor) -> None:
    role = MemberRole(role).value
    async with write_transaction():
        await _lock_organisation(org_id)
        await _require_owner(org_id, actor.user_id)
        target = await for_update(
            Membership.select(Membership.id, Membership.user, Membership.role).where(
                (Membership.id == membership_id) & (Membership.organisation == org_id)
            )
        ).first()
        if target is None:
            raise _member_not_found()
        demoting = target["role"] == MemberRole.owner.value and role != MemberRole.owner.value
        if demoting and await _owner_count(org_id) <= 1:
            raise _last_owner()
        await Membership.update({Membership.role: role}).where(Membership.id == membership_id)
        await audit.record_by(
            actor,
            "organisations.member_role_changed",
            "organisation",
            org_id,
            user=target["user"],
            role=role,
        )


async def is_member(org_id: int, user_id: int) -> bool:
    return await _membership(org_id, user_id) is not None


@on_erasure
async def _withdraw_join_requests(user_id: int, email: str) -> None:
    """An erased person's waiting requests are withdrawn (the owners no longer see them)."""
    await JoinRequest.update({JoinRequest.status: JoinStatus.withdrawn.value}).where(
        (JoinRequest.user == user_id) & (JoinRequest.status == JoinStatus.pending.value)
    )


@on_erasure
async def _forget_invitations(user_id: int, email: str) -> None:
    """The invitations sent to an erased person no longer name them."""
    await MemberInvitation.update({MemberInvitation.email: "effacee@guichet.invalid"}).where(
        MemberInvitation.email == email
    )


@block_erasure_when
async def _keeps_an_owner(user_id: int) -> None:
    """An organisation always keeps an owner, even when one erases their account."""
    owned = Membership.select(Membership.organisation).where(
        (Membership.user == user_id) & (Membership.role == MemberRole.owner.value)
    )
    others = await Membership.count().where(
        Membership.organisation.is_in(owned)
        & (Membership.role == MemberRole.owner.value)
        & (Membership.user != user_id)
    )
    mine = await Membership.count().where(
        (Membership.user == user_id) & (Membership.role == MemberRole.owner.value)
    )
    if mine and others < mine:
        raise AccountError(
            "last_owner_of_organisation",
            N_(
                "You are the only owner of an organisation: make another member its owner first (« My organisations »)."
            ),
        )


@keep_records_when
async def _member_of_an_organisation(user_id: int) -> bool:
    """What a person did for an organisation (applications, acceptances) is kept."""
    return await Membership.exists().where(Membership.user == user_id)
