"""The committee's sheet as the officers work it: one row per file, filtered, and
decisions taken for many files at once (« accorder le montant demandé », « refuser »
with one reason), all of them or none, within the envelope.

The sheet's rows are read here and only here (``sheet_rows``): a narrower scope of
the files a person may see (per funder) goes into this one function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from app.applications.tables import Application
from app.core import audit
from app.core.audit import Actor
from app.core.bulk import insert_many, update_where_in
from app.core.db import write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.money import format_amount
from app.core.time import now
from app.decisions.errors import NOT_FOUND, TOO_LONG, DecisionError
from app.decisions.models import DECIDED_LABELS, CommitteeDecision, decisions_of, decisions_on
from app.decisions.services import check_amount, decidable, lock_call, settings_for
from app.decisions.tables import Decision, Outcome
from app.reviews.services import RankedFile, ranked_files

# Files one bulk action decides at most: its audit entry lists them all (ids), and an
# audit summary is bounded (core.audit.MAX_SUMMARY_CHARS).
MAX_BULK = 400
# The sheet's « decision » filter: not decided yet, or one outcome.
DECISION_FILTERS = {"none": N_("not decided"), **DECIDED_LABELS}
BULK_OUTCOMES = (Outcome.award, Outcome.reject)


@dataclass(frozen=True, slots=True)
class SheetRow:
    """A file of the committee's sheet, best ranked first, with its decision."""

    file: RankedFile
    decision: CommitteeDecision | None

    @property
    def id(self) -> int:
        return self.file.id

    @property
    def locked(self) -> bool:
        return bool(self.decision and self.decision.locked)

    @property
    def mark(self) -> Decimal | None:
        return self.file.aggregate.ranking if self.file.aggregate else None

    @property
    def selectable(self) -> bool:
        """A bulk action may take this file: waiting for a decision, none published."""
        return not self.locked and decidable(self.file.status)


@dataclass(slots=True)
class SheetFilters:
    """What the officer narrows the sheet to; empty: every file."""

    decision: str = ""  # "" | none | award | reject | waitlist
    status: str = ""
    mark_min: Decimal | None = None
    mark_max: Decimal | None = None
    q: str = ""

    def keeps(self, row: SheetRow) -> bool:
        outcome = row.decision.outcome if row.decision else "none"
        if self.decision and outcome != self.decision:
            return False
        if self.mark_min is not None and (row.mark is None or row.mark < self.mark_min):
            return False
        if self.mark_max is not None and (row.mark is None or row.mark > self.mark_max):
            return False
        if self.q:
            needle = self.q.casefold()
            haystack = " ".join(
                (row.file.reference or "", row.file.organisation_name, row.file.title)
            ).casefold()
            if needle not in haystack:
                return False
        return True


async def sheet_rows(call_id: int, filters: SheetFilters | None = None) -> list[SheetRow]:
    """The files the committee decides on, in the ranking's order, with their
    decisions, as narrowed by ``filters``: two queries, whatever the number of files."""
    filters = filters or SheetFilters()
    decided = await decisions_of(call_id)
    rows = [
        SheetRow(file=f, decision=decided.get(f.id))
        for f in await ranked_files(call_id, status=filters.status)
    ]
    return [row for row in rows if filters.keeps(row)]


# --- Many files at once --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkResult:
    outcome: str
    count: int
    amount_cents: int  # the awards' total (0 for rejections)
    references: tuple[str, ...] = field(default=())


def _listed(references: Sequence[str | None], ids: Sequence[int]) -> str:
    names = [r or f"#{i}" for r, i in zip(references, ids, strict=True)]
    shown = ", ".join(names[:10])
    return shown + (f" (+{len(names) - 10})" if len(names) > 10 else "")


