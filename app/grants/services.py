"""Grants (subventions): created by a published award with its instalment schedule,
accepted online by the organisation, which starts the follow-up. No HTTP here."""

from __future__ import annotations

from datetime import UTC, datetime

from app.accounts.services import Actor
from app.core import audit
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.grants import schedule as schedules
from app.grants.tables import Grant, GrantStatus, Instalment, InstalmentStatus

INSTALMENT_LABELS = {
    "scheduled": N_("scheduled"),
    "due": N_("due"),
    "approved": N_("approved for payment"),
    "paid": N_("paid"),
    "cancelled": N_("cancelled"),
}


class GrantError(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def now() -> datetime:
    return datetime.now(UTC)


async def _audit(action: str, actor: Actor, grant_id: int, **summary) -> None:
    await audit.record(
        action,
        actor_id=actor.user_id,
        actor_label=actor.label,
        ip=actor.ip,
        object_type="grant",
        object_id=grant_id,
        summary=summary or None,
    )


async def create_grant(
    *,
    application_id: int,
    call_id: int,
    organisation_id: int,
    amount_cents: int,
    schedule: dict,
    actor: Actor,
) -> int:
    """The grant of a published award and its instalments (adding up exactly to the
    award). Called inside the publication's transaction."""
    parts = schedules.amounts(amount_cents, schedule)
    grant_id = (
        await Grant.insert(
            Grant(
                application=application_id,
                call=call_id,
                organisation=organisation_id,
                amount_cents=amount_cents,
            )
        ).returning(Grant.id)
    )[0]["id"]
    await Instalment.insert(
        *[
            Instalment(
                grant=grant_id,
                position=n,
                amount_cents=part.amount_cents,
                trigger=part.trigger,
                due_on=part.due_on,
            )
            for n, part in enumerate(parts, start=1)
        ]
    )
    await _audit("grants.created", actor, grant_id, amount_cents=amount_cents, parts=len(parts))
    return grant_id


async def grant_of(application_id: int) -> dict | None:
    return await Grant.select().where(Grant.application == application_id).first()


async def instalments(grant_id: int) -> list[dict]:
    return (
        await Instalment.select().where(Instalment.grant == grant_id).order_by(Instalment.position)
    )


async def accept(
    grant_id: int,
    *,
    signatory_name: str,
    signatory_capacity: str,
    conditions_ticked: bool,
    user_id: int,
    actor: Actor,
) -> None:
    """The organisation accepts the award online: the signatory's name and capacity
    and the conditions ticked are required; timestamped with the IP and audited. The
    grant becomes active and the instalments due at acceptance become due."""
    signatory_name, signatory_capacity = signatory_name.strip(), signatory_capacity.strip()
    if not signatory_name:
        raise GrantError("signatory_name")
    if not signatory_capacity:
        raise GrantError("signatory_capacity")
    if not conditions_ticked:
        raise GrantError("conditions")
    at = now()
    async with write_transaction():
        grant = await for_update(Grant.select(Grant.id, Grant.status).where(Grant.id == grant_id))
        if not grant:
            raise GrantError("not_found")
        if grant[0]["status"] != GrantStatus.awaiting_acceptance:
            raise GrantError("already_accepted")
        await Grant.update(
            {
                Grant.status: GrantStatus.active,
                Grant.accepted_at: at,
                Grant.accepted_by: user_id,
                Grant.signatory_name: signatory_name[:200],
                Grant.signatory_capacity: signatory_capacity[:200],
                Grant.accepted_ip: (actor.ip or "")[:45],
            }
        ).where(Grant.id == grant_id)
        await Instalment.update({Instalment.status: InstalmentStatus.due}).where(
            (Instalment.grant == grant_id)
            & (Instalment.trigger == "acceptance")
            & (Instalment.status == InstalmentStatus.scheduled)
        )
        await _audit(
            "grants.accepted",
            actor,
            grant_id,
            signatory=signatory_name[:200],
            capacity=signatory_capacity[:200],
        )


async def attach_agreement(
    grant_id: int, *, storage_id: str, name: str, sha256: str, actor: Actor
) -> None:
    """Record the signed agreement (convention); a new upload replaces the reference to
    the previous one, which the audit trail keeps."""
    async with write_transaction():
        await Grant.update(
            {
                Grant.agreement_file: storage_id,
                Grant.agreement_name: name[:255],
                Grant.agreement_sha256: sha256,
                Grant.agreement_uploaded_at: now(),
            }
        ).where(Grant.id == grant_id)
        await _audit("grants.agreement_uploaded", actor, grant_id, name=name[:255], sha256=sha256)
