"""What a grant's follow-up pages show, for staff and for the organisation: balance,
instalments, ledger, reports, recoveries and the timeline; for staff, the reduction a
final report calls for and the payment form's starting values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import amount_input, format_amount
from app.core.time import long_date
from app.grants import ledger, notices, reports
from app.grants import services as grants
from app.grants.models import GrantRecord, InstalmentRecord, ReportRecord
from app.grants.schedule import TRIGGERS
from app.grants.states import INSTALMENT, RECOVERY, REPORT
from app.grants.tables import AmendmentKind

KIND_LABELS = {"interim": N_("interim report"), "final": N_("final report")}
REPORT_STATES = REPORT.labels


@dataclass(frozen=True, slots=True)
class Event:
    """A line of the grant's timeline."""

    when: datetime
    text: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Reduction:
    """What the approved final report makes due: the award times actual eligible
    spending over planned (``grants.reduced_total``)."""

    amount_cents: int
    planned_cents: int
    actual_cents: int
    due_cents: int
    applied: bool

    @property
    def pending(self) -> bool:
        """Spending below the forecast and the reduction not yet applied."""
        return self.due_cents < self.amount_cents and not self.applied


def _timeline(grant, parts, entries, report_rows, amendments, recoveries, internal) -> list:
    events = [Event(grant.created_at, _("Grant awarded (decision published)"))]
    if grant.accepted_at:
        events.append(
            Event(
                grant.accepted_at,
                _("Accepted by %(name)s (%(capacity)s)")
                % {"name": grant.signatory_name, "capacity": grant.signatory_capacity},
            )
        )
    for r in report_rows:
        label = _(KIND_LABELS[r.kind])
        label = label[:1].upper() + label[1:]
        if r.submitted_at:
            events.append(Event(r.submitted_at, _("%(report)s submitted") % {"report": label}))
        if r.reviewed_at:
            text = (
                _("%(report)s approved")
                if r.status == REPORT.target("approve")
                else _("%(report)s sent back")
            )
            events.append(Event(r.reviewed_at, text % {"report": label}, r.message))
    for a in amendments:
        events.append(Event(a.created_at, a.reason))
    for p in parts:
        if p.cancelled_at:
            events.append(
                Event(p.cancelled_at, _("Instalment %(n)d cancelled") % {"n": p.position}, p.note)
            )
        if p.approved_at:
            events.append(
                Event(
                    p.approved_at,
                    _("Instalment %(n)d approved for payment") % {"n": p.position},
                )
            )
    kinds = {
        "payment": _("Payment"),
        "reversal": _("Payment cancelled"),
        "recovery": _("Recovery received"),
    }
    for e in entries:
        events.append(
            Event(
                e.created_at,
                f"{kinds[e.kind]} — {format_amount(e.amount_cents)}",
                e.reference if internal else "",
            )
        )
    for r in recoveries:
        events.append(
            Event(
                r.created_at,
                _("Recovery requested — %(amount)s") % {"amount": format_amount(r.amount_cents)},
                r.reason,
            )
        )
    events.sort(key=lambda e: e.when)
    return events


async def context(grant: GrantRecord, *, internal: bool) -> dict[str, Any]:
    """What a grant's page shows: balance, instalments, ledger, reports (with their
    financial statements), recoveries and the timeline (internal notes only for staff)."""
    parts = await grants.instalments(grant.id)
    entries = await ledger.entries(grant.id)
    report_rows = await reports.reports_of(grant.id)
    recoveries = await grants.recoveries(grant.id)
    amendments = await grants.amendments(grant.id)
    return {
        "grant": grant,
        "balance": await ledger.balance(grant.id),
        "instalments": parts,
        "entries": entries,
        "reports": report_rows,
        "reports_by_kind": {r.kind: r for r in report_rows},
        "statements": {
            r.kind: reports.statement(grant.budget, grant.requested_cents, r.actuals)
            for r in report_rows
        },
        "report_files": await reports.attachments([r.id for r in report_rows]),
        "recoveries": recoveries,
        "notices": await notices.notices_of(grant.id),
        "timeline": _timeline(grant, parts, entries, report_rows, amendments, recoveries, internal),
        "next_instalment": next_instalment(grant, parts, {r.kind: r for r in report_rows}),
        "amendments": amendments,
        "kind_labels": KIND_LABELS,
        "report_states": REPORT_STATES,
        "instalment_labels": INSTALMENT.labels,
        "recovery_labels": RECOVERY.labels,
        "trigger_labels": TRIGGERS,
        "internal": internal,
    }


