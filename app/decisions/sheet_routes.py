"""The committee's sheet (officers): a compact table of the call's files, filtered by
the query string, the totals of the envelope, decisions for the files ticked (one
form, one service call), one row's own form when it is edited, and the annex to the
deliberation (PDF, XLSX). Every form keeps the sheet's filters in its action."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import anyio
import anyio.to_process
from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.applications import states as application_states
from app.applications.deps import visible_application
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import get_locale, ngettext
from app.core.i18n import gettext as _
from app.core.money import amount_input, format_amount
from app.core.numbers import NumberError, parse_decimal, whole_number
from app.core.storage import content_disposition
from app.core.web import flash, is_partial_request, path_to, render
from app.decisions import annex, committee, jobs, pages, services
from app.decisions.committee import DECISION_FILTERS, SheetFilters, SheetRow
from app.decisions.models import DECIDED_LABELS, OUTCOME_LABELS
from app.decisions.pages import call_or_404
from app.decisions.services import CommitteeSettings, DecisionError
from app.grants import schedule as schedules
from app.grants.schedule import ScheduleError
from app.reviews.ranking import RANKED

SHEET = "/instruction/appels/{call_id:int}/decisions"
SHEET_SETTINGS = "/instruction/appels/{call_id:int}/decisions/reglages"
BULK = "/instruction/appels/{call_id:int}/decisions/lot"
ANNEX_PDF = "/instruction/appels/{call_id:int}/decisions/annexe.pdf"
ANNEX_XLSX = "/instruction/appels/{call_id:int}/decisions/annexe.xlsx"
DECISION = "/instruction/dossiers/{app_id:int}/decision"

FILTER_NAMES = ("decision", "status", "mark_min", "mark_max", "q")
TWENTY = Decimal(20)


def sheet_filters(params: dict[str, str]) -> tuple[SheetFilters, FormState]:
    """The sheet's filters from the query string; a mark that is not one, shown on its
    field (the other filters apply)."""
    form = FormState(
        values={k: (params.get(k) or "").strip()[:100] for k in FILTER_NAMES}, prefix="filter"
    )
    values = form.values
    filters = SheetFilters(
        decision=values["decision"] if values["decision"] in DECISION_FILTERS else "",
        status=values["status"] if values["status"] in RANKED else "",
        q=values["q"],
    )
    for name, label in (("mark_min", _("Mark from")), ("mark_max", _("to"))):
        if not values[name]:
            continue
        try:
            mark = parse_decimal(values[name], max_digits=6)
        except NumberError:
            mark = None
        if mark is None or not 0 <= mark <= TWENTY:
            form.error(name, _("Enter a mark between 0 and 20, e.g. 12,5."), label=label)
            continue
        setattr(filters, name, mark)
    return filters, form


def _query(form: FormState, **extra: object) -> str:
    """The sheet's query string (its filters, then ``extra``), with its « ? »."""
    params = {k: v for k, v in form.values.items() if v} | {
        k: str(v) for k, v in extra.items() if v is not None
    }
    return f"?{urlencode(params)}" if params else ""


def _row_form(row: SheetRow) -> FormState:
    decision = row.decision
    amount = decision.amount_cents if decision and decision.is_award else None
    return FormState(
        values={
            "outcome": decision.outcome if decision else "",
            "amount": amount_input(amount if amount else row.file.requested_cents),
            "reason": decision.reason if decision else "",
        },
        prefix=f"d{row.id}",
    )


def _settings_values(settings: CommitteeSettings) -> dict[str, str]:
    when = settings.deliberation_date
    return {
        "deliberation_reference": settings.deliberation_reference,
        "deliberation_date": when.isoformat() if when else "",
        "place": settings.place,
        "signatory_name": settings.signatory_name,
        "signatory_title": settings.signatory_title,
        "share_reviews": "yes" if settings.share_reviews else "",
        "agreement_required": "yes" if settings.agreement_required else "",
        "conditions": settings.conditions,
        **schedules.form_values(dict(settings.default_schedule)),
    }


def _row_context(filter_form: FormState) -> dict:
    return {
        "outcomes": OUTCOME_LABELS,
        "decided": DECIDED_LABELS,
        "labels": application_states.LABELS,
        "filter_query": _query(filter_form),
        "filter_form": filter_form,
    }