async def decide_many(
    call_id: int,
    app_ids: Sequence[int],
    outcome: str,
    *,
    reason: str = "",
    actor: Actor,
) -> BulkResult:
    """The same decision for many files of one call, unpublished: an award of the
    amount each file requested, or a rejection with one reason. Every file is checked
    first — it belongs to the call, waits for a decision, has no published decision, and
    its request passes the award rules — and the awards together stay within the
    envelope; then all are written in one transaction, or none. One audit entry lists
    the files."""
    reason = reason.strip()
    if outcome not in BULK_OUTCOMES:
        raise DecisionError("outcome", N_("Choose award or reject."), field="action")
    ids = sorted(set(app_ids))
    if not ids:
        raise DecisionError("nothing_selected", N_("Select at least one file."), field="ids")
    if len(ids) > MAX_BULK:
        raise DecisionError(
            "too_many",
            N_("Select at most %(detail)s files at once."),
            field="ids",
            detail=str(MAX_BULK),
        )
    if outcome == Outcome.reject and not reason:
        raise DecisionError(
            "reason_required",
            N_("Give the reason for the rejection: the applicants receive it."),
            field="reason",
        )
    if len(reason) > 2000:
        raise DecisionError("too_long", TOO_LONG, field="reason")
    async with write_transaction():
        call = await lock_call(call_id)
        apps = await (
            Application.select(
                Application.id,
                Application.status,
                Application.requested_cents,
                Application.budget,
                Application.reference,
            )
            .where(Application.id.is_in(ids) & (Application.call == call_id))
            .order_by(Application.id)
            .output(load_json=True)
        )
        if len(apps) != len(ids):
            raise DecisionError("not_found", NOT_FOUND, field="ids")
        current = await decisions_on(ids)
        locked = [a for a in apps if (d := current.get(a["id"])) is not None and d.locked]
        if locked:
            raise DecisionError(
                "published_many",
                N_("These decisions are published and can no longer change: %(detail)s."),
                field="ids",
                detail=_listed([a["reference"] for a in locked], [a["id"] for a in locked]),
            )
        waiting = [a for a in apps if not decidable(a["status"])]
        if waiting:
            raise DecisionError(
                "not_decidable_many",
                N_("These files are not waiting for a decision: %(detail)s."),
                field="ids",
                detail=_listed([a["reference"] for a in waiting], [a["id"] for a in waiting]),
            )
        amounts = {a["id"]: 0 for a in apps}
        if outcome == Outcome.award:
            refused = []
            for app in apps:
                try:
                    check_amount(app["requested_cents"], app, call)
                except DecisionError:
                    refused.append(app)
                amounts[app["id"]] = app["requested_cents"]
            if refused:
                raise DecisionError(
                    "amount_many",
                    N_(
                        "The amount requested cannot be awarded as it is for these files "
                        "(above the call's maximum or co-financing cap, or below its minimum): "
                        "%(detail)s. Decide on them one by one."
                    ),
                    field="ids",
                    detail=_listed([a["reference"] for a in refused], [a["id"] for a in refused]),
                )
            elsewhere = await _awarded_outside(call_id, ids)
            wanted = sum(amounts.values())
            if elsewhere + wanted > call["envelope_cents"]:
                raise DecisionError(
                    "over_envelope_many",
                    N_(
                        "These awards (%(detail)s) would go above the envelope: at most "
                        "%(limit)s is left for the files selected. Nothing was recorded."
                    ),
                    field="ids",
                    detail=format_amount(wanted),
                    limit=format_amount(max(call["envelope_cents"] - elsewhere, 0)),
                )
        await _write(call_id, apps, current, outcome, amounts, reason, actor)
        total = sum(amounts.values())
        await audit.record_by(
            actor,
            "decisions.decided_many",
            "call",
            call_id,
            outcome=outcome,
            count=len(apps),
            amount_cents=total,
            reason=reason[:200] or None,
            applications=[a["id"] for a in apps],
        )
    return BulkResult(
        outcome=outcome,
        count=len(apps),
        amount_cents=total,
        references=tuple(a["reference"] or "" for a in apps),
    )


async def _awarded_outside(call_id: int, app_ids: Sequence[int]) -> int:
    rows = await Decision.select(Decision.application, Decision.amount_cents).where(
        (Decision.call == call_id) & (Decision.outcome == Outcome.award)
    )
    chosen = set(app_ids)
    return sum(r["amount_cents"] for r in rows if r["application"] not in chosen)


async def _write(call_id, apps, current, outcome, amounts, reason, actor) -> None:
    """New decisions inserted together; existing ones updated by groups that get the
    same values (one statement per distinct amount and deliberation)."""
    settings = await settings_for(call_id)
    at = now()
    common = {
        "outcome": outcome,
        "reason": reason if outcome != Outcome.award else "",
        "decided_by": actor.user_id,
        "updated_at": at,
        # A waiting list decided again is published again.
        "published_at": None,
    }
    fresh = [a for a in apps if a["id"] not in current]
    await insert_many(
        Decision,
        [
            Decision(
                application=a["id"],
                call=call_id,
                amount_cents=amounts[a["id"]],
                deliberation_reference=settings.deliberation_reference,
                deliberation_date=settings.deliberation_date,
                **common,
            )
            for a in fresh
        ],
    )
    groups: dict[tuple, list[int]] = {}
    for app in apps:
        decision = current.get(app["id"])
        if decision is None:
            continue
        key = (
            amounts[app["id"]],
            decision.deliberation_reference or settings.deliberation_reference,
            decision.deliberation_date or settings.deliberation_date,
        )
        groups.setdefault(key, []).append(decision.id)
    for (amount, reference, when), decision_ids in groups.items():
        values = {getattr(Decision, k): v for k, v in common.items()}
        values |= {
            Decision.amount_cents: amount,
            Decision.deliberation_reference: reference,
            Decision.deliberation_date: when,
        }
        await update_where_in(Decision, values, decision_ids)
