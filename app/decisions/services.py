"""Committee decisions: the decision sheet within the envelope, private until an
officer publishes it (all decisions of the sheet or none), the grants it creates, and
the letters written afterwards. No HTTP here; every change is audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from app.accounts.services import Actor
from app.applications import budget as budgets
from app.applications import states
from app.applications.tables import Application
from app.calls.tables import Call
from app.core import audit, forms
from app.core.db import for_update, write_transaction
from app.decisions.letters import (
    DEFAULT_AWARD,
    DEFAULT_REJECTION,
    TemplateProblem,
    check_template,
)
from app.decisions.tables import Decision, DecisionSettings, LetterJob, Outcome
from app.grants import schedule as schedules
from app.grants import services as grants
from app.grants.schedule import ScheduleError

# Files the committee may decide on: screened eligible and not yet finally decided.
DECIDABLE = frozenset({"eligible", "in_review", "reviewed", "waitlisted"})
LETTER_KIND = {"award": "award", "reject": "rejection"}


class DecisionError(ValueError):
    """A refused decision: ``code`` names the rule, ``field`` the form field."""

    def __init__(self, code: str, field: str = "", detail: Any = None):
        super().__init__(code)
        self.code = code
        self.field = field
        self.detail = detail


def now() -> datetime:
    return datetime.now(UTC)


def _json(value: Any, default: Any) -> Any:
    value = json.loads(value) if isinstance(value, str) else value
    return value or default


async def _audit(action: str, actor: Actor, object_type: str, object_id: int, **summary) -> None:
    await audit.record_by(actor, action, object_type, object_id, **summary)


def parse_date(text: str) -> date:
    """A date as typed (see ``core.forms.parse_date``), or ``DecisionError``."""
    try:
        return forms.parse_date(text)
    except ValueError:
        raise DecisionError("date", "deliberation_date") from None


# --- Settings ---------------------------------------------------------------------------------

DEFAULTS: dict[str, Any] = {
    "deliberation_reference": "",
    "deliberation_date": None,
    "place": "",
    "signatory_name": "",
    "signatory_title": "",
    "default_schedule": schedules.PRESETS["single"],
    "share_reviews": False,
    "agreement_required": False,
    "conditions": "",
    "award_template": "",
    "rejection_template": "",
}


async def settings_for(call_id: int) -> dict:
    """The call's decision settings; the letter templates filled with the default
    wording when the call has none of its own."""
    row = await DecisionSettings.select().where(DecisionSettings.call == call_id).first()
    settings = {**DEFAULTS, **(row or {}), "call": call_id}
    settings["default_schedule"] = _json(settings["default_schedule"], DEFAULTS["default_schedule"])
    settings["award_template"] = settings["award_template"] or DEFAULT_AWARD
    settings["rejection_template"] = settings["rejection_template"] or DEFAULT_REJECTION
    return settings


async def _upsert_settings(call_id: int, columns: dict) -> None:
    exists = await DecisionSettings.exists().where(DecisionSettings.call == call_id)
    if exists:
        await DecisionSettings.update(columns).where(DecisionSettings.call == call_id)
    else:
        await DecisionSettings.insert(DecisionSettings(call=call_id, **columns))


async def save_settings(call_id: int, values: dict[str, str], *, actor: Actor) -> None:
    """The committee's deliberation, the signatory, the default schedule and the
    letters' options. Raises ``DecisionError`` (nothing saved) or ``ScheduleError``."""
    reference = values.get("deliberation_reference", "").strip()
    if len(reference) > 120:
        raise DecisionError("too_long", "deliberation_reference")
    when = values.get("deliberation_date", "").strip()
    deliberation_date = parse_date(when) if when else None
    default_schedule = schedules.parse_form(values)
    columns = {
        "deliberation_reference": reference,
        "deliberation_date": deliberation_date,
        "place": values.get("place", "").strip()[:100],
        "signatory_name": values.get("signatory_name", "").strip()[:200],
        "signatory_title": values.get("signatory_title", "").strip()[:200],
        "default_schedule": json.dumps(default_schedule),
        "share_reviews": values.get("share_reviews") == "yes",
        "agreement_required": values.get("agreement_required") == "yes",
        "conditions": values.get("conditions", "").strip()[:5000],
    }
    async with write_transaction():
        await _upsert_settings(call_id, columns)
        await _audit(
            "decisions.settings_saved",
            actor,
            "call",
            call_id,
            deliberation=reference or None,
            schedule=schedules.preset_of(default_schedule),
        )