async def _sheet_page(
    request: Request,
    call: dict,
    params: dict[str, str],
    *,
    settings_form: FormState | None = None,
    status_code: int = 200,
    edit: int | None = None,
    edit_form: FormState | None = None,
    bulk: FormState | None = None,
    ticked: frozenset[int] | None = None,
    tick_all: bool = False,
) -> Template:
    """The sheet as filtered by ``params`` (its query string); ``edit``: the row whose
    form is open (``edit_form``: as typed, refused); ``bulk`` and ``ticked``: a bulk
    action shown again as it was sent; ``tick_all``: every row it may take ticked."""
    settings = await services.settings_for(call["id"])
    if settings_form is None:
        settings_form = FormState(values=_settings_values(settings), prefix="sheet")
    filters, filter_form = sheet_filters(params)
    rows = await committee.sheet_rows(call["id"], filters)
    if tick_all:
        ticked = frozenset(row.id for row in rows if row.selectable)
    if edit is not None and edit_form is None:
        row = next((r for r in rows if r.id == edit), None)
        edit_form = _row_form(row) if row is not None and not row.locked else None
        edit = edit if edit_form is not None else None
    return render(
        request,
        "decisions/sheet.html",
        status_code=status_code,
        call=call,
        rows=rows,
        editing=edit,
        edit_form=edit_form,
        saved=None,
        totals=await services.totals(call["id"]),
        pending=await services.pending(call["id"]),
        job=await jobs.job_of(call["id"]),
        form=settings_form,
        settings=settings,
        bulk=bulk or FormState(prefix="bulk"),
        ticked=ticked or frozenset(),
        selectable=sum(row.selectable for row in rows),
        decision_filters=[(v, _(label)) for v, label in DECISION_FILTERS.items()],
        statuses=[(v, _(application_states.LABELS[v])) for v in RANKED],
        max_bulk=committee.MAX_BULK,
        **_row_context(filter_form),
        **pages.schedule_context(),
    )


async def _row_page(
    request: Request, call: dict, row: SheetRow, params: dict[str, str], *, edit: bool
) -> Template:
    """One row, for htmx to swap in place: its form open (``edit``) or closed."""
    _filters, filter_form = sheet_filters(params)
    return render(
        request,
        "decisions/_row.html",
        call=call,
        row=row,
        editing=row.id if edit and not row.locked else None,
        edit_form=_row_form(row) if edit else None,
        saved=None,
        ticked=frozenset(),
        **_row_context(filter_form),
    )


@get(SHEET, name="decisions:sheet")
async def sheet(request: Request, call_id: FromPath[int]) -> Template:
    """The sheet; ``edit=<file>`` opens that row's form (htmx: only that row comes
    back; ``row=<file>`` gives it back closed)."""
    call = await call_or_404(call_id)
    params = dict(request.query_params)
    edit = whole_number(params.get("edit"))
    shown = whole_number(params.get("row"))
    if is_partial_request(request) and (edit or shown):
        row = next((r for r in await committee.sheet_rows(call_id) if r.id in (edit, shown)), None)
        if row is not None:
            return await _row_page(request, call, row, params, edit=edit is not None)
    return await _sheet_page(request, call, params, edit=edit)


