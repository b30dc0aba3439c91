"""Joining an organisation already registered: a person who types a SIRET that is
taken asks its owners to join; the owners accept or refuse, the person is told. Only
the organisation's name and town (public in SIRENE) are shown to the person asking."""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.tables import User
from app.core import audit
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.outbox import enqueue_email
from app.organisations.services import (
    OrganisationError,
    _lock_organisation,
    _membership,
    _require_owner,
    now,
)
from app.organisations.tables import JoinRequest, JoinStatus, MemberRole, Membership, Organisation


@dataclass(frozen=True, slots=True)
class RegisteredOrganisation:
    """What a person who typed a SIRET already registered may learn of its
    organisation: its name and town, which the public SIRENE register gives for any
    SIRET anyway. Nothing else (members, owners, applications, bank details) is told
    to someone who is not a member; the owners decide."""

    id: int
    siret: str
    name: str
    city: str
    member: bool
    asked: bool  # this person's request is waiting for the owners


async def registered_with_siret(siret: str, user_id: int) -> RegisteredOrganisation | None:
    """The organisation registered with this (cleaned) SIRET, as its would-be member may see it."""
    row = (
        await Organisation.select(Organisation.id, Organisation.name, Organisation.city)
        .where(Organisation.siret == siret)
        .first()
    )
    if row is None:
        return None
    return RegisteredOrganisation(
        id=row["id"],
        siret=siret,
        name=row["name"],
        city=row["city"],
        member=await _membership(row["id"], user_id) is not None,
        asked=await _pending_request(row["id"], user_id) is not None,
    )


async def _pending_request(org_id: int, user_id: int | None) -> dict | None:
    return (
        await JoinRequest.select(JoinRequest.id)
        .where(
            (JoinRequest.organisation == org_id)
            & (JoinRequest.user == user_id)
            & (JoinRequest.status == JoinStatus.pending.value)
        )
        .first()
    )


async def _owners(org_id: int) -> list[dict]:
    return await Membership.select(
        Membership.user.email.as_alias("email"), Membership.user.language.as_alias("language")
    ).where((Membership.organisation == org_id) & (Membership.role == MemberRole.owner.value))


async def request_to_join(siret: str, *, base_url: str, actor: Actor) -> RegisteredOrganisation:
    """Ask the owners of the organisation registered with this SIRET to let this
    person in: one request waits at a time per person and organisation; every owner
    gets it by e-mail and answers on the organisation's page."""
    async with write_transaction():
        found = await registered_with_siret(siret, actor.user_id)
        if found is None:
            raise OrganisationError(
                "not_found", N_("No organisation is registered with this SIRET number.")
            )
        await _lock_organisation(found.id)
        if await _membership(found.id, actor.user_id) is not None:
            raise OrganisationError(
                "already_member", N_("You are already a member of this organisation.")
            )
        if await _pending_request(found.id, actor.user_id) is not None:
            raise OrganisationError(
                "already_asked",
                N_(
                    "You have already asked to join this organisation: its owners will answer by e-mail."
                ),
            )
        await JoinRequest.insert(JoinRequest(organisation=found.id, user=actor.user_id))
        who = await User.select(User.full_name, User.email).where(User.id == actor.user_id).first()
        for owner in await _owners(found.id):
            await enqueue_email(
                to=owner["email"],
                template="join_request",
                language=owner["language"],
                context={
                    "organisation": found.name,
                    "who": who["full_name"],
                    "who_email": who["email"],
                    "url": f"{base_url}/structures/{found.id}#join-requests",
                },
            )
        await audit.record_by(actor, "organisations.join_requested", "organisation", found.id)
    return found


async def join_requests(org_id: int) -> list[dict]:
    """The requests waiting for the owners' answer, oldest first."""
    return (
        await JoinRequest.select(
            JoinRequest.id,
            JoinRequest.created_at,
            JoinRequest.user.full_name.as_alias("full_name"),
            JoinRequest.user.email.as_alias("email"),
        )
        .where(
            (JoinRequest.organisation == org_id) & (JoinRequest.status == JoinStatus.pending.value)
        )
        .order_by(JoinRequest.created_at)
    )


async def requests_to_answer(user_id: int) -> list[dict]:
    """The requests to join waiting in the organisations this person owns (for « Mon
    espace »), oldest first: who asks, which organisation."""
    owned = Membership.select(Membership.organisation).where(
        (Membership.user == user_id) & (Membership.role == MemberRole.owner.value)
    )
    return (
        await JoinRequest.select(
            JoinRequest.id,
            JoinRequest.created_at,
            JoinRequest.organisation.id.as_alias("organisation_id"),
            JoinRequest.organisation.name.as_alias("organisation_name"),
            JoinRequest.user.full_name.as_alias("full_name"),
        )
        .where(
            JoinRequest.organisation.is_in(owned) & (JoinRequest.status == JoinStatus.pending.value)
        )
        .order_by(JoinRequest.created_at)
    )


async def my_join_requests(user_id: int) -> list[dict]:
    """The person's requests still waiting, with only the name and town of each organisation."""
    return (
        await JoinRequest.select(
            JoinRequest.id,
            JoinRequest.created_at,
            JoinRequest.organisation.name.as_alias("name"),
            JoinRequest.organisation.city.as_alias("city"),
        )
        .where((JoinRequest.user == user_id) & (JoinRequest.status == JoinStatus.pending.value))
        .order_by(JoinRequest.created_at)
    )


async def answer_join_request(
    org_id: int, request_id: int, *, accept: bool, base_url: str, actor: Actor
) -> None:
    """An owner accepts (the person becomes a member, not an owner) or refuses a
    request; the person is told by e-mail either way."""
    async with write_transaction():
        await _lock_organisation(org_id)
        await _require_owner(org_id, actor.user_id)
        # PostgreSQL locks no row through an outer join: lock, then read the person.
        request = await for_update(
            JoinRequest.select(JoinRequest.id, JoinRequest.user, JoinRequest.status).where(
                (JoinRequest.id == request_id) & (JoinRequest.organisation == org_id)
            )
        ).first()
        if request is None:
            raise OrganisationError("not_found", N_("This request does not exist."))
        if request["status"] != JoinStatus.pending.value:
            raise OrganisationError("answered", N_("This request has already been answered."))
        status = JoinStatus.accepted if accept else JoinStatus.refused
        await JoinRequest.update(
            {
                JoinRequest.status: status.value,
                JoinRequest.decided_at: now(),
                JoinRequest.decided_by: actor.user_id,
            }
        ).where(JoinRequest.id == request_id)
        if accept and await _membership(org_id, request["user"]) is None:
            await Membership.insert(
                Membership(organisation=org_id, user=request["user"], role=MemberRole.member.value)
            )
        org = await Organisation.select(Organisation.name).where(Organisation.id == org_id).first()
        person = (
            await User.select(User.email, User.language).where(User.id == request["user"]).first()
        )
        await enqueue_email(
            to=person["email"],
            template="join_request_answered",
            language=person["language"],
            context={
                "organisation": org["name"],
                "accepted": accept,
                "url": f"{base_url}/structures/{org_id}" if accept else f"{base_url}/structures",
            },
        )
        await audit.record_by(
            actor,
            f"organisations.join_{status.value}",
            "organisation",
            org_id,
            user=request["user"],
        )
