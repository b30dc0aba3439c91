"""Grant follow-up pages for staff: the finance dashboard and exports, each grant's page
(instalments, payments, reports, recoveries) and what officers do there. Payments are
in ``payment_routes.py``, the organisation's reports in ``report_routes.py``; this
module lists them all in ``ROUTES``."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File, Redirect, Stream, Template

from app import versions
from app.accounts.guards import requires
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.exports import table_response
from app.core.forms import FormState, parse_date
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, format_amount, parse_amount
from app.core.numbers import whole_number
from app.core.storage import FileStorage
from app.core.time import now
from app.core.web import act, flash, kept_part, render
from app.funders.services import list_funders
from app.grants import (
    agreement_routes,
    bank,
    batch_routes,
    dashboard,
    followup,
    notices,
    pages,
    payment_routes,
    report_routes,
    reports,
)
from app.grants import services as grants
from app.grants.pages import GRANT, at, back, grant_or_404
from app.permissions import funders_for
from app.settings import Settings

DASHBOARD = "/finances"
EXPORT = "/finances/export/{file:str}"
INSTALMENT = "/suivi/subventions/{grant_id:int}/echeances/{instalment_id:int}"
AMEND = "/suivi/subventions/{grant_id:int}/echeancier"
DEADLINES = "/suivi/subventions/{grant_id:int}/delais"
REVIEW_REPORT = "/suivi/subventions/{grant_id:int}/bilans/{kind:str}"
REDUCTION = "/suivi/subventions/{grant_id:int}/reduction"
NOTICE = "/suivi/subventions/{grant_id:int}/avis/{notice_id:int}"
OPEN_RECOVERY = "/suivi/subventions/{grant_id:int}/reversements"
BANK_DETAILS = "/suivi/subventions/{grant_id:int}/coordonnees-bancaires"

ID = re.compile(r"[0-9]{1,9}")
EXPORTS = {
    "subventions": N_("grants"),
    "echeances": N_("instalments"),
    "versements": N_("payments"),
}


# --- Dashboard and exports --------------------------------------------------------------------


def _scope(funder: str | None, call: str | None) -> tuple[int | None, int | None]:
    def number(value: str | None) -> int | None:
        return int(value) if value and ID.fullmatch(value) else None

    return number(funder), number(call)


@get(DASHBOARD, name="grants:dashboard")
async def finance_dashboard(
    request: Request,
    financeur: FromQuery[str | None] = None,
    appel: FromQuery[str | None] = None,
) -> Template:
    funder, call = _scope(financeur, appel)
    # A person following the grants of some funders only sees their figures alone.
    funders = funders_for(request.user, "follow_grants")
    today = datetime.now(UTC).date()
    seen = await versions.finance()  # before the data (core.web.kept_part)

    async def context() -> dict:
        total = await dashboard.summary(funder=funder, call=call, funders=funders)
        months = await dashboard.monthly_payments(funder=funder, call=call, funders=funders)
        query = {k: v for k, v in (("financeur", funder), ("appel", call)) if v}
        return {
            "total": total,
            "months": months,
            "month_bars": dashboard.bars(months[-24:]),
            "month_ticks": dashboard.ticks(months[-24:]),
            "call_bars": dashboard.call_bars(total),
            "lists": await dashboard.worklists(today, funder=funder, call=call, funders=funders),
            "call_grants": await dashboard.grants_of_call(call, funders=funders) if call else [],
            "funders": [f for f in await list_funders() if funders is None or f["id"] in funders],
            "filters": {"financeur": funder, "appel": call},
            "export_query": ("?" + urlencode(query)) if query else "",
            "all_calls": await dashboard.published_calls(funders=funders),
            "kind_labels": followup.KIND_LABELS,
        }

    # Kept rendered while the grants' money, the calls, names and the day are the same.
    part = await kept_part(request, "grants/_dashboard.html", seen=seen, context=context, key=today)
    return render(request, "grants/dashboard.html", part=part)


@get(EXPORT, name="grants:export")
async def export(
    request: Request,
    file: FromPath[str],
    settings: NamedDependency[Settings],
    financeur: FromQuery[str | None] = None,
    appel: FromQuery[str | None] = None,
) -> Stream | File:
    """Grants, instalments or payments (the ledger) for the accounting system, as CSV
    or XLSX: streamed in pages of 500 rows; amounts in euros with two decimals."""
    stem, _dot, extension = file.partition(".")
    if stem not in EXPORTS or extension not in ("csv", "xlsx"):
        raise NotFoundException()
    funder, call = _scope(financeur, appel)
    header, rows = dashboard.export_rows(
        stem, funder, call, funders=funders_for(request.user, "follow_grants")
    )
    return await table_response(extension, settings.data_dir / "tmp", stem, header, rows)


# --- A grant, for staff ------------------------------------------------------------------------


@get(GRANT, name="grants:grant")
async def grant_page(request: Request, grant_id: FromPath[int]) -> Template:
    grant = await grant_or_404(request, grant_id)
    return await pages.staff_page(request, grant, key=uuid.uuid4().hex)


@post(BANK_DETAILS, name="grants:bank-details")
async def reveal_bank_details(
    request: Request, grant_id: FromPath[int], actor: NamedDependency[Actor]
) -> Template:
    """« Afficher »: the page again with the full IBAN and BIC, recorded in the audit
    trail each time (a POST: it writes)."""
    grant = await grant_or_404(request, grant_id)
    shown = await bank.reveal(grant.id, grant.organisation, actor=actor)
    return await pages.staff_page(request, grant, key=uuid.uuid4().hex, bank_details=shown)


BANK = Router(
    path="",
    route_handlers=[reveal_bank_details],
    guards=[requires("read_bank_details")],
    include_in_schema=False,
)

FOLLOWING = Router(
    path="",
    route_handlers=[finance_dashboard, export, grant_page],
    guards=[requires("follow_grants")],
    include_in_schema=False,
)


# --- What officers do on a grant ----------------------------------------------------------------


@post(INSTALMENT, name="grants:instalment")
async def instalment_action(
    request: Request,
    grant_id: FromPath[int],
    instalment_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await grant_or_404(request, grant_id)
    action = data.get("action", "")
    return await act(
        request,
        grants.transition_instalment(
            grant_id,
            instalment_id,
            action,
            role="officer",
            actor=actor,
            reason=data.get("reason", ""),
        ),
        back=at(grant_id, "#instalments"),
        done=_("The instalment is approved for payment.")
        if action == "approve"
        else _("The instalment is cancelled."),
    )


@post(AMEND, name="grants:amend")
async def amend(
    request: Request,
    grant_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    """An amendment (avenant): the typed amounts of the instalments it changes."""
    await grant_or_404(request, grant_id)
    amounts = {}
    for name, raw in data.items():
        instalment_id = whole_number(name.removeprefix("amount_"))
        if name.startswith("amount_") and instalment_id is not None:
            try:
                amounts[instalment_id] = parse_amount(raw)
            except AmountError:
                flash(request, _("Enter an amount in euros, e.g. 60 000,00."), "error")
                return back(grant_id, "#instalments")
    return await act(
        request,
        grants.amend_schedule(grant_id, amounts, reason=data.get("reason", ""), actor=actor),
        back=at(grant_id, "#instalments"),
        done=_("The schedule is amended; the earlier version is kept."),
    )


@post(DEADLINES, name="grants:deadlines")
async def deadlines(
    request: Request,
    grant_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await grant_or_404(request, grant_id)
    try:
        interim = parse_date(data["interim"]) if data.get("interim") else None
        final = parse_date(data["final"]) if data.get("final") else None
    except ValueError:
        flash(request, _("Enter a date, e.g. 17/05/2017."), "error")
        return back(grant_id, "#reports")
    return await act(
        request,
        grants.set_deadlines(grant_id, interim, final, actor=actor),
        back=at(grant_id, "#reports"),
        done=_("The report deadlines are saved."),
    )


@post(REVIEW_REPORT, name="grants:review-report")
async def review_report(
    request: Request,
    grant_id: FromPath[int],
    kind: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Redirect:
    await grant_or_404(request, grant_id)
    if kind not in reports.KINDS:
        raise NotFoundException()
    approve = data.get("decision") == "approve"
    return await act(
        request,
        reports.review(
            grant_id,
            kind,
            approve=approve,
            message=data.get("message", ""),
            actor=actor,
            base_url=settings.base_url,
        ),
        back=at(grant_id, "#reports"),
        done=_("The report is approved.") if approve else _("The report is sent back."),
    )


@post(REDUCTION, name="grants:reduce")
async def reduce(
    request: Request,
    grant_id: FromPath[int],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Redirect:
    """The proportional reduction, from the approved final report's actual spending;
    the grantee is sent its notice (reason, amount to repay, deadline, appeal routes)."""
    await grant_or_404(request, grant_id)
    try:
        result = await reports.apply_final_reduction(grant_id, actor=actor)
    except DomainError as exc:
        flash(request, exc.text(), "error")
        return back(grant_id, "#reports")
    if result.reduction_cents:
        await notices.issue_reduction_notice(
            grant_id,
            storage=files,
            base_url=settings.base_url,
            actor=actor,
            today=now(),
        )
    if result.reduction_cents == 0:
        flash(request, _("The actual spending is not below the forecast: no reduction."))
    elif result.recovery_cents:
        flash(
            request,
            _(
                "The grant is reduced by %(reduction)s; %(recovery)s was paid too much: a recovery is opened."
            )
            % {
                "reduction": format_amount(result.reduction_cents),
                "recovery": format_amount(result.recovery_cents),
            },
        )
    else:
        flash(
            request,
            _("The grant is reduced by %(reduction)s: the last instalment shrinks.")
            % {"reduction": format_amount(result.reduction_cents)},
        )
    return back(grant_id, "#instalments")


@post(OPEN_RECOVERY, name="grants:open-recovery")
async def open_recovery(
    request: Request,
    grant_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    """A recovery opened by hand (not through the final report): the grant is reduced
    by its amount and the grantee is sent the notice (reason, amount, deadline, how to
    pay, appeal routes). Refused, the page comes back with what was typed."""
    grant = await grant_or_404(request, grant_id)
    form = FormState(values=dict(data), prefix="open-recovery")
    amount = 0
    try:
        amount = parse_amount(data.get("amount", ""))
    except AmountError:
        form.error("amount", _("Enter an amount in euros, e.g. 60 000,00."))
    if form.ok:
        try:
            await grants.open_recovery(
                grant_id, amount_cents=amount, reason=data.get("reason", ""), actor=actor
            )
        except DomainError as exc:
            form.refuse(exc, "amount")
    if not form.ok:
        return await pages.staff_page(
            request, grant, key=uuid.uuid4().hex, recovery_form=form, status_code=422
        )
    await notices.issue_recovery_notice(
        grant_id, storage=files, base_url=settings.base_url, actor=actor, today=now()
    )
    flash(
        request,
        _("A recovery of %(amount)s is opened; the grantee is sent the notice.")
        % {"amount": format_amount(amount)},
    )
    return back(grant_id, "#recoveries")


@get(NOTICE, name="grants:notice")
async def notice_download(
    request: Request,
    grant_id: FromPath[int],
    notice_id: FromPath[int],
    files: NamedDependency[FileStorage],
) -> Response:
    """A notice as sent: the organisation's members and the staff."""
    await grant_or_404(request, grant_id)
    found = await notices.notice(grant_id, notice_id)
    if found is None:
        raise NotFoundException()
    return files.download(
        found["storage_id"], filename=found["filename"], content_type="application/pdf"
    )


NOTICES = Router(path="", route_handlers=[notice_download], include_in_schema=False)

INSTRUCTION = Router(
    path="",
    route_handlers=[instalment_action, amend, deadlines, review_report, reduce, open_recovery],
    guards=[requires("instruct_grant")],
    include_in_schema=False,
)

ROUTES = [
    FOLLOWING,
    BANK,
    INSTRUCTION,
    NOTICES,
    payment_routes.PAYMENTS,
    report_routes.REPORTS,
    *agreement_routes.ROUTES,
    batch_routes.BATCH_ROUTES,
]