def check_letter_template(field: str, text: str) -> None:
    """A letter's wording: not empty, not huge, only known placeholders."""
    if not text.strip():
        raise DecisionError("template_empty", field)
    if len(text) > 20_000:
        raise DecisionError("too_long", field)
    try:
        check_template(text)
    except TemplateProblem as problem:
        raise DecisionError(f"template_{problem.code}", field, problem.names) from None


async def save_templates(call_id: int, award: str, rejection: str, *, actor: Actor) -> None:
    """The letters' wording. A template with an unknown placeholder or a stray brace is
    refused and neither is saved (``DecisionError`` with the field and the names)."""
    for name, text in (("award_template", award), ("rejection_template", rejection)):
        check_letter_template(name, text)
    async with write_transaction():
        await _upsert_settings(
            call_id,
            {
                # The default wording is stored as "": later improvements reach it.
                "award_template": "" if award.strip() == DEFAULT_AWARD else award.strip(),
                "rejection_template": ""
                if rejection.strip() == DEFAULT_REJECTION
                else rejection.strip(),
            },
        )
        await _audit("decisions.templates_saved", actor, "call", call_id)


# --- The sheet --------------------------------------------------------------------------------


async def decisions_of(call_id: int) -> dict[int, dict]:
    rows = await Decision.select().where(Decision.call == call_id)
    for row in rows:
        row["schedule"] = _json(row["schedule"], {})
    return {r["application"]: r for r in rows}


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


def is_locked(decision: dict | None) -> bool:
    """A published award or rejection is final; a published waiting list may change."""
    return bool(
        decision and decision["published_at"] is not None and decision["outcome"] != "waitlist"
    )


def check_amount(amount: int, app: dict, call: dict) -> None:
    """The award's amount: positive, at most the request and the call's maximum, at
    least its minimum, and within the co-financing cap of the project's budget."""
    if amount <= 0:
        raise DecisionError("amount_positive", "amount")
    if amount > app["requested_cents"]:
        raise DecisionError("amount_above_request", "amount", app["requested_cents"])
    if call["max_award_cents"] and amount > call["max_award_cents"]:
        raise DecisionError("amount_above_max", "amount", call["max_award_cents"])
    if call["min_award_cents"] and amount < call["min_award_cents"]:
        raise DecisionError("amount_below_min", "amount", call["min_award_cents"])
    budget = budgets.from_json(_json(app["budget"], {}), app["requested_cents"])
    eligible = budget.eligible_cost
    if eligible > 0 and amount * 10_000 > call["max_rate_bp"] * eligible:
        raise DecisionError("amount_above_rate", "amount", call["max_rate_bp"])


