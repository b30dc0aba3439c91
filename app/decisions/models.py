"""The committee's decisions as the pages and the letters read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.applications import states as application_states
from app.core.i18n import gettext_noop as N_
from app.decisions.tables import Decision, Outcome

LETTER_KIND = {"award": "award", "reject": "rejection"}
OUTCOME_LABELS = {
    "award": N_("award"),
    "reject": N_("reject"),
    "waitlist": N_("waiting list"),
}
# A decision taken, shown as the state it gives the file (« subvention accordée »).
DECIDED_LABELS = {
    outcome: application_states.LABELS[application_states.APPLICATION.target(outcome)]
    for outcome in OUTCOME_LABELS
}


@dataclass(frozen=True, slots=True)
class CommitteeDecision:
    """The committee's decision on one file: private until published."""

    id: int
    application_id: int
    call_id: int
    outcome: str  # award | reject | waitlist
    amount_cents: int
    reason: str
    deliberation_reference: str
    deliberation_date: date | None
    schedule: Mapping[str, Any]  # {}: the call's default schedule
    updated_at: datetime | None
    published_at: datetime | None
    letter_job_id: int | None

    @property
    def is_award(self) -> bool:
        return self.outcome == Outcome.award

    @property
    def is_rejection(self) -> bool:
        return self.outcome == Outcome.reject

    @property
    def letter_kind(self) -> str | None:
        """The letter this decision writes once published (None: a waiting list)."""
        return LETTER_KIND.get(self.outcome)

    @property
    def locked(self) -> bool:
        """A published award or rejection is final; a published waiting list may change."""
        return self.published_at is not None and self.outcome != Outcome.waitlist

    @property
    def can_rewrite_letter(self) -> bool:
        """Its letter may be written again (a new version): published, with a letter."""
        return self.published_at is not None and self.letter_kind is not None


def decision_from(row: Mapping[str, Any]) -> CommitteeDecision:
    return CommitteeDecision(
        id=row["id"],
        application_id=row["application"],
        call_id=row["call"],
        outcome=row["outcome"],
        amount_cents=row["amount_cents"],
        reason=row["reason"],
        deliberation_reference=row["deliberation_reference"],
        deliberation_date=row["deliberation_date"],
        schedule=row["schedule"] or {},
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        letter_job_id=row["letter_job"],
    )


def select_decisions():
    """The columns a ``CommitteeDecision`` is built from (JSON decoded)."""
    return Decision.select(
        Decision.id,
        Decision.application,
        Decision.call,
        Decision.outcome,
        Decision.amount_cents,
        Decision.reason,
        Decision.deliberation_reference,
        Decision.deliberation_date,
        Decision.schedule,
        Decision.updated_at,
        Decision.published_at,
        Decision.letter_job,
    ).output(load_json=True)


async def decisions_of(call_id: int) -> dict[int, CommitteeDecision]:
    """The call's decisions, by file."""
    rows = await select_decisions().where(Decision.call == call_id)
    return {r["application"]: decision_from(r) for r in rows}


async def decisions_on(app_ids: list[int]) -> dict[int, CommitteeDecision]:
    """The decisions on these files, by file."""
    rows = await select_decisions().where(Decision.application.is_in(list(app_ids) or [0]))
    return {r["application"]: decision_from(r) for r in rows}


async def decision_of(app_id: int) -> CommitteeDecision | None:
    row = await select_decisions().where(Decision.application == app_id).first()
    return decision_from(row) if row else None
