"""Committee decisions: the decision sheet within the envelope, private until an
officer publishes it (all decisions of the sheet or none), the grants it creates, and
the letters written afterwards. No HTTP here; every change is audited."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.applications import budget as budgets
from app.applications.states import APPLICATION
from app.applications.tables import Application
from app.calls.tables import Call
from app.core import audit
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, format_amount, parse_amount
from app.core.time import now
from app.decisions.errors import NOT_FOUND, TOO_LONG, DecisionError
from app.decisions.models import (
    LETTER_KIND,
    CommitteeDecision,
    decision_from,
    decision_of,
    decisions_of,
    select_decisions,
)
from app.decisions.settings import (
    CommitteeSettings,
    check_letter_template,
    save_settings,
    save_templates,
    settings_for,
)
from app.decisions.tables import Decision, LetterJob, Outcome
from app.grants import schedule as schedules
from app.grants import services as grants
from app.grants.schedule import ScheduleError

__all__ = [  # from the sibling modules, where they live: the committee's settings, the decisions read
    "LETTER_KIND",
    "CommitteeDecision",
    "CommitteeSettings",
    "DecisionError",
    "check_letter_template",
    "decision_of",
    "decisions_of",
    "save_settings",
    "save_templates",
    "settings_for",
]

# The committee's outcomes are the application's actions of the same name.
OUTCOMES = tuple(Outcome)


async def _audit(action: str, actor: Actor, object_type: str, object_id: int, **summary) -> None:
    await audit.record_by(actor, action, object_type, object_id, **summary)


def read_amount(text: str) -> int | None:
    """An award's amount as typed (None: left empty, the amount requested)."""
    text = text.strip()
    if not text:
        return None
    try:
        return parse_amount(text)
    except AmountError:
        raise DecisionError(
            "amount", N_("Enter an amount in euros, e.g. 200 000,00."), field="amount"
        ) from None


def schedule_of(decision: CommitteeDecision, settings: CommitteeSettings) -> Mapping[str, Any]:
    """The instalments of an award: its own schedule, else the call's default one."""
    return decision.schedule or settings.default_schedule


# --- The sheet (its rows: committee.py) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Totals:
    envelope_cents: int
    awarded_cents: int
    awards: int
    rejections: int
    waitlisted: int
    unpublished: int

    @property
    def remaining_cents(self) -> int:
        return self.envelope_cents - self.awarded_cents

    @property
    def over(self) -> bool:
        return self.remaining_cents < 0


async def totals(call_id: int) -> Totals:
    call = await Call.select(Call.envelope_cents).where(Call.id == call_id).first()
    rows = await Decision.select(
        Decision.outcome, Decision.amount_cents, Decision.published_at
    ).where(Decision.call == call_id)
    return Totals(
        envelope_cents=call["envelope_cents"] if call else 0,
        awarded_cents=sum(r["amount_cents"] for r in rows if r["outcome"] == Outcome.award),
        awards=sum(r["outcome"] == Outcome.award for r in rows),
        rejections=sum(r["outcome"] == Outcome.reject for r in rows),
        waitlisted=sum(r["outcome"] == Outcome.waitlist for r in rows),
        unpublished=sum(r["published_at"] is None for r in rows),
    )


def _limit(code: str, message: str, cents: int, field: str | None = "amount") -> DecisionError:
    return DecisionError(code, message, field=field, limit=format_amount(max(cents, 0)))


def check_amount(amount: int, app: Mapping[str, Any], call: Mapping[str, Any]) -> None:
    """The award's amount: positive, at most the request and the call's maximum, at
    least its minimum, and within the co-financing cap of the project's budget
    (``app``: its amount requested and its budget, decoded)."""
    if amount <= 0:
        raise DecisionError("amount_positive", N_("Enter an amount above zero."), field="amount")
    if amount > app["requested_cents"]:
        raise _limit(
            "amount_above_request",
            N_("The amount cannot be above the amount requested (%(limit)s)."),
            app["requested_cents"],
        )
    if call["max_award_cents"] and amount > call["max_award_cents"]:
        raise _limit(
            "amount_above_max",
            N_("The amount cannot be above the call's maximum (%(limit)s)."),
            call["max_award_cents"],
        )
    if call["min_award_cents"] and amount < call["min_award_cents"]:
        raise _limit(
            "amount_below_min",
            N_("The amount cannot be below the call's minimum (%(limit)s)."),
            call["min_award_cents"],
        )
    budget = budgets.from_json(app["budget"] or {}, app["requested_cents"])
    eligible = budget.eligible_cost
    if eligible > 0 and amount * 10_000 > call["max_rate_bp"] * eligible:
        raise DecisionError(
            "amount_above_rate",
            N_(
                "The amount goes above the call's co-financing cap (%(limit)s of the project's "
                "eligible cost)."
            ),
            field="amount",
            limit=f"{call['max_rate_bp'] / 100:g} %".replace(".", ","),
        )


