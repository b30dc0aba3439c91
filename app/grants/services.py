"""Grants (subventions): created by a published award with its instalment schedule,
accepted online by the organisation, which starts the follow-up; the schedule's life
(instalments due, approved, cancelled, amended, reduced). No HTTP here.

Every status written here goes through the state tables of ``states.py``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from app.core import audit
from app.core.audit import SYSTEM, Actor
from app.core.db import for_update, write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.money import format_amount
from app.grants import schedule as schedules
from app.grants import totals
from app.grants.agreement_rule import needs_agreement
from app.grants.models import (
    AmendmentRecord,
    GrantRecord,
    InstalmentRecord,
    RecoveryRecord,
    ReductionResult,
)
from app.grants.states import AMENDABLE, GRANT, INSTALMENT, UNPAID, agreement_holds_back
from app.grants.tables import (
    AmendmentKind,
    Grant,
    GrantStatus,
    Instalment,
    LedgerEntry,
    Recovery,
    ScheduleAmendment,
)
from app.permissions import funders_for

INSTALMENT_LABELS = INSTALMENT.labels


class GrantError(DomainError):
    """A grant or its schedule refused a change; the message is written at the raise."""


def now() -> datetime:
    return datetime.now(UTC)


async def audit_change(action: str, actor: Actor, grant_id: int, **summary) -> None:
    await audit.record_by(actor, action, "grant", grant_id, **summary)


def not_found() -> GrantError:
    return GrantError("not_found", N_("Not found."))


async def create_grant(
    *,
    application_id: int,
    call_id: int,
    organisation_id: int,
    amount_cents: int,
    schedule: dict,
    agreement_asked: bool = False,
    actor: Actor,
) -> int:
    """The grant of a published award and its instalments (adding up exactly to the
    award). A signed agreement is required as ``agreement_rule.needs_agreement`` says. Called inside the publication's transaction."""
    parts = schedules.amounts(amount_cents, schedule)
    grant_id = (
        await Grant.insert(
            Grant(
                application=application_id,
                call=call_id,
                organisation=organisation_id,
                amount_cents=amount_cents,
                agreement_required=await needs_agreement(amount_cents, call_asks=agreement_asked)
                is not None,
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
    await totals.follow(grant_id)
    await audit_change(
        "grants.created", actor, grant_id, amount_cents=amount_cents, parts=len(parts)
    )
    return grant_id


# --- Reading ----------------------------------------------------------------------------------

GRANT_COLUMNS = (
    Grant.id,
    Grant.application,
    Grant.call,
    Grant.organisation,
    Grant.amount_cents,
    Grant.reduction_cents,
    Grant.status,
    Grant.created_at,
    Grant.accepted_at,
    Grant.signatory_name,
    Grant.signatory_capacity,
    Grant.agreement_required,
    Grant.agreement_file,
    Grant.agreement_name,
    Grant.agreement_uploaded_at,
    Grant.agreement_sha256,
    Grant.interim_report_due,
    Grant.final_report_due,
    Grant.application.reference.as_alias("reference"),
    Grant.application.title.as_alias("title"),
    Grant.application.budget.as_alias("budget"),
    Grant.application.requested_cents.as_alias("requested_cents"),
    Grant.call.title.as_alias("call_title"),
    Grant.call.funder.name.as_alias("funder_name"),
    Grant.organisation.name.as_alias("organisation_name"),
    Grant.call.funder.address.as_alias("funder_address"),
    Grant.call.funder.as_alias("funder_id"),
)


async def _one_grant(condition) -> GrantRecord | None:
    row = await Grant.select(*GRANT_COLUMNS).where(condition).output(load_json=True).first()
    return GrantRecord.of(row, budget=row["budget"] or {}) if row else None


async def get_grant(grant_id: int) -> GrantRecord | None:
    """The grant, whoever asks (for services and for pages already checked)."""
    return await _one_grant(Grant.id == grant_id)


async def grant_of(application_id: int) -> GrantRecord | None:
    """The grant of an application (its access is the application's)."""
    return await _one_grant(Grant.application == application_id)


async def grant_for(user, grant_id: int) -> GrantRecord | None:
    """The grant with its call, organisation and file, if this person may see it: staff
    (officers, finance, admins) of its funder or a member of the organisation."""
    from app.organisations.tables import Membership

    condition = Grant.id == grant_id
    funders = funders_for(user, "follow_grants")  # None: staff of every funder
    if funders is not None:
        members = Membership.select(Membership.organisation).where(Membership.user == user.id)
        mine = Grant.organisation.is_in(members)
        if funders:
            mine = mine | Grant.call.funder.is_in(sorted(funders))
        condition = condition & mine
    return await _one_grant(condition)


async def paid_by_instalment(grant_id: int) -> dict[int, int]:
    """Payments less reversals on each instalment of the grant."""
    from app.grants.ledger import totals

    paid: dict[int, list[tuple[str, int]]] = {}
    for e in await LedgerEntry.select(
        LedgerEntry.instalment, LedgerEntry.kind, LedgerEntry.amount_cents
    ).where((LedgerEntry.grant == grant_id) & LedgerEntry.instalment.is_not_null()):
        paid.setdefault(e["instalment"], []).append((e["kind"], e["amount_cents"]))
    return {part: totals(entries)[0] for part, entries in paid.items()}


async def instalments(grant_id: int) -> list[InstalmentRecord]:
    """The schedule, in order, with what was paid on each instalment."""
    rows = (
        await Instalment.select().where(Instalment.grant == grant_id).order_by(Instalment.position)
    )
    paid = await paid_by_instalment(grant_id)
    return [InstalmentRecord.of(r, paid_cents=paid.get(r["id"], 0)) for r in rows]


async def amendments(grant_id: int) -> list[AmendmentRecord]:
    rows = (
        await ScheduleAmendment.select()
        .where(ScheduleAmendment.grant == grant_id)
        .order_by(ScheduleAmendment.id)
        .output(load_json=True)
    )
    return [AmendmentRecord.of(r) for r in rows]


async def reduction_applied(grant_id: int) -> bool:
    return await ScheduleAmendment.exists().where(
        (ScheduleAmendment.grant == grant_id) & (ScheduleAmendment.kind == AmendmentKind.reduction)
    )


async def recoveries(grant_id: int) -> list[RecoveryRecord]:
    """The grant's recoveries, each with what was paid back on it so far."""
    rows = await Recovery.select().where(Recovery.grant == grant_id).order_by(Recovery.id)
    received: dict[int, int] = {}
    for e in await LedgerEntry.select(LedgerEntry.recovery, LedgerEntry.amount_cents).where(
        (LedgerEntry.grant == grant_id) & LedgerEntry.recovery.is_not_null()
    ):
        received[e["recovery"]] = received.get(e["recovery"], 0) + e["amount_cents"]
    return [RecoveryRecord.of(r, received_cents=received.get(r["id"], 0)) for r in rows]


# --- Acceptance (the agreement: ``agreements``) --------------------------------------------------------------


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
        raise GrantError(
            "signatory_name", N_("Enter the name of the person who signs."), "signatory_name"
        )
    if not signatory_capacity:
        raise GrantError(
            "signatory_capacity",
            N_("Enter their capacity, e.g. President."),
            "signatory_capacity",
        )
    if not conditions_ticked:
        raise GrantError("conditions", N_("Tick the box to accept the conditions."), "conditions")
    at = now()
    async with write_transaction():
        rows = await for_update(Grant.select(Grant.id, Grant.status).where(Grant.id == grant_id))
        if not rows:
            raise not_found()
        if not GRANT.can("accept", rows[0]["status"], "applicant"):
            raise GrantError("already_accepted", N_("This grant is already accepted."))
        await Grant.update(
            {
                Grant.status: GRANT.fire("accept", rows[0]["status"], "applicant"),
                Grant.accepted_at: at,
                Grant.accepted_by: user_id,
                Grant.signatory_name: signatory_name[:200],
                Grant.signatory_capacity: signatory_capacity[:200],
                Grant.accepted_ip: (actor.ip or "")[:45],
            }
        ).where(Grant.id == grant_id)
        await make_due(grant_id, "acceptance")
        await audit_change(
            "grants.accepted",
            actor,
            grant_id,
            signatory=signatory_name[:200],
            capacity=signatory_capacity[:200],
        )


# --- Instalments ------------------------------------------------------------------------------

# What an officer does with one instalment from its page.
OFFICER_ACTIONS = ("approve", "cancel")


async def transition_instalment(
    grant_id: int, instalment_id: int, action: str, *, role: str, actor: Actor, reason: str = ""
) -> None:
    """Approve an instalment for payment, or cancel one not paid (``role``: the side
    that acts, officers). Cancelling needs a reason, and what is due on the grant goes
    down by the instalment's amount (the funder will not pay it)."""
    if action == "cancel" and not reason.strip():
        raise GrantError("reason", N_("Give the reason."), "reason")
    async with write_transaction():
        rows = await for_update(
            Instalment.select().where(
                (Instalment.id == instalment_id) & (Instalment.grant == grant_id)
            )
        )
        if not rows:
            raise not_found()
        instalment = rows[0]
        if action not in OFFICER_ACTIONS or not INSTALMENT.can(action, instalment["status"], role):
            raise GrantError("transition", N_("This instalment cannot change that way now."))
        grant = (
            await Grant.select(Grant.agreement_required, Grant.agreement_file)
            .where(Grant.id == grant_id)
            .first()
        )
        if agreement_holds_back(
            action, required=grant["agreement_required"], in_force=bool(grant["agreement_file"])
        ):
            raise GrantError(
                "agreement_first",
                N_(
                    "The agreement (convention) is not signed by both parties yet: no "
                    "instalment is approved before it."
                ),
            )
        if action == "cancel":
            from app.grants.ledger import instalment_paid

            if await instalment_paid(instalment_id):
                raise GrantError(
                    "partly_paid", N_("Part of this instalment is paid: cancel the payment first.")
                )
        at = now()
        values = {Instalment.status: INSTALMENT.fire(action, instalment["status"], role)}
        if action == "approve":
            values.update({Instalment.approved_at: at, Instalment.approved_by: actor.user_id})
        if action == "cancel":
            values[Instalment.cancelled_at] = at
            values[Instalment.note] = reason.strip()[:500]
            await for_update(Grant.select(Grant.id).where(Grant.id == grant_id))
            await Grant.update(
                {Grant.reduction_cents: Grant.reduction_cents + instalment["amount_cents"]}
            ).where(Grant.id == grant_id)
            await totals.follow(grant_id)
        await Instalment.update(values).where(Instalment.id == instalment_id)
        await audit_change(
            f"grants.instalment_{action}",
            actor,
            grant_id,
            instalment=instalment["position"],
            amount_cents=instalment["amount_cents"],
            reason=reason.strip()[:200] or None,
        )


async def make_due(grant_id: int, trigger: str) -> int:
    """Scheduled instalments with this trigger become due (inside the caller's
    transaction: acceptance, approval of a report)."""
    step = INSTALMENT.step("make_due", "system")
    rows = (
        await Instalment.update({Instalment.status: step.target, Instalment.due_at: now()})
        .where(
            (Instalment.grant == grant_id)
            & (Instalment.trigger == trigger)
            & Instalment.status.is_in(list(step.sources))
        )
        .returning(Instalment.id)
    )
    return len(rows)


async def make_dated_due(today: date) -> int:
    """Instalments due on a date that has come, in active grants, become due."""
    step = INSTALMENT.step("make_due", "system")
    active = Grant.select(Grant.id).where(Grant.status == GrantStatus.active)
    async with write_transaction():
        rows = (
            await Instalment.update({Instalment.status: step.target, Instalment.due_at: now()})
            .where(
                (Instalment.trigger == "date")
                & Instalment.status.is_in(list(step.sources))
                & (Instalment.due_on <= today)
                & Instalment.grant.is_in(active)
            )
            .returning(Instalment.id, Instalment.grant, Instalment.position)
        )
        for row in rows:
            await audit_change(
                "grants.instalment_due", SYSTEM, row["grant"], instalment=row["position"]
            )
    return len(rows)


def _snapshot(parts: list[dict]) -> list[dict]:
    return [
        {
            "position": p["position"],
            "amount_cents": p["amount_cents"],
            "trigger": p["trigger"],
            "due_on": p["due_on"].isoformat() if p.get("due_on") else None,
            "status": p["status"],
        }
        for p in parts
    ]


async def amend_schedule(
    grant_id: int, new_amounts: dict[int, int], *, reason: str, actor: Actor
) -> None:
    """An amendment (avenant): change the amounts of instalments not yet approved or
    paid, keeping the total equal to what is due on the grant; both versions are kept."""
    if not reason.strip():
        raise GrantError("reason", N_("Give the reason."), "reason")
    async with write_transaction():
        rows = await for_update(Grant.select().where(Grant.id == grant_id))
        if not rows:
            raise not_found()
        grant = rows[0]
        parts = await for_update(
            Instalment.select().where(Instalment.grant == grant_id).order_by(Instalment.position)
        )
        before = _snapshot(parts)
        after = []
        for part in parts:
            amount = new_amounts.get(part["id"], part["amount_cents"])
            if amount != part["amount_cents"]:
                if part["status"] not in AMENDABLE:
                    raise GrantError(
                        "amend_locked", N_("Only instalments not yet approved or paid can change.")
                    )
                if amount < 0:
                    raise GrantError("amount", N_("Enter an amount in euros, e.g. 60 000,00."))
            after.append({**part, "amount_cents": amount})
        live = [p for p in after if p["status"] != "cancelled"]
        if sum(p["amount_cents"] for p in live) != grant["amount_cents"] - grant["reduction_cents"]:
            raise GrantError(
                "amend_total", N_("The instalments must add up to what is due on the grant.")
            )
        for part in after:
            await Instalment.update({Instalment.amount_cents: part["amount_cents"]}).where(
                Instalment.id == part["id"]
            )
        await ScheduleAmendment.insert(
            ScheduleAmendment(
                grant=grant_id,
                before=json.dumps(before),
                after=json.dumps(_snapshot(after)),
                reason=reason.strip()[:2000],
                created_by=actor.user_id,
            )
        )
        await audit_change("grants.schedule_amended", actor, grant_id, reason=reason.strip()[:200])


async def set_deadlines(
    grant_id: int, interim: date | None, final: date | None, *, actor: Actor
) -> None:
    async with write_transaction():
        await Grant.update(
            {Grant.interim_report_due: interim, Grant.final_report_due: final}
        ).where(Grant.id == grant_id)
        await audit_change(
            "grants.deadlines_set",
            actor,
            grant_id,
            interim=interim.isoformat() if interim else None,
            final=final.isoformat() if final else None,
        )


# --- The proportional reduction ----------------------------------------------------------------


def reduced_total(amount_cents: int, planned_cents: int, actual_cents: int) -> int:
    """What is due after the proportional reduction: the award times actual eligible
    spending over planned, rounded down to the cent; never more than the award."""
    if planned_cents <= 0 or actual_cents >= planned_cents:
        return amount_cents
    return amount_cents * max(actual_cents, 0) // planned_cents


async def apply_reduction(
    grant_id: int, *, planned_cents: int, actual_cents: int, actor: Actor
) -> ReductionResult:
    """The proportional reduction after the final report: the unpaid instalments shrink,
    the last first (one taken whole is cancelled); when more was paid than is now due,
    a recovery is opened. Once per grant."""
    from app.grants.ledger import balance

    async with write_transaction():
        rows = await for_update(Grant.select().where(Grant.id == grant_id))
        if not rows:
            raise not_found()
        grant = rows[0]
        if await reduction_applied(grant_id):
            raise GrantError("already_reduced", N_("The reduction is already applied."))
        due = reduced_total(grant["amount_cents"], planned_cents, actual_cents)
        reduction = grant["amount_cents"] - due
        if reduction == 0:
            return ReductionResult(0, 0)
        parts = (
            await Instalment.select()
            .where(Instalment.grant == grant_id)
            .order_by(Instalment.position)
        )
        before = _snapshot(parts)
        left = reduction
        for part in reversed(parts):
            if left == 0:
                break
            if not INSTALMENT.can("cancel_by_reduction", part["status"], "officer"):
                continue  # paid or cancelled: nothing left to take from it
            cut = min(part["amount_cents"], left)
            left -= cut
            values = {Instalment.amount_cents: part["amount_cents"] - cut}
            if part["amount_cents"] == cut:
                values.update(
                    {
                        Instalment.status: INSTALMENT.fire(
                            "cancel_by_reduction", part["status"], "officer"
                        ),
                        Instalment.cancelled_at: now(),
                    }
                )
            await Instalment.update(values).where(Instalment.id == part["id"])
        await Grant.update({Grant.reduction_cents: Grant.reduction_cents + reduction}).where(
            Grant.id == grant_id
        )
        await totals.follow(grant_id)
        owed = -(await balance(grant_id)).remaining_cents
        if owed > 0:
            await Recovery.insert(
                Recovery(
                    grant=grant_id,
                    amount_cents=owed,
                    reason="Réduction proportionnelle : dépenses éligibles réalisées "
                    f"{format_amount(actual_cents, 'fr_FR')} sur "
                    f"{format_amount(planned_cents, 'fr_FR')} prévus.",
                    created_by=actor.user_id,
                )
            )
        after = (
            await Instalment.select()
            .where(Instalment.grant == grant_id)
            .order_by(Instalment.position)
        )
        await ScheduleAmendment.insert(
            ScheduleAmendment(
                grant=grant_id,
                kind=AmendmentKind.reduction,
                before=json.dumps(before),
                after=json.dumps(_snapshot(after)),
                reason=f"Réduction proportionnelle de {format_amount(reduction, 'fr_FR')}",
                created_by=actor.user_id,
            )
        )
        await audit_change(
            "grants.reduced",
            actor,
            grant_id,
            reduction_cents=reduction,
            recovery_cents=max(owed, 0),
        )
        return ReductionResult(reduction, max(owed, 0))


async def open_recovery(grant_id: int, *, amount_cents: int, reason: str, actor: Actor) -> int:
    """An officer asks the grantee to pay back part of what it received (the project
    not carried out in full, money used otherwise…), outside the final report's
    reduction: what is paid back is no longer due, so the grant is reduced by the same
    amount. Only on what is paid and not already being recovered, once no instalment
    is left to pay (cancel them first: they would be paid while money is asked back)."""
    from app.grants.ledger import balance, recovered_on

    reason = reason.strip()
    if not reason:
        raise GrantError("recovery_reason", N_("Give the reason of the recovery."), "reason")
    if amount_cents <= 0:
        raise GrantError("amount_positive", N_("Enter an amount above zero."), "amount")
    async with write_transaction():
        rows = await for_update(Grant.select().where(Grant.id == grant_id))
        if not rows:
            raise not_found()
        unpaid = await Instalment.count().where(
            (Instalment.grant == grant_id) & Instalment.status.is_in(sorted(UNPAID))
        )
        if unpaid:
            raise GrantError(
                "instalments_left",
                N_("Instalments are still to pay: cancel them before asking money back."),
                "amount",
            )
        open_left = 0
        for r in await Recovery.select(Recovery.id, Recovery.amount_cents).where(
            (Recovery.grant == grant_id) & (Recovery.status == "open")
        ):
            open_left += r["amount_cents"] - await recovered_on(r["id"])
        limit = (await balance(grant_id)).net_paid_cents - open_left
        if amount_cents > limit:
            raise GrantError(
                "above_paid",
                N_("The amount is above what was paid and is not yet asked back (%(limit)s)."),
                "amount",
                limit=format_amount(max(limit, 0)),
            )
        await Grant.update({Grant.reduction_cents: Grant.reduction_cents + amount_cents}).where(
            Grant.id == grant_id
        )
        recovery_id = (
            await Recovery.insert(
                Recovery(
                    grant=grant_id,
                    amount_cents=amount_cents,
                    reason=reason[:2000],
                    created_by=actor.user_id,
                )
            ).returning(Recovery.id)
        )[0]["id"]
        await totals.follow(grant_id)
        await audit_change(
            "grants.recovery_opened",
            actor,
            grant_id,
            amount_cents=amount_cents,
            reason=reason[:200],
        )
    return recovery_id