@dataclass(frozen=True, slots=True)
class NextInstalment:
    """The next instalment the organisation may expect, and what it waits for (in
    words, in the order they come)."""

    position: int
    amount_cents: int
    due_on: object  # date | None
    waiting_for: tuple[str, ...]


def next_instalment(
    grant: GrantRecord, parts: list[InstalmentRecord], reports_by_kind: dict[str, ReportRecord]
) -> NextInstalment | None:
    """The first instalment neither paid nor cancelled, with what unlocks it: the
    acceptance, the signed agreement (no payment before it), the report whose approval
    makes it due (to submit, or being examined), its date, then the officer's approval
    for payment and the payment itself."""
    part = next((p for p in parts if p.status not in ("paid", "cancelled")), None)
    if part is None:
        return None
    waiting: list[str] = []
    if part.status == "scheduled":
        if part.trigger == "acceptance" and not grant.accepted:
            waiting.append(_("your online acceptance of the grant"))
        elif part.trigger in ("interim_report", "final_report"):
            kind = part.trigger.removesuffix("_report")
            report = reports_by_kind.get(kind)
            label = _(KIND_LABELS[kind])
            if report is not None and report.status == "submitted":
                waiting.append(
                    _("the examination of your %(report)s, submitted") % {"report": label}
                )
            else:
                due = grant.report_due(kind)
                text = _("your %(report)s, to submit") % {"report": label}
                if due:
                    text = _("your %(report)s, to submit by %(date)s") % {
                        "report": label,
                        "date": long_date(due),
                    }
                waiting.append(text)
        elif part.trigger == "date" and part.due_on:
            waiting.append(_("the date of %(date)s") % {"date": long_date(part.due_on)})
    if grant.agreement_required and not grant.agreement_file:
        waiting.append(_("the agreement (convention), signed by both parties"))
    if part.status in ("scheduled", "due"):
        waiting.append(_("the funder's approval for payment"))
    waiting.append(_("the payment order, then the transfer to your account"))
    return NextInstalment(part.position, part.left_cents, part.due_on, tuple(waiting))


def reduction_of(
    grant: GrantRecord, final: ReportRecord | None, *, applied: bool
) -> Reduction | None:
    """The reduction the approved final report calls for (None before it is approved)."""
    if final is None or final.status != REPORT.target("approve"):
        return None
    shown = reports.effect_of(grant, final.actuals)
    return Reduction(
        amount_cents=shown.amount_cents,
        planned_cents=shown.planned_cents,
        actual_cents=shown.actual_cents,
        due_cents=shown.due_cents,
        applied=applied,
    )


def payment_defaults(parts: list[InstalmentRecord], today: str) -> dict[str, str]:
    """The payment form starts with the first instalment approved for payment and what
    is left of it, and today's date."""
    values = {"value_date": today}
    for part in parts:
        if part.payable:
            values.update(instalment=str(part.id), amount=amount_input(part.left_cents))
            break
    return values


async def staff_context(grant: GrantRecord, *, today: str) -> dict[str, Any]:
    """The staff page: ``context`` with the internal notes, the pending reduction and
    the instalments whose approval waits for it (paid on the final report)."""
    page = await context(grant, internal=True)
    reduction = reduction_of(
        grant,
        page["reports_by_kind"].get("final"),
        applied=any(a.kind == AmendmentKind.reduction for a in page["amendments"]),
    )
    pending = reduction is not None and reduction.pending
    return {
        **page,
        "reduction": reduction if pending else None,
        "held": frozenset(
            i.id
            for i in page["instalments"]
            if pending and i.trigger == "final_report" and "approve" in i.actions
        ),
        # No approval before the agreement is in force (``states.agreement_holds_back``).
        "agreement_first": grant.agreement_required and not grant.agreement_file,
        "payment_defaults": payment_defaults(page["instalments"], today),
        "payable": [i for i in page["instalments"] if i.payable],
        "amendable": [i for i in page["instalments"] if i.amendable],
        "today": today,
    }