def _over_envelope(left_cents: int, field: str | None = "amount") -> DecisionError:
    return _limit(
        "over_envelope",
        N_("The awards would go above the envelope: at most %(limit)s is left for this file."),
        left_cents,
        field,
    )


def _not_decidable(reference: str | None, field: str | None = None) -> DecisionError:
    return DecisionError(
        "not_decidable",
        N_("This file is not waiting for a decision (%(detail)s)."),
        field=field,
        detail=reference or "",
    )


def decidable(status: str) -> bool:
    """The committee may decide on a file in this state (one of its outcomes applies)."""
    return bool(APPLICATION.allowed(status, "officer") & set(OUTCOMES))


async def lock_call(call_id: int) -> dict:
    """Serialise the decisions of one call (the envelope is shared): a row lock on
    PostgreSQL; SQLite's IMMEDIATE transaction already holds the write lock."""
    rows = await for_update(
        Call.select(
            Call.id,
            Call.envelope_cents,
            Call.min_award_cents,
            Call.max_award_cents,
            Call.max_rate_bp,
        ).where(Call.id == call_id)
    )
    if not rows:
        raise DecisionError("not_found", NOT_FOUND)
    return rows[0]


async def _awarded_elsewhere(call_id: int, app_id: int) -> int:
    rows = await Decision.select(Decision.amount_cents).where(
        (Decision.call == call_id)
        & (Decision.outcome == Outcome.award)
        & (Decision.application != app_id)
    )
    return sum(r["amount_cents"] for r in rows)


async def decide(
    app_id: int,
    *,
    outcome: str,
    amount: int | None,
    reason: str,
    actor: Actor,
) -> CommitteeDecision | None:
    """Record (or change, or clear with ``outcome=""``) the committee's decision on one
    file, unpublished. An award needs a valid amount (the request by default) and keeps
    the total of the call's awards within the envelope; a rejection needs a reason.
    Returns the decision (None when cleared)."""
    reason = reason.strip()
    if outcome not in ("", *OUTCOMES):
        raise DecisionError("outcome", N_("Choose award, reject or waiting list."), field="outcome")
    if outcome == Outcome.reject and not reason:
        raise DecisionError(
            "reason_required",
            N_("Give the reason for the rejection: the applicant receives it."),
            field="reason",
        )
    if len(reason) > 2000:
        raise DecisionError("too_long", TOO_LONG, field="reason")
    async with write_transaction():
        app = (
            await Application.select(
                Application.id,
                Application.call,
                Application.status,
                Application.requested_cents,
                Application.budget,
                Application.reference,
            )
            .where(Application.id == app_id)
            .output(load_json=True)
            .first()
        )
        if app is None:
            raise DecisionError("not_found", NOT_FOUND)
        call = await lock_call(app["call"])
        current = await decision_of(app_id)
        if current is not None and current.locked:
            raise DecisionError(
                "published",
                N_("This decision is published: it can no longer change."),
                field="outcome",
            )
        if not decidable(app["status"]):
            raise _not_decidable(app["reference"], field="outcome")
        if not outcome:
            if current is not None:
                await Decision.delete().where(Decision.id == current.id)
                await _audit("decisions.cleared", actor, "application", app_id)
            return None
        if outcome == Outcome.award:
            amount = app["requested_cents"] if amount is None else amount
            check_amount(amount, app, call)
            elsewhere = await _awarded_elsewhere(call["id"], app_id)
            if elsewhere + amount > call["envelope_cents"]:
                raise _over_envelope(call["envelope_cents"] - elsewhere)
        else:
            amount = 0
        settings = await settings_for(call["id"])
        columns = {
            "outcome": outcome,
            "amount_cents": amount,
            "reason": reason if outcome != Outcome.award else "",
            # The sheet's deliberation, kept once copied onto the decision.
            "deliberation_reference": (current and current.deliberation_reference)
            or settings.deliberation_reference,
            "deliberation_date": (current and current.deliberation_date)
            or settings.deliberation_date,
            "decided_by": actor.user_id,
            "updated_at": now(),
            # A waiting list decided again is published again.
            "published_at": None,
        }
        if current is None:
            await Decision.insert(Decision(application=app_id, call=call["id"], **columns))
        else:
            await Decision.update({getattr(Decision, k): v for k, v in columns.items()}).where(
                Decision.id == current.id
            )
        await _audit(
            "decisions.decided",
            actor,
            "application",
            app_id,
            outcome=outcome,
            amount_cents=amount,
            reason=reason[:200] or None,
        )
    return await decision_of(app_id)


async def set_schedule(app_id: int, schedule: dict, *, actor: Actor) -> None:
    """Adjust the instalment schedule of one unpublished award (checked against its
    amount: percentages add up to 100, amounts to the award)."""
    async with write_transaction():
        current = await for_update(Decision.select().where(Decision.application == app_id))
        if not current or current[0]["outcome"] != Outcome.award:
            raise DecisionError("not_an_award", N_("Only an award has a payment schedule."))
        decision = current[0]
        if decision["published_at"] is not None:
            raise DecisionError(
                "published", N_("This decision is published: it can no longer change.")
            )
        schedules.amounts(decision["amount_cents"], schedule)
        await Decision.update({Decision.schedule: json.dumps(schedule)}).where(
            Decision.id == decision["id"]
        )
        await _audit(
            "decisions.schedule_set",
            actor,
            "application",
            app_id,
            schedule=schedules.preset_of(schedule),
        )


