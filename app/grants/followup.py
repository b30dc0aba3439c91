"""What a grant's follow-up pages show, for staff and for the organisation: balance,
instalments, ledger, reports, recoveries and the timeline."""

from __future__ import annotations

from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import format_amount
from app.grants import ledger, reports
from app.grants import services as grants
from app.grants.schedule import TRIGGERS

KIND_LABELS = {"interim": N_("interim report"), "final": N_("final report")}
REPORT_STATES = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "approved": N_("approved"),
    "returned": N_("sent back"),
}


async def context(grant: dict, *, internal: bool) -> dict:
    """What a grant's page shows: balance, instalments, ledger, reports, recoveries and
    the timeline (internal notes only for staff)."""
    parts = await grants.instalments(grant["id"])
    entries = await ledger.entries(grant["id"])
    report_rows = await reports.reports_of(grant["id"])
    recoveries = await grants.recoveries(grant["id"])
    events = [(grant["created_at"], _("Grant awarded (decision published)"), "")]
    if grant["accepted_at"]:
        events.append(
            (
                grant["accepted_at"],
                _("Accepted by %(name)s (%(capacity)s)")
                % {"name": grant["signatory_name"], "capacity": grant["signatory_capacity"]},
                "",
            )
        )
    for r in report_rows:
        label = _(KIND_LABELS[r["kind"]])
        label = label[:1].upper() + label[1:]
        if r["submitted_at"]:
            events.append((r["submitted_at"], _("%(report)s submitted") % {"report": label}, ""))
        if r["reviewed_at"]:
            text = (
                _("%(report)s approved") if r["status"] == "approved" else _("%(report)s sent back")
            )
            events.append((r["reviewed_at"], text % {"report": label}, r["message"]))
    amendments = await grants.amendments(grant["id"])
    for a in amendments:
        events.append((a["created_at"], a["reason"], ""))
    for p in parts:
        if p["cancelled_at"]:
            events.append(
                (
                    p["cancelled_at"],
                    _("Instalment %(n)d cancelled") % {"n": p["position"]},
                    p["note"],
                )
            )
        if p["approved_at"]:
            events.append(
                (
                    p["approved_at"],
                    _("Instalment %(n)d approved for payment") % {"n": p["position"]},
                    "",
                )
            )
    kinds = {
        "payment": _("Payment"),
        "reversal": _("Payment cancelled"),
        "recovery": _("Recovery received"),
    }
    for e in entries:
        events.append(
            (
                e["created_at"],
                f"{kinds[e['kind']]} — {format_amount(e['amount_cents'])}",
                e["reference"] if internal else "",
            )
        )
    for r in recoveries:
        events.append(
            (
                r["created_at"],
                _("Recovery requested — %(amount)s") % {"amount": format_amount(r["amount_cents"])},
                r["reason"],
            )
        )
    events.sort(key=lambda e: e[0])
    return {
        "grant": grant,
        "balance": await ledger.balance(grant["id"]),
        "instalments": parts,
        "entries": entries,
        "paid_by_instalment": {
            p["id"]: ledger.totals([e for e in entries if e["instalment"] == p["id"]])[0]
            for p in parts
        },
        "reports": report_rows,
        "reports_by_kind": {r["kind"]: r for r in report_rows},
        "report_files": await reports.attachments([r["id"] for r in report_rows]),
        "recoveries": recoveries,
        "timeline": events,
        "amendments": amendments,
        "kind_labels": KIND_LABELS,
        "report_states": REPORT_STATES,
        "instalment_labels": grants.INSTALMENT_LABELS,
        "trigger_labels": TRIGGERS,
        "internal": internal,
    }
