"""Grant follow-up pages: the finance dashboard and exports, each grant's page
(instalments, payments, reports, recoveries) for staff, and the reports the
organisation writes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File, Redirect, Stream, Template

from app.accounts.guards import requires
from app.accounts.routes import actor
from app.applications.deps import own_application
from app.core import storage
from app.core.exports import table_response
from app.core.forms import FormState, parse_date
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, amount_input, format_amount, parse_amount
from app.core.numbers import whole_number
from app.core.web import flash, path_to, render, settings_of
from app.funders.services import list_funders
from app.grants import dashboard, followup, ledger, reports
from app.grants import services as grants
from app.grants.ledger import LedgerError
from app.grants.reports import ReportError
from app.grants.services import GrantError
from app.grants.tables import AmendmentKind
from app.permissions import can_instruct_grant
from app.quotas import QuotaExceeded, StorageLimits

DASHBOARD = "/finances"
EXPORT = "/finances/export/{name:str}"
GRANT = "/suivi/subventions/{grant_id:int}"
INSTALMENT = "/suivi/subventions/{grant_id:int}/echeances/{instalment_id:int}"
PAYMENTS = "/suivi/subventions/{grant_id:int}/versements"
REVERSAL = "/suivi/subventions/{grant_id:int}/versements/{entry_id:int}/annulation"
RECOVERY = "/suivi/subventions/{grant_id:int}/reversements/{recovery_id:int}"
AMEND = "/suivi/subventions/{grant_id:int}/echeancier"
DEADLINES = "/suivi/subventions/{grant_id:int}/delais"
REVIEW_REPORT = "/suivi/subventions/{grant_id:int}/bilans/{kind:str}"
REDUCTION = "/suivi/subventions/{grant_id:int}/reduction"
MY_REPORT = "/dossiers/{app_id:int}/bilans/{kind:str}"
MY_REPORT_FILE = "/dossiers/{app_id:int}/bilans/{kind:str}/pieces"
REPORT_FILE = "/suivi/pieces-de-bilan/{attachment_id:int}"

ID = re.compile(r"[0-9]{1,9}")
FOLLOW = [requires("follow_grants")]
OFFICERS = [requires("instruct_grant")]
FINANCE = [requires("pay")]
MAX_REPORT_FILE = 20 * storage.MB

ERRORS = {
    "amount": N_("Enter an amount in euros, e.g. 60 000,00."),
    "amount_positive": N_("Enter an amount above zero."),
    "above_balance": N_("The amount is above what is left to pay (%(limit)s)."),
    "not_approved": N_("This instalment is not approved for payment."),
    "cancelled": N_("This instalment is cancelled."),
    "not_active": N_("The grant is not accepted yet."),
    "agreement_missing": N_(
        "The signed agreement (convention) is not received yet: no payment before it."
    ),
    "key": N_("This form has expired: open the page again."),
    "key_reused": N_("This form was already used for another amount: open the page again."),
    "reference": N_("Enter the payment reference (mandate number)."),
    "recovery_reference": N_("Enter the recovery order's reference (titre de recette)."),
    "future_date": N_("The value date is more than a month ahead: check it."),
    "reason": N_("Give the reason."),
    "already_reversed": N_("This payment is already cancelled."),
    "recovery_closed": N_("This recovery is already received."),
    "transition": N_("This instalment cannot change that way now."),
    "partly_paid": N_("Part of this instalment is paid: cancel the payment first."),
    "amend_locked": N_("Only instalments not yet approved or paid can change."),
    "amend_total": N_("The instalments must add up to what is due on the grant."),
    "already_reduced": N_("The reduction is already applied."),
    "date": N_("Enter a date, e.g. 17/05/2017."),
    "not_found": N_("Not found."),
    "narrative_required": N_("Describe what was done."),
    "actuals_required": N_("Enter the actual expenses."),
    "too_long": N_("This text is too long."),
    "message_required": N_("Write what must be corrected: the organisation receives it."),
    "not_submitted": N_("This report is not waiting for review."),
    "not_editable": N_("This report is submitted: it can no longer change."),
    "confirm_submit": N_("Tick the box to submit the report (or save it as a draft)."),
    "upload_missing": N_("Choose a file."),
    "too_many_files": N_("A report has 20 documents at most: gather some in one PDF."),
}
EXPORTS = {
    "subventions": N_("grants"),
    "echeances": N_("instalments"),
    "versements": N_("payments"),
}


def error_text(code: str, detail: int | None = None) -> str:
    text = _(ERRORS.get(code, N_("Something is not valid.")))
    return text % {"limit": format_amount(detail or 0)} if "%(limit)s" in text else text


def _today():
    return datetime.now(UTC).date()


# --- Dashboard and exports --------------------------------------------------------------------


def _scope(funder: str | None, call: str | None) -> tuple[int | None, int | None]:
    def number(value: str | None) -> int | None:
        return int(value) if value and ID.fullmatch(value) else None

    return number(funder), number(call)


@get(DASHBOARD, guards=FOLLOW, include_in_schema=False, name="grants:dashboard")
async def finance_dashboard(
    request: Request,
    financeur: FromQuery[str | None] = None,
    appel: FromQuery[str | None] = None,
) -> Template:
    funder, call = _scope(financeur, appel)
    total = await dashboard.summary(funder=funder, call=call)
    months = await dashboard.monthly_payments(funder=funder, call=call)
    calls = [c for f in total.calls for c in f.calls]
    return render(
        request,
        "grants/dashboard.html",
        total=total,
        months=months,
        month_bars=dashboard.bars(months[-24:]),
        call_bars=[
            (c, c.committed and min(c.paid * 100 // c.committed, 100)) for c in calls if c.grants
        ],
        lists=await dashboard.worklists(_today(), funder=funder, call=call),
        call_grants=await dashboard.grants_of_call(call) if call else [],
        funders=await list_funders(),
        filters={"financeur": funder, "appel": call},
        export_query=("?" + urlencode(q))
        if (q := {k: v for k, v in (("financeur", funder), ("appel", call)) if v})
        else "",
        all_calls=await dashboard.published_calls(),
        kind_labels=followup.KIND_LABELS,
    )


@get(EXPORT, guards=FOLLOW, include_in_schema=False, name="grants:export")
async def export(
    request: Request,
    name: FromPath[str],
    financeur: FromQuery[str | None] = None,
    appel: FromQuery[str | None] = None,
) -> Stream | File:
    """Grants, instalments or payments (the ledger) for the accounting system, as CSV
    or XLSX: streamed in pages of 500 rows; amounts in euros with two decimals."""
    stem, _dot, extension = name.partition(".")
    if stem not in EXPORTS or extension not in ("csv", "xlsx"):
        raise NotFoundException()
    funder, call = _scope(financeur, appel)
    header, rows = dashboard.export_rows(stem, funder, call)
    return await table_response(
        extension, request.app.state.settings.data_dir / "tmp", stem, header, rows
    )


# --- A grant, for staff ------------------------------------------------------------------------


async def _grant(request: Request, grant_id: int) -> dict:
    grant = await grants.grant_for(request.user, grant_id)
    if grant is None:
        raise NotFoundException()
    return grant


def _new_key() -> str:
    return uuid.uuid4().hex


async def _grant_page(
    request: Request, grant: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    context = await followup.context(grant, internal=True)
    report_rows = {r["kind"]: r for r in context["reports"]}
    final = report_rows.get("final")
    planned = reports.planned_eligible(_json(grant["budget"]), grant["requested_cents"])
    final_actual = reports.actual_eligible(final["actuals"]) if final else None
    budget = _json(grant["budget"])
    return render(
        request,
        "grants/grant.html",
        status_code=status_code,
        form=form or FormState(values=_payment_defaults(context), prefix="pay"),
        statement=lambda r: reports.statement(budget, grant["requested_cents"], r["actuals"]),
        field_name=reports.field_name,
        key=_new_key(),
        today=_today().isoformat(),
        planned_eligible=planned,
        actual_eligible=final_actual,
        reduction_pending=bool(
            can_instruct_grant(request.user, grant)
            and final
            and final["status"] == "approved"
            and final_actual is not None
            and grants.reduced_total(grant["amount_cents"], planned, final_actual)
            < grant["amount_cents"]
            and not any(a["kind"] == AmendmentKind.reduction for a in context["amendments"])
        ),
        proposed=grants.reduced_total(grant["amount_cents"], planned, final_actual)
        if final and final["status"] == "approved"
        else None,
        **context,
    )


def _payment_defaults(context: dict) -> dict[str, str]:
    """The payment form starts with the first approved instalment and what is left of
    it, and today's date."""
    values = {"value_date": _today().isoformat()}
    for part in context["instalments"]:
        if part["status"] == "approved":
            left = part["amount_cents"] - context["paid_by_instalment"].get(part["id"], 0)
            values.update(instalment=str(part["id"]), amount=amount_input(left))
            break
    return values


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else (value or {})