async def _lock_call(call_id: int) -> dict:
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
        raise DecisionError("not_found")
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
) -> dict | None:
    """Record (or change, or clear with ``outcome=""``) the committee's decision on one
    file, unpublished. An award needs a valid amount (the request by default) and keeps
    the total of the call's awards within the envelope; a rejection needs a reason.
    Returns the decision (None when cleared)."""
    reason = reason.strip()
    if outcome not in ("", *Outcome):
        raise DecisionError("outcome", "outcome")
    if outcome == Outcome.reject and not reason:
        raise DecisionError("reason_required", "reason")
    if len(reason) > 2000:
        raise DecisionError("too_long", "reason")
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
            .first()
        )
        if app is None:
            raise DecisionError("not_found")
        call = await _lock_call(app["call"])
        current = await Decision.select().where(Decision.application == app_id).first()
        if is_locked(current):
            raise DecisionError("published", "outcome")
        if app["status"] not in DECIDABLE:
            raise DecisionError("not_decidable", "outcome")
        if not outcome:
            if current is not None:
                await Decision.delete().where(Decision.id == current["id"])
                await _audit("decisions.cleared", actor, "application", app_id)
            return None
        if outcome == Outcome.award:
            amount = app["requested_cents"] if amount is None else amount
            check_amount(amount, app, call)
            elsewhere = await _awarded_elsewhere(call["id"], app_id)
            if elsewhere + amount > call["envelope_cents"]:
                raise DecisionError("over_envelope", "amount", call["envelope_cents"] - elsewhere)
        else:
            amount = 0
        settings = await settings_for(call["id"])
        columns = {
            "outcome": outcome,
            "amount_cents": amount,
            "reason": reason if outcome != Outcome.award else "",
            # The sheet's deliberation, kept once copied onto the decision.
            "deliberation_reference": (current or {}).get("deliberation_reference")
            or settings["deliberation_reference"],
            "deliberation_date": (current or {}).get("deliberation_date")
            or settings["deliberation_date"],
            "decided_by": actor.user_id,
            "updated_at": now(),
            # A waiting list decided again is published again.
            "published_at": None,
        }
        if current is None:
            await Decision.insert(Decision(application=app_id, call=call["id"], **columns))
        else:
            await Decision.update({getattr(Decision, k): v for k, v in columns.items()}).where(
                Decision.id == current["id"]
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
    return await Decision.select().where(Decision.application == app_id).first()


async def set_schedule(app_id: int, schedule: dict, *, actor: Actor) -> None:
    """Adjust the instalment schedule of one unpublished award (checked against its
    amount: percentages add up to 100, amounts to the award)."""
    async with write_transaction():
        current = await for_update(Decision.select().where(Decision.application == app_id))
        if not current or current[0]["outcome"] != Outcome.award:
            raise DecisionError("not_an_award")
        decision = current[0]
        if decision["published_at"] is not None:
            raise DecisionError("published")
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


def schedule_of(decision: dict, settings: dict) -> dict:
    return _json(decision.get("schedule"), {}) or settings["default_schedule"]


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
    change state, each award gets its grant and instalments, and a letter batch is
    queued. Refused when the sheet changed since the confirmation (``token``), when the
    awards exceed the envelope, or when a decision no longer applies (a file withdrawn,
    a schedule that does not add up). Returns the letter batch's id (None: no letter)."""
    at = now()
    async with write_transaction():
        call = await _lock_call(call_id)
        current = await pending(call_id)
        if current.count == 0:
            raise DecisionError("nothing_to_publish")
        if current.token != token:
            raise DecisionError("changed")
        total = (await totals(call_id)).awarded_cents
        if total > call["envelope_cents"]:
            raise DecisionError("over_envelope", "", call["envelope_cents"])
        settings = await settings_for(call_id)
        rows = await for_update(
            Decision.select().where((Decision.call == call_id) & Decision.published_at.is_null())
        )
        apps = {
            a["id"]: a
            for a in await Application.select(
                Application.id,
                Application.status,
                Application.reference,
                Application.organisation,
            ).where(Application.id.is_in([r["application"] for r in rows]))
        }
        job_id = None
        if any(r["outcome"] in LETTER_KIND for r in rows):
            job_id = (
                await LetterJob.insert(
                    LetterJob(
                        call=call_id,
                        total=sum(r["outcome"] in LETTER_KIND for r in rows),
                        created_by=actor.user_id,
                    )
                ).returning(LetterJob.id)
            )[0]["id"]
        for row in rows:
            app = apps[row["application"]]
            action = row["outcome"]  # award | reject | waitlist: the states' actions
            reference = row["deliberation_reference"] or settings["deliberation_reference"]
            when = row["deliberation_date"] or settings["deliberation_date"]
            if not reference or not when:
                raise DecisionError("deliberation_missing", "", app["reference"])
            if not states.APPLICATION.can(action, app["status"], "officer"):
                raise DecisionError("not_decidable", "", app["reference"])
            await Application.update(
                {
                    Application.status: states.APPLICATION.target(action),
                    Application.version: Application.version + 1,
                    Application.updated_at: at,
                }
            ).where(Application.id == app["id"])
            if row["outcome"] == Outcome.award:
                try:
                    await grants.create_grant(
                        application_id=app["id"],
                        call_id=call_id,
                        organisation_id=app["organisation"],
                        amount_cents=row["amount_cents"],
                        schedule=schedule_of(row, settings),
                        agreement_asked=settings["agreement_required"],
                        actor=actor,
                    )
                except ScheduleError:
                    raise DecisionError("schedule", "", app["reference"]) from None
            await Decision.update(
                {
                    Decision.published_at: at,
                    Decision.deliberation_reference: reference,
                    Decision.deliberation_date: when,
                    Decision.letter_job: job_id if row["outcome"] in LETTER_KIND else None,
                }
            ).where(Decision.id == row["id"])
            await _audit(
                f"decisions.published_{row['outcome']}",
                actor,
                "application",
                app["id"],
                amount_cents=row["amount_cents"] or None,
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


async def decision_of(app_id: int) -> dict | None:
    row = await Decision.select().where(Decision.application == app_id).first()
    if row:
        row["schedule"] = _json(row["schedule"], {})
    return row
