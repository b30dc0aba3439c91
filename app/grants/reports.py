"""Grantee reports (bilans): the narrative and the financial statement (compte rendu
financier, CERFA n° 15059) with actual amounts per budget line beside the forecast;
submitted by the organisation, approved or sent back by an officer. Approval makes the
linked instalment due. Reminders go out before and after each deadline."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from app import quotas
from app.accounts.services import staff_recipients
from app.applications import budget as budgets
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, format_amount, parse_amount
from app.core.outbox import enqueue_email
from app.core.periodic import Job
from app.core.time import paris_date
from app.funders.models import funder_context
from app.funders.services import legal_by_id
from app.grants import services as grants
from app.grants.models import AttachmentRecord, GrantRecord, ReductionResult, ReportRecord
from app.grants.states import REPORT, REPORT_EDITABLE, REPORT_IN
from app.grants.tables import Grant, GrantStatus, Report, ReportAttachment
from app.organisations.services import email_members
from app.quotas import StorageLimits

if TYPE_CHECKING:
    from app.grants.receipts import ReportReceipts

KINDS = ("interim", "final")
TRIGGER_OF = {"interim": "interim_report", "final": "final_report"}
REMIND_BEFORE = timedelta(days=14)
MAX_FILES = 20
MAX_NARRATIVE = 20_000


class ReportError(DomainError):
    """A report refused a change; the message is written at the raise."""


@dataclass(frozen=True, slots=True)
class ReportDocument:
    """A supporting document a report asks for (its upload's ``document`` key)."""

    key: str
    label: str
    required: bool
    hint: str = ""


# What each report is submitted with (the usual practice of funders for CERFA 15059:
# the activity report, and for the final one the statement of expenses signed by the
# organisation's legal representative or treasurer).
DOCUMENTS: dict[str, tuple[ReportDocument, ...]] = {
    "interim": (
        ReportDocument(
            "activity",
            N_("Interim activity report"),
            True,
            N_("What was done so far, people reached, first results."),
        ),
        ReportDocument("other", N_("Other document"), False),
    ),
    "final": (
        ReportDocument(
            "activity",
            N_("Final activity report"),
            True,
            N_("Actions carried out, people reached, results, differences from the project."),
        ),
        ReportDocument(
            "expenses",
            N_("Statement of expenses, signed by the president or the treasurer"),
            True,
            N_("The project's expenses (invoices, pay slips…), dated and signed."),
        ),
        ReportDocument("accounts", N_("Approved accounts of the last financial year"), False),
        ReportDocument("other", N_("Other document"), False),
    ),
}


class DocumentsMissing(ReportError):
    """A report submitted without one of its required documents (``missing``)."""

    def __init__(self, missing: list[ReportDocument]):
        super().__init__(
            "documents_missing",
            N_("Attach the required documents before submitting: %(count)d missing."),
            f"file-{missing[0].key}",
            count=len(missing),
        )
        self.missing = missing


def missing_documents(kind: str, files) -> list[ReportDocument]:
    """The required documents of a report of this ``kind`` that ``files`` (its
    attachments) do not include."""
    present = {f.document for f in files}
    return [d for d in DOCUMENTS[kind] if d.required and d.key not in present]


def require_documents(kind: str, files) -> None:
    """A report is submitted with every required document (``DocumentsMissing``)."""
    missing = missing_documents(kind, files)
    if missing:
        raise DocumentsMissing(missing)


@dataclass(frozen=True, slots=True)
class Effect:
    """What the declared spending means for the grant: the rule the final report's
    examination applies (``grants.reduced_total``: the award times actual eligible
    spending over planned, never more than the award)."""

    amount_cents: int
    planned_cents: int
    actual_cents: int
    due_cents: int

    @property
    def reduced(self) -> bool:
        return self.due_cents < self.amount_cents


def effect(grant: GrantRecord, actuals: dict) -> Effect | None:
    """The effect of these figures on the grant (None while no expense is declared)."""
    return effect_of(grant, actuals) if actuals.get("charges") else None


def effect_of(grant: GrantRecord, actuals: dict) -> Effect:
    """What is due on the grant with these figures' eligible spending."""
    planned = planned_eligible(grant.budget, grant.requested_cents)
    actual = actual_eligible(actuals)
    return Effect(
        amount_cents=grant.amount_cents,
        planned_cents=planned,
        actual_cents=actual,
        due_cents=grants.reduced_total(grant.amount_cents, planned, actual),
    )


def now() -> datetime:
    return datetime.now(UTC)


def _not_found() -> ReportError:
    return ReportError("not_found", N_("Not found."))


def _not_editable() -> ReportError:
    return ReportError("not_editable", N_("This report is submitted: it can no longer change."))


def refusal(grant: GrantRecord, report: ReportRecord | None) -> ReportError | None:
    """Why the organisation may not write in this report now (None: it may): the grant
    must be accepted, the report a draft or sent back (not yet started: a draft)."""
    if not grant.accepted:
        return ReportError("not_active", N_("The grant is not accepted yet."))
    if report is not None and not report.editable:
        return _not_editable()
    return None


def _where(grant_id: int, kind: str):
    return (Report.grant == grant_id) & (Report.kind == kind)


async def _select(condition) -> list[ReportRecord]:
    rows = await Report.select().where(condition).order_by(Report.kind).output(load_json=True)
    return [ReportRecord.of(r, actuals=r["actuals"] or {}) for r in rows]


async def report_of(grant_id: int, kind: str) -> ReportRecord:
    """The grant's report of this kind (an empty draft the first time)."""
    if kind not in KINDS:
        raise _not_found()
    found = await _select(_where(grant_id, kind))
    if not found:
        async with write_transaction():
            if not await Report.exists().where(_where(grant_id, kind)):
                await Report.insert(Report(grant=grant_id, kind=kind))
        found = await _select(_where(grant_id, kind))
    return found[0]


async def find(grant_id: int, kind: str) -> ReportRecord | None:
    """The report if it was started (reading never creates one)."""
    found = await _select(_where(grant_id, kind))
    return found[0] if found else None


async def reports_of(grant_id: int) -> list[ReportRecord]:
    return await _select(Report.grant == grant_id)


@dataclass(frozen=True, slots=True)
class Line:
    side: str  # charges | produits
    key: str
    label: str
    forecast: int
    actual: int | None

    @property
    def field(self) -> str:
        """The form field of its actual amount."""
        return field_name(self.side, self.key)

    @property
    def variance(self) -> int | None:
        return None if self.actual is None else self.actual - self.forecast

    @property
    def variance_percent(self) -> float | None:
        if self.actual is None or not self.forecast:
            return None
        return (self.actual - self.forecast) * 100 / self.forecast


def field_name(side: str, key: str) -> str:
    return f"actual_{side}_{key}"


def statement(budget_json: dict, requested_cents: int, actuals: dict) -> list[Line]:
    """The financial statement's lines: every line of the forecast budget (and the
    requested grant as the funder's line), with the actual amount typed so far."""
    forecast = budgets.from_json(budget_json, requested_cents)
    lines = []
    for key, label in [*budgets.CHARGES, budgets.IN_KIND_CHARGES]:
        actual = (actuals.get("charges") or {}).get(key)
        if key in forecast.charges or actual is not None:
            lines.append(Line("charges", key, label, forecast.charges.get(key, 0), actual))
    own = ("74_this", N_("74 – the grant of this call"))
    for key, label in [own, *budgets.PRODUITS, budgets.IN_KIND_PRODUITS]:
        planned = requested_cents if key == own[0] else forecast.produits.get(key, 0)
        actual = (actuals.get("produits") or {}).get(key)
        if planned or actual is not None:
            lines.append(Line("produits", key, label, planned, actual))
    return lines


def planned_eligible(budget_json: dict, requested_cents: int) -> int:
    return budgets.from_json(budget_json, requested_cents).eligible_cost


def actual_eligible(actuals: dict) -> int:
    """Actual spending without contributions in kind (86): the reduction's base."""
    charges = actuals.get("charges") or {}
    return sum(v for k, v in charges.items() if k != "86")


def parse_actuals(values: dict[str, str], lines: list[Line]) -> tuple[dict, list[ReportError]]:
    actuals: dict[str, dict[str, int]] = {"charges": {}, "produits": {}}
    errors = []
    for line in lines:
        raw = values.get(line.field, "").strip()
        if not raw:
            continue
        try:
            actuals[line.side][line.key] = parse_amount(raw)
        except AmountError:
            errors.append(
                ReportError("amount", N_("Enter an amount in euros, e.g. 60 000,00."), line.field)
            )
    return actuals, errors


async def _grant(grant_id: int) -> GrantRecord:
    grant = await grants.get_grant(grant_id)
    if grant is None:
        raise _not_found()
    return grant


async def save(
    grant_id: int,
    kind: str,
    values: dict[str, str],
    *,
    submit: bool,
    confirmed: bool,
    user_id: int,
    actor: Actor,
    previewed: str | None = None,
    receipts: ReportReceipts | None = None,
) -> list[ReportError]:
    """Save the organisation's report (draft), or submit it: final once submitted, so
    the person confirms the documents and figures are there; a narrative is required
    then, every required document (``require_documents``, checked again under the
    report's lock), and the final report needs the actual expenses, whose effect on
    the grant the person has seen: ``previewed`` is the eligible spending the page
    showed the effect of, and other figures are refused once so that the page shows
    theirs. Submitting e-mails the organisation's members and the officers, and
    ``receipts`` writes the acknowledgement of receipt after the commit. Returns the
    refusals of its fields (nothing saved when there are any)."""
    if submit and not confirmed:
        return [
            ReportError(
                "confirm_submit",
                N_("Tick the box to submit the report (or save it as a draft)."),
                "confirm",
            )
        ]
    grant = await _grant(grant_id)
    report = await report_of(grant_id, kind)
    if (refused := refusal(grant, report)) is not None:
        raise refused
    lines = statement(grant.budget, grant.requested_cents, {})
    actuals, errors = parse_actuals(values, lines)
    narrative = values.get("narrative", "").strip()
    if len(narrative) > MAX_NARRATIVE:
        errors.append(ReportError("too_long", N_("This text is too long."), "narrative"))
    if submit:
        if not narrative:
            errors.append(
                ReportError("narrative_required", N_("Describe what was done."), "narrative")
            )
        if kind == "final" and not actuals["charges"]:
            errors.append(
                ReportError("actuals_required", N_("Enter the actual expenses."), lines[0].field)
            )
        try:
            require_documents(kind, (await attachments([report.id])).get(report.id, []))
        except DocumentsMissing as exc:
            errors.append(exc)
        shown = effect(grant, actuals)
        if (
            kind == "final"
            and shown is not None
            and not errors
            and previewed != str(shown.actual_cents)
        ):
            errors.append(
                ReportError(
                    "check_effect",
                    N_("Check the effect of your figures on the grant below, then submit again."),
                    "confirm",
                )
            )
    if errors:
        return errors
    async with write_transaction():
        current = await for_update(Report.select(Report.status).where(Report.id == report.id))
        status = current[0]["status"]
        if status not in REPORT_EDITABLE:
            raise _not_editable()
        columns = {
            Report.narrative: narrative,
            Report.actuals: json.dumps(actuals),
        }
        if submit:
            columns.update(
                {
                    Report.status: REPORT.fire("submit", status, "applicant"),
                    Report.submitted_at: now(),
                    Report.submitted_by: user_id,
                }
            )
        if submit:
            # Under the report's lock: no document can be removed in between.
            require_documents(kind, (await attachments([report.id])).get(report.id, []))
            columns[Report.receipt_file] = None  # a resubmission gets a new one
        await Report.update(columns).where(Report.id == report.id)
        if submit:
            await grants.audit_change("grants.report_submitted", actor, grant_id, kind=kind)
            await _tell_submitted(grant, kind, actuals, receipts)
    if submit and receipts is not None:
        await ensure_receipt(grant, await report_of(grant_id, kind), receipts)
    return []


async def _tell_submitted(
    grant: GrantRecord, kind: str, actuals: dict, receipts: ReportReceipts | None
) -> None:
    """The e-mails of a submission: the organisation's members and the officers."""
    base_url = receipts.base_url if receipts is not None else ""
    shown = effect(grant, actuals)
    context = {
        "reference": grant.reference,
        "title": grant.title,
        "organisation": grant.organisation_name,
        "kind": kind,
        "submitted_on": paris_date(now()).isoformat(),
        "declared": format_amount(shown.actual_cents, "fr_FR") if shown else "",
        "planned": format_amount(shown.planned_cents, "fr_FR") if shown else "",
        "funder": grant.funder_name,
        "funder_address": grant.funder_address,
        **await signed_by(grant.id),
    }
    await email_members(
        grant.organisation,
        "report_submitted",
        {
            **context,
            "staff": False,
            "url": f"{base_url}/dossiers/{grant.application}/bilans/{kind}",
            "receipt_url": f"{base_url}/dossiers/{grant.application}/bilans/{kind}/accuse-de-reception.pdf",
        },
    )
    for person in await staff_recipients("officer"):
        await enqueue_email(
            to=person["email"],
            template="report_submitted",
            language=person["language"],
            context={
                **context,
                "staff": True,
                "url": f"{base_url}/suivi/subventions/{grant.id}#reports",
                "receipt_url": "",
            },
        )


def report_hash(report: ReportRecord, files: list[AttachmentRecord]) -> str:
    """The SHA-256 of what was submitted: the narrative, the figures and the documents'
    fingerprints (printed on the receipt)."""
    content = {
        "kind": report.kind,
        "narrative": report.narrative,
        "actuals": report.actuals,
        "documents": [[f.document, f.original_name, f.sha256] for f in files],
    }
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


async def ensure_receipt(
    grant: GrantRecord, report: ReportRecord, receipts: ReportReceipts
) -> str | None:
    """The storage id of a submitted report's receipt, written now when missing (after
    the submission's commit, or when the server stopped in between); None before the
    report is submitted."""
    if report.status not in REPORT_IN or report.submitted_at is None:
        return None
    if report.receipt_file:
        return report.receipt_file
    files = (await attachments([report.id])).get(report.id, [])
    written = await receipts.write(grant, report, files, report_hash(report, files))
    try:
        async with write_transaction():
            updated = (
                await Report.update({Report.receipt_file: written})
                .where((Report.id == report.id) & Report.receipt_file.is_null())
                .returning(Report.id)
            )
    except BaseException:
        receipts.discard(written)
        raise
    if not updated:  # another request wrote it first
        receipts.discard(written)
        row = await Report.select(Report.receipt_file).where(Report.id == report.id).first()
        return row["receipt_file"]
    return written


async def review(
    grant_id: int, kind: str, *, approve: bool, message: str, actor: Actor, base_url: str
) -> None:
    """An officer approves a submitted report (its instalment becomes due) or sends it
    back with a message (e-mailed to the organisation's members)."""
    message = message.strip()
    if not approve and not message:
        raise ReportError(
            "message_required",
            N_("Write what must be corrected: the organisation receives it."),
            "message",
        )
    action = "approve" if approve else "send_back"
    async with write_transaction():
        rows = await for_update(Report.select().where(_where(grant_id, kind)))
        if not rows or not REPORT.can(action, rows[0]["status"], "officer"):
            raise ReportError("not_submitted", N_("This report is not waiting for review."))
        await Report.update(
            {
                Report.status: REPORT.fire(action, rows[0]["status"], "officer"),
                Report.reviewed_at: now(),
                Report.reviewed_by: actor.user_id,
                Report.message: "" if approve else message[:5000],
            }
        ).where(Report.id == rows[0]["id"])
        if approve:
            await grants.make_due(grant_id, TRIGGER_OF[kind])
        audited = "grants.report_approved" if approve else "grants.report_returned"
        await grants.audit_change(audited, actor, grant_id, kind=kind)
        grant = await _grant(grant_id)
        await email_members(
            grant.organisation,
            "report_reviewed",
            {
                "reference": grant.reference,
                "kind": kind,
                "approved": approve,
                "message": message,
                "funder": grant.funder_name,
                "funder_address": grant.funder_address,
                "url": f"{base_url}/dossiers/{grant.application}/bilans/{kind}",
                **await signed_by(grant.id),
            },
        )


async def apply_final_reduction(grant_id: int, *, actor: Actor) -> ReductionResult:
    """The proportional reduction, from the approved final report's actual eligible
    spending against the forecast's (``grants.apply_reduction``)."""
    grant = await _grant(grant_id)
    final = await find(grant_id, "final")
    if final is None or final.status != REPORT.target("approve"):
        raise ReportError("not_submitted", N_("This report is not waiting for review."))
    return await grants.apply_reduction(
        grant_id,
        planned_cents=planned_eligible(grant.budget, grant.requested_cents),
        actual_cents=actual_eligible(final.actuals),
        actor=actor,
    )


async def _organisation_of(report_id: int) -> int | None:
    row = (
        await Report.select(Report.grant.organisation.as_alias("organisation"))
        .where(Report.id == report_id)
        .first()
    )
    return row["organisation"] if row else None


async def report_room(report_id: int, *, size: int, limits: StorageLimits) -> quotas.Room:
    """Before an upload's body is read: ``QuotaExceeded`` when a file of at least
    ``size`` bytes cannot fit in the organisation's quota; else the room it has."""
    organisation_id = await _organisation_of(report_id)
    if organisation_id is None:
        raise _not_editable()
    room = await quotas.room_of(limits=limits, organisation_id=organisation_id)
    room.check(max(size, 1))
    return room


async def add_attachment(
    report_id: int,
    stored,
    *,
    document: str = "other",
    user_id: int,
    actor: Actor,
    limits: StorageLimits,
) -> None:
    """A supporting document of a draft (or returned) report, as one of the documents
    its kind asks for (``DOCUMENTS``): at most ``MAX_FILES``, and within the
    organisation's storage quota (checked with the organisation locked,
    ``QuotaExceeded``)."""
    organisation_id = await _organisation_of(report_id)
    if organisation_id is None:
        raise _not_editable()
    async with write_transaction():
        await quotas.lock_organisation(organisation_id)
        rows = await for_update(
            Report.select(Report.status, Report.grant).where(Report.id == report_id)
        )
        if not rows or rows[0]["status"] not in REPORT_EDITABLE:
            raise _not_editable()
        kind = (await Report.select(Report.kind).where(Report.id == report_id).first())["kind"]
        if document not in {d.key for d in DOCUMENTS[kind]}:
            raise ReportError("document", N_("Choose which document this is."), "document")
        if await ReportAttachment.count().where(ReportAttachment.report == report_id) >= MAX_FILES:
            raise ReportError(
                "too_many_files", N_("A report has 20 documents at most: gather some in one PDF.")
            )
        room = await quotas.room_of(limits=limits, organisation_id=organisation_id)
        room.check(stored.size)
        await ReportAttachment.insert(
            ReportAttachment(
                report=report_id,
                document=document,
                storage_id=stored.storage_id,
                original_name=stored.filename,
                size=stored.size,
                sha256=stored.sha256,
                content_type=stored.content_type,
                uploaded_by=user_id,
            )
        )
        await grants.audit_change(
            "grants.report_attachment_added",
            actor,
            rows[0]["grant"],
            name=stored.filename,
            document=document,
            sha256=stored.sha256,
        )


ATTACHMENT_COLUMNS = (
    *ReportAttachment.all_columns(),
    ReportAttachment.report.grant.as_alias("grant"),
)


async def attachment(attachment_id: int) -> AttachmentRecord | None:
    """A report's document, with the grant it belongs to (for the access check)."""
    row = (
        await ReportAttachment.select(*ATTACHMENT_COLUMNS)
        .where(ReportAttachment.id == attachment_id)
        .first()
    )
    return AttachmentRecord.of(row) if row else None


async def attachments(report_ids: list[int]) -> dict[int, list[AttachmentRecord]]:
    found: dict[int, list[AttachmentRecord]] = {}
    for row in (
        await ReportAttachment.select(*ATTACHMENT_COLUMNS)
        .where(ReportAttachment.report.is_in(report_ids or [0]))
        .order_by(ReportAttachment.id)
    ):
        found.setdefault(row["report"], []).append(AttachmentRecord.of(row))
    return found


# --- Deadlines and reminders -------------------------------------------------------------------


def default_final_due(accepted: date) -> date:
    """Six months after the end of the financial year of the grant (product.md)."""
    return date(accepted.year + 1, 6, 30)


async def send_reminders(at: datetime | None = None, *, base_url: str) -> int:
    """E-mail the organisation's members once in the 14 days before a report's deadline
    and once after it, while the report is not submitted. A reminder is claimed by the
    conditional update that records it, in the transaction that writes the e-mail."""
    at = at or now()
    today = at.date()
    sent = 0
    active = await Grant.select(
        Grant.id,
        Grant.organisation,
        Grant.application,
        Grant.interim_report_due,
        Grant.final_report_due,
        Grant.application.reference.as_alias("reference"),
        Grant.application.title.as_alias("title"),
        Grant.call.funder.id.as_alias("funder_id"),
        Grant.call.funder.name.as_alias("funder"),
        Grant.call.funder.address.as_alias("funder_address"),
    ).where(Grant.status == GrantStatus.active)
    legal = await legal_by_id(sorted({g["funder_id"] for g in active}))
    for grant in active:
        for kind in KINDS:
            due = grant[f"{kind}_report_due"]
            if due is None or today < due - REMIND_BEFORE:
                continue
            report = await report_of(grant["id"], kind)
            if report.status in REPORT_IN:
                continue
            column = Report.reminded_before_at if today <= due else Report.reminded_after_at
            async with write_transaction():
                claimed = (
                    await Report.update({column: at})
                    .where((Report.id == report.id) & column.is_null())
                    .returning(Report.id)
                )
                if not claimed:
                    continue
                await email_members(
                    grant["organisation"],
                    "report_reminder",
                    {
                        "reference": grant["reference"],
                        "title": grant["title"],
                        "kind": kind,
                        "due": due.isoformat(),
                        "late": today > due,
                        "funder": grant["funder"],
                        "funder_address": grant["funder_address"],
                        "url": f"{base_url}/dossiers/{grant['application']}/bilans/{kind}",
                        **funder_context(legal.get(grant["funder_id"])),
                    },
                )
                sent += 1
    return sent


async def signed_by(grant_id: int) -> dict:
    """What the e-mails about a grant's reports need to be signed by the funder's
    service (``funder_context``)."""
    row = (
        await Grant.select(Grant.call.funder.id.as_alias("funder_id"))
        .where(Grant.id == grant_id)
        .first()
    )
    found = await legal_by_id([row["funder_id"]]) if row else {}
    return funder_context(found.get(row["funder_id"])) if row else {}


def followup_job(settings, *, every_s: float = 3600) -> Job:
    """For the background runner: every hour, instalments due on a date become due and
    report reminders go out."""

    async def work() -> None:
        await grants.make_dated_due(now().date())
        await send_reminders(base_url=settings.base_url)

    return Job("grant-followup", work, every_s)