@post(SHEET_SETTINGS, name="decisions:settings")
async def save_settings(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await call_or_404(call_id)
    form = FormState(values=dict(data), prefix="sheet")
    try:
        await services.save_settings(call_id, data, actor=actor)
    except ScheduleError as exc:
        pages.refuse_schedule(form, exc)
    except DecisionError as exc:
        form.refuse(exc, field="deliberation_reference")
    if not form.ok:
        return await _sheet_page(request, call, {}, settings_form=form, status_code=422)
    flash(request, _("The committee's settings are saved."))
    return Redirect(path_to(SHEET, call_id=call_id) + "#settings", status_code=303)


@post(DECISION, name="decisions:decide")
async def decide(
    request: Request,
    app_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """One row of the sheet. htmx: the row and the totals come back; else the sheet,
    with the filters of the form's query string."""
    file = await visible_application(request, app_id)
    params = dict(request.query_params)
    form = FormState(values=dict(data), prefix=f"d{app_id}")
    outcome = data.get("outcome", "")
    try:
        await services.decide(
            app_id,
            outcome=outcome,
            amount=services.read_amount(data.get("amount", "")) if outcome == "award" else None,
            reason=data.get("reason", ""),
            actor=actor,
        )
    except DecisionError as exc:
        form.refuse(exc, field="outcome")
    call = await call_or_404(file.call)
    if is_partial_request(request):
        row = next((r for r in await committee.sheet_rows(file.call) if r.id == app_id), None)
        if row is not None:
            _filters, filter_form = sheet_filters(params)
            # htmx swaps the row either way; a 200 keeps browsers from logging an error.
            return render(
                request,
                "decisions/_row_update.html",
                row=row,
                editing=None if form.ok else app_id,
                edit_form=None if form.ok else form,
                # Focus comes back to the row saved (htmx honours autofocus).
                saved=app_id if form.ok else None,
                ticked=frozenset(),
                call=call,
                totals=await services.totals(file.call),
                pending=await services.pending(file.call),
                **_row_context(filter_form),
            )
    if not form.ok:
        return await _sheet_page(
            request, call, params, status_code=422, edit=app_id, edit_form=form
        )
    flash(request, _("The decision on %(reference)s is saved.") % {"reference": file.reference})
    _filters, filter_form = sheet_filters(params)
    return Redirect(
        path_to(SHEET, call_id=file.call) + _query(filter_form) + f"#row-{app_id}",
        status_code=303,
    )


def _ids(data: FormMultiDict) -> list[int]:
    return [i for v in data.getall("ids", []) if (i := whole_number(v)) is not None]


@post(BULK, name="decisions:bulk")
async def bulk(
    request: Request, call_id: FromPath[int], actor: NamedDependency[Actor]
) -> Template | Redirect:
    """The files ticked: « accorder le montant demandé » or « refuser » with one reason
    (all of them or none), or tick every row shown, or none (without JavaScript)."""
    call = await call_or_404(call_id)
    params = dict(request.query_params)
    data = await request.form()
    action = data.get("action", "")
    ids = _ids(data)
    kept = FormState(values={"reason": data.get("reason", "")}, prefix="bulk")
    if action in ("select-all", "select-none"):
        return await _sheet_page(
            request,
            call,
            params,
            bulk=kept,
            ticked=frozenset(),
            tick_all=action == "select-all",
        )
    try:
        result = await committee.decide_many(
            call_id, ids, action, reason=data.get("reason", ""), actor=actor
        )
    except DecisionError as exc:
        kept.refuse(exc, field="ids")
        return await _sheet_page(
            request, call, params, bulk=kept, ticked=frozenset(ids), status_code=422
        )
    if result.outcome == "award":
        message = ngettext(
            "%(num)d file awarded the amount requested (%(amount)s in all).",
            "%(num)d files awarded the amount requested (%(amount)s in all).",
            result.count,
        )
    else:
        message = ngettext("%(num)d file rejected.", "%(num)d files rejected.", result.count)
    flash(request, message % {"num": result.count, "amount": format_amount(result.amount_cents)})
    _filters, filter_form = sheet_filters(params)
    return Redirect(path_to(SHEET, call_id=call_id) + _query(filter_form), status_code=303)


# --- The annex to the deliberation ------------------------------------------------------------


@get(ANNEX_PDF, name="decisions:annex-pdf")
async def annex_pdf(request: Request, call_id: FromPath[int]) -> Response:
    await call_or_404(call_id)
    content = await annex.annex_of(call_id, get_locale())
    # ~1 s of CPU for 300 files: in a worker process, not the server's thread.
    data = await anyio.to_process.run_sync(annex.render_pdf, content, cancellable=False)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(content.filename("pdf"))},
    )


@get(ANNEX_XLSX, name="decisions:annex-xlsx")
async def annex_xlsx(request: Request, call_id: FromPath[int]) -> Response:
    await call_or_404(call_id)
    content = await annex.annex_of(call_id, get_locale())
    data = await anyio.to_thread.run_sync(annex.render_xlsx, content)
    return Response(
        data,
        media_type=annex.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": content_disposition(content.filename("xlsx"))},
    )


HANDLERS = [sheet, save_settings, decide, bulk, annex_pdf, annex_xlsx]