# --- Publication ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pending:
    awards: int
    rejections: int
    waitlisted: int
    awarded_cents: int

    @property
    def count(self) -> int:
        return self.awards + self.rejections + self.waitlisted

    @property
    def token(self) -> str:
        """What the confirmation showed: a publication checks nothing changed since."""
        return f"{self.awards}-{self.rejections}-{self.waitlisted}-{self.awarded_cents}"


async def pending(call_id: int) -> Pending:
    rows = await Decision.select(Decision.outcome, Decision.amount_cents).where(
        (Decision.call == call_id) & Decision.published_at.is_null()
    )
    return Pending(
        awards=sum(r["outcome"] == Outcome.award for r in rows),
        rejections=sum(r["outcome"] == Outcome.reject for r in rows),
        waitlisted=sum(r["outcome"] == Outcome.waitlist for r in rows),
        awarded_cents=sum(r["amount_cents"] for r in rows if r["outcome"] == Outcome.award),
    )


async def publish(call_id: int, token: str, *, actor: Actor) -> int | None:
    """Publish every unpublished decision of the call, all or none: the applications
    change state (``APPLICATION``'s award, reject, waitlist), each award gets its grant
    and instalments, and a letter batch is queued. Refused when the sheet changed since
    the confirmation (``token``), when the awards exceed the envelope, or when a
    decision no longer applies (a file withdrawn, a schedule that does not add up).
    Returns the letter batch's id (None: no letter)."""
    at = now()
    async with write_transaction():
        call = await lock_call(call_id)
        current = await pending(call_id)
        if current.count == 0:
            raise DecisionError(
                "nothing_to_publish", N_("There is no unpublished decision on this sheet.")
            )
        if current.token != token:
            raise DecisionError(
                "changed", N_("The sheet changed since the confirmation: check the new figures.")
            )
        total = (await totals(call_id)).awarded_cents
        if total > call["envelope_cents"]:
            raise _over_envelope(call["envelope_cents"], field=None)
        settings = await settings_for(call_id)
        rows = [
            decision_from(r)
            for r in await for_update(
                select_decisions().where(
                    (Decision.call == call_id) & Decision.published_at.is_null()
                )
            )
        ]
        apps = {
            a["id"]: a
            for a in await Application.select(
                Application.id,
                Application.status,
                Application.reference,
                Application.organisation,
            ).where(Application.id.is_in([r.application_id for r in rows]))
        }
        job_id = None
        letters = sum(r.letter_kind is not None for r in rows)
        if letters:
            job_id = (
                await LetterJob.insert(
                    LetterJob(call=call_id, total=letters, created_by=actor.user_id)
                ).returning(LetterJob.id)
            )[0]["id"]
        for row in rows:
            app = apps[row.application_id]
            reference = row.deliberation_reference or settings.deliberation_reference
            when = row.deliberation_date or settings.deliberation_date
            if not reference or not when:
                raise DecisionError(
                    "deliberation_missing",
                    N_(
                        "Enter the deliberation's reference and date (in the settings or on "
                        "each decision) before publishing: file %(detail)s has none."
                    ),
                    detail=app["reference"] or "",
                )
            try:
                # award | reject | waitlist: the application's actions of the same name.
                status = APPLICATION.fire(row.outcome, app["status"], "officer")
            except DomainError:
                raise _not_decidable(app["reference"]) from None
            await Application.update(
                {
                    Application.status: status,
                    Application.version: Application.version + 1,
                    Application.updated_at: at,
                }
            ).where(Application.id == app["id"])
            if row.is_award:
                try:
                    await grants.create_grant(
                        application_id=app["id"],
                        call_id=call_id,
                        organisation_id=app["organisation"],
                        amount_cents=row.amount_cents,
                        schedule=dict(schedule_of(row, settings)),
                        agreement_asked=settings.agreement_required,
                        actor=actor,
                    )
                except ScheduleError:
                    raise DecisionError(
                        "schedule",
                        N_("The payment schedule of file %(detail)s does not add up: correct it."),
                        detail=app["reference"] or "",
                    ) from None
            await Decision.update(
                {
                    Decision.published_at: at,
                    Decision.deliberation_reference: reference,
                    Decision.deliberation_date: when,
                    Decision.letter_job: job_id if row.letter_kind else None,
                }
            ).where(Decision.id == row.id)
            await _audit(
                f"decisions.published_{row.outcome}",
                actor,
                "application",
                app["id"],
                amount_cents=row.amount_cents or None,
            )
        await _audit(
            "decisions.published",
            actor,
            "call",
            call_id,
            awards=current.awards,
            rejections=current.rejections,
            waitlisted=current.waitlisted,
            awarded_cents=current.awarded_cents,
        )
    return job_id