@get(GRANT, guards=FOLLOW, include_in_schema=False, name="grants:grant")
async def grant_page(request: Request, grant_id: FromPath[int]) -> Template:
    return await _grant_page(request, await _grant(request, grant_id))


def _back(grant_id: int, anchor: str = "") -> Redirect:
    return Redirect(path_to(GRANT, grant_id=grant_id) + anchor, status_code=303)


@post(INSTALMENT, guards=OFFICERS, include_in_schema=False, name="grants:instalment")
async def instalment_action(
    request: Request,
    grant_id: FromPath[int],
    instalment_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    await _grant(request, grant_id)
    action = data.get("action", "")
    try:
        await grants.transition_instalment(
            grant_id,
            instalment_id,
            action,
            role="officer",
            actor=actor(request),
            reason=data.get("reason", ""),
        )
    except GrantError as exc:
        flash(request, error_text(exc.code), "error")
    else:
        flash(
            request,
            _("The instalment is approved for payment.")
            if action == "approve"
            else _("The instalment is cancelled."),
        )
    return _back(grant_id, "#instalments")


def _amount(raw: str) -> int:
    try:
        return parse_amount(raw)
    except AmountError:
        raise LedgerError("amount") from None


@post(PAYMENTS, guards=FINANCE, include_in_schema=False, name="grants:pay")
async def pay(
    request: Request, grant_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    """Record a payment; the form's idempotency key makes a double click harmless."""
    grant = await _grant(request, grant_id)
    form = FormState(values=dict(data), prefix="pay")
    # Every field checked at once, so each mistake shows beside its field.
    amount = value_date = instalment = None
    try:
        amount = parse_amount(data.get("amount", ""))
    except AmountError:
        form.error("amount", error_text("amount"))
    try:
        value_date = parse_date(data.get("value_date", ""))
    except ValueError:
        form.error("value_date", error_text("date"))
    if not data.get("reference", "").strip():
        form.error("reference", error_text("reference"))
    if ID.fullmatch(data.get("instalment", "")):
        instalment = int(data["instalment"])
    else:
        form.error("instalment", error_text("not_approved"))
    if form.ok:
        try:
            await ledger.record_payment(
                grant_id,
                instalment,
                amount_cents=amount,
                value_date=value_date,
                reference=data.get("reference", ""),
                bank_reference=data.get("bank_reference", ""),
                idempotency_key=data.get("key", ""),
                actor=actor(request),
            )
        except LedgerError as exc:
            field = {
                "reference": "reference",
                "not_approved": "instalment",
                "cancelled": "instalment",
                "not_found": "instalment",
                "future_date": "value_date",
            }.get(exc.code, "amount")
            form.error(field, error_text(exc.code, exc.detail))
    if not form.ok:
        return await _grant_page(request, grant, form=form, status_code=422)
    flash(request, _("The payment is recorded."))
    return _back(grant_id, "#ledger")


@post(REVERSAL, guards=FINANCE, include_in_schema=False, name="grants:reverse")
async def reverse(
    request: Request,
    grant_id: FromPath[int],
    entry_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    await _grant(request, grant_id)
    try:
        await ledger.reverse_payment(
            grant_id,
            entry_id,
            reason=data.get("reason", ""),
            idempotency_key=data.get("key", ""),
            actor=actor(request),
        )
    except LedgerError as exc:
        flash(request, error_text(exc.code), "error")
    else:
        flash(request, _("The payment is cancelled by a reversal entry."))
    return _back(grant_id, "#ledger")


@post(RECOVERY, guards=FINANCE, include_in_schema=False, name="grants:recovery")
async def recovery_received(
    request: Request,
    grant_id: FromPath[int],
    recovery_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    await _grant(request, grant_id)
    try:
        try:
            value_date = parse_date(data.get("value_date", ""))
        except ValueError:
            raise LedgerError("date") from None
        if not data.get("reference", "").strip():
            raise LedgerError("recovery_reference")
        await ledger.receive_recovery(
            grant_id,
            recovery_id,
            value_date=value_date,
            reference=data.get("reference", ""),
            idempotency_key=data.get("key", ""),
            actor=actor(request),
        )
    except LedgerError as exc:
        flash(request, error_text(exc.code), "error")
    else:
        flash(request, _("The recovery is recorded as received."))
    return _back(grant_id, "#recoveries")


@post(AMEND, guards=OFFICERS, include_in_schema=False, name="grants:amend")
async def amend(
    request: Request, grant_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    await _grant(request, grant_id)
    try:
        amounts = {}
        for name, raw in data.items():
            instalment_id = whole_number(name.removeprefix("amount_"))
            if name.startswith("amount_") and instalment_id is not None:
                try:
                    amounts[instalment_id] = parse_amount(raw)
                except AmountError:
                    raise GrantError("amount") from None
        await grants.amend_schedule(
            grant_id, amounts, reason=data.get("reason", ""), actor=actor(request)
        )
    except GrantError as exc:
        flash(request, error_text(exc.code), "error")
    else:
        flash(request, _("The schedule is amended; the earlier version is kept."))
    return _back(grant_id, "#instalments")


@post(DEADLINES, guards=OFFICERS, include_in_schema=False, name="grants:deadlines")
async def deadlines(
    request: Request, grant_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    await _grant(request, grant_id)
    try:
        interim = parse_date(data["interim"]) if data.get("interim") else None
        final = parse_date(data["final"]) if data.get("final") else None
    except ValueError:
        flash(request, error_text("date"), "error")
        return _back(grant_id, "#reports")
    await grants.set_deadlines(grant_id, interim, final, actor=actor(request))
    flash(request, _("The report deadlines are saved."))
    return _back(grant_id, "#reports")


@post(REVIEW_REPORT, guards=OFFICERS, include_in_schema=False, name="grants:review-report")
async def review_report(
    request: Request,
    grant_id: FromPath[int],
    kind: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    await _grant(request, grant_id)
    if kind not in reports.KINDS:
        raise NotFoundException()
    approve = data.get("decision") == "approve"
    try:
        await reports.review(
            grant_id,
            kind,
            approve=approve,
            message=data.get("message", ""),
            actor=actor(request),
            base_url=request.app.state.settings.base_url,
        )
    except ReportError as exc:
        flash(request, error_text(exc.code), "error")
    else:
        flash(request, _("The report is approved.") if approve else _("The report is sent back."))
    return _back(grant_id, "#reports")


@post(REDUCTION, guards=OFFICERS, include_in_schema=False, name="grants:reduce")
async def reduce(request: Request, grant_id: FromPath[int]) -> Redirect:
    """The proportional reduction, from the approved final report's actual spending."""
    grant = await _grant(request, grant_id)
    final = await reports.report_of(grant_id, "final")
    if final["status"] != "approved":
        flash(request, error_text("not_submitted"), "error")
        return _back(grant_id, "#reports")
    try:
        result = await grants.apply_reduction(
            grant_id,
            planned_cents=reports.planned_eligible(
                _json(grant["budget"]), grant["requested_cents"]
            ),
            actual_cents=reports.actual_eligible(final["actuals"]),
            actor=actor(request),
        )
    except GrantError as exc:
        flash(request, error_text(exc.code), "error")
        return _back(grant_id, "#reports")
    if result["reduction"] == 0:
        flash(request, _("The actual spending is not below the forecast: no reduction."))
    elif result["recovery"]:
        flash(
            request,
            _(
                "The grant is reduced by %(reduction)s; %(recovery)s was paid too much: a recovery is opened."
            )
            % {
                "reduction": format_amount(result["reduction"]),
                "recovery": format_amount(result["recovery"]),
            },
        )
    else:
        flash(
            request,
            _("The grant is reduced by %(reduction)s: the last instalment shrinks.")
            % {"reduction": format_amount(result["reduction"])},
        )
    return _back(grant_id, "#instalments")


# --- Reports, for the organisation --------------------------------------------------------------


async def _own_grant(request: Request, app_id: int) -> tuple[dict, dict]:
    app = await own_application(request, app_id)
    grant = await grants.grant_of(app_id)
    if grant is None:
        raise NotFoundException()
    return app, await grants.grant_for(request.user, grant["id"])


async def _report_page(
    request: Request,
    app: dict,
    grant: dict,
    kind: str,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    report = await reports.report_of(grant["id"], kind)
    lines = reports.statement(_json(grant["budget"]), grant["requested_cents"], report["actuals"])
    if form is None:
        values = {"narrative": report["narrative"]}
        for line in lines:
            if line.actual is not None:
                values[reports.field_name(line.side, line.key)] = amount_input(line.actual)
        form = FormState(values=values, prefix="report")
    return render(
        request,
        "grants/report.html",
        status_code=status_code,
        app=app,
        grant=grant,
        kind=kind,
        report=report,
        lines=lines,
        field_name=reports.field_name,
        files=(await reports.attachments([report["id"]])).get(report["id"], []),
        editable=grant["status"] == "active" and report["status"] in ("draft", "returned"),
        form=form,
        kind_labels=followup.KIND_LABELS,
        report_states=followup.REPORT_STATES,
        due=grant[f"{kind}_report_due"],
    )


@get(MY_REPORT, include_in_schema=False, name="grants:my-report")
async def my_report(request: Request, app_id: FromPath[int], kind: FromPath[str]) -> Template:
    if kind not in reports.KINDS:
        raise NotFoundException()
    app, grant = await _own_grant(request, app_id)
    return await _report_page(request, app, grant, kind)


@post(MY_REPORT, include_in_schema=False, name="grants:my-report-save")
async def save_my_report(
    request: Request,
    app_id: FromPath[int],
    kind: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
) -> Template | Redirect:
    if kind not in reports.KINDS:
        raise NotFoundException()
    app, grant = await _own_grant(request, app_id)
    submit = data.get("action") == "submit"
    form = FormState(values=dict(data), prefix="report")
    if submit and data.get("confirm") != "yes":
        # Final once submitted: the person says the documents and figures are there.
        form.error("confirm", error_text("confirm_submit"))
        return await _report_page(request, app, grant, kind, form=form, status_code=422)
    try:
        errors = await reports.save(
            grant["id"], kind, data, submit=submit, user_id=request.user.id, actor=actor(request)
        )
    except ReportError as exc:
        errors = {"narrative": exc.code}
    if errors:
        for name, code in errors.items():
            form.error(name, error_text(code))
        return await _report_page(request, app, grant, kind, form=form, status_code=422)
    flash(request, _("Your report is submitted.") if submit else _("Your report is saved."))
    return Redirect(path_to(MY_REPORT, app_id=app_id, kind=kind), status_code=303)


@post(
    MY_REPORT_FILE,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_REPORT_FILE),
    include_in_schema=False,
    name="grants:my-report-file",
)
async def add_report_file(request: Request, app_id: FromPath[int], kind: FromPath[str]) -> Redirect:
    """A supporting document of the report, streamed (same rules as applications)."""
    if kind not in reports.KINDS:
        raise NotFoundException()
    _app, grant = await _own_grant(request, app_id)
    existing = await reports.find(grant["id"], kind)
    status = existing["status"] if existing else "draft"
    back = Redirect(path_to(MY_REPORT, app_id=app_id, kind=kind) + "#files", status_code=303)
    if grant["status"] != "active" or status not in ("draft", "returned"):
        flash(
            request,
            error_text("not_active" if grant["status"] != "active" else "not_editable"),
            "error",
        )
        return back
    limits = StorageLimits.from_settings(settings_of(request))
    report = await reports.report_of(grant["id"], kind)
    room = None
    try:
        room = await reports.report_room(
            report["id"], size=storage.declared_file_bytes(request), limits=limits
        )
        received = await storage.receive_upload(request, max_bytes=min(MAX_REPORT_FILE, room.left))
    except storage.UploadTooLarge as exc:
        if (
            exc.code == "file_too_large"
            and room is not None
            and room.left < MAX_REPORT_FILE
            and (exc.size is None or exc.size <= MAX_REPORT_FILE)
        ):
            flash(request, QuotaExceeded(room.tightest).text(), "error")
        else:
            flash(request, exc.text(), "error")
        return back
    except storage.UploadRefused as exc:
        flash(request, exc.text(), "error")
        return back
    except QuotaExceeded as exc:
        flash(request, exc.text(), "error")
        return back
    except ReportError as exc:
        flash(request, error_text(exc.code), "error")
        return back
    stored = received.file("file")
    if stored is None:
        flash(request, error_text("upload_missing"), "error")
        return back
    try:
        await reports.add_attachment(
            report["id"], stored, user_id=request.user.id, actor=actor(request), limits=limits
        )
    except ReportError as exc:
        storage.FileStorage.of_app(request.app).delete(stored.storage_id)
        flash(request, error_text(exc.code), "error")
        return back
    except QuotaExceeded as exc:
        storage.FileStorage.of_app(request.app).delete(stored.storage_id)
        flash(request, exc.text(), "error")
        return back
    except BaseException:
        storage.FileStorage.of_app(request.app).delete(stored.storage_id)
        raise
    flash(request, _("The document « %(name)s » is attached.") % {"name": stored.filename})
    return back


@get(REPORT_FILE, include_in_schema=False, name="grants:report-file")
async def report_file(request: Request, attachment_id: FromPath[int]) -> Response:
    """A report's document: the organisation's members and the staff."""
    row = await reports.attachment(attachment_id)
    if row is None or await grants.grant_for(request.user, row["grant"]) is None:
        raise NotFoundException()
    return storage.FileStorage.of_app(request.app).download(
        row["storage_id"], filename=row["original_name"], content_type=row["content_type"]
    )


ROUTES = [
    finance_dashboard,
    export,
    grant_page,
    instalment_action,
    pay,
    reverse,
    recovery_received,
    amend,
    deadlines,
    review_report,
    reduce,
    my_report,
    save_my_report,
    add_report_file,
    report_file,
]
