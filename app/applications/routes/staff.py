"""The staff's pages of applications: a call's table, its exports, the file view,
screening (one file or many) and sending a file back « à compléter »."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import File, Redirect, Stream, Template

from app import versions
from app.accounts.guards import requires
from app.applications import services, states
from app.applications.deps import visible_application
from app.applications.receipts import Receipts
from app.applications.routes.pages import (
    SCREEN,
    SCREEN_BULK,
    SEND_BACK,
    STAFF_EXPORT,
    STAFF_EXPORT_XLSX,
    STAFF_FILE,
    STAFF_TABLE,
    staff_page,
)
from app.applications.services import ApplicationError, TableQuery
from app.calls import formspec
from app.calls import services as calls
from app.calls.services import CallError
from app.core.audit import Actor
from app.core.exports import table_response
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import ngettext
from app.core.money import AmountError, parse_amount, to_decimal
from app.core.numbers import whole_number
from app.core.storage import FileStorage
from app.core.time import TimeError, parse_paris
from app.core.versions import Seen
from app.core.web import flash, is_partial_request, kept_part, path_to, render
from app.settings import Settings

# --- The table ---------------------------------------------------------------------------------


def _table_query(params: dict[str, str]) -> tuple[TableQuery, FormState]:
    form = FormState(
        values={
            k: (params.get(k) or "").strip()[:100]
            for k in (
                *("status", "completes", "organisation", "q", "min", "max"),
                *("from", "to", "sort", "order"),
            )
        }
    )
    query = TableQuery(
        status=form.values["status"] if form.values["status"] in states.LABELS else "",
        answered=form.values["completes"] == "1",
        organisation=form.values["organisation"],
        q=form.values["q"],
        sort=form.values["sort"] if form.values["sort"] in services.SORTS else "reference",
        descending=form.values["order"] == "desc",
    )
    for name, attr in (("min", "min_cents"), ("max", "max_cents")):
        if form.values[name]:
            try:
                setattr(query, attr, parse_amount(form.values[name]))
            except AmountError as exc:
                label = _("Amount from (€)") if name == "min" else _("to (€)")
                form.refuse(formspec.amount_refused(exc, name), label=label)
    for name, attr, end in (("from", "submitted_from", False), ("to", "submitted_until", True)):
        if form.values[name]:
            try:
                setattr(
                    query,
                    attr,
                    parse_paris(form.values[name] + ("T23:59:59" if end else "T00:00")),
                )
            except TimeError:
                form.refuse(
                    formspec.FormError("date", formspec.DATE, name),
                    label=_("Submitted from") if name == "from" else _("to"),
                )
    query.page = whole_number(params.get("page")) or 1
    return query, form


async def _call(call_id: int) -> dict:
    call = await calls.get_call(call_id)
    if call is None:
        raise NotFoundException()
    return call


@get(STAFF_TABLE, name="applications:staff-table")
async def staff_table(request: Request, call_id: FromPath[int]) -> Template:
    seen = await versions.call_files(call_id)  # before the data (core.web.kept_part)
    return await _staff_table_page(
        request, await _call(call_id), dict(request.query_params), seen=seen
    )


async def _staff_table_page(
    request: Request,
    call: dict,
    filters: dict[str, str],
    *,
    bulk: FormState | None = None,
    ticked: frozenset[int] = frozenset(),
    tick_all: bool = False,
    status_code: int = 200,
    seen: Seen | None = None,
) -> Template:
    """The table as filtered by ``filters`` (the page's query string); ``bulk`` and
    ``ticked``: a refused bulk screening shown again as it was typed; ``tick_all``:
    every row shown ticked (« select all » without JavaScript)."""
    query, form = _table_query(filters)

    async def context() -> dict:
        rows, total = await services.staff_table(call["id"], query)
        return {
            "call": call,
            "rows": rows,
            "total": total,
            "form": form,
            "query": query,
            "pages": max(1, -(-total // services.PAGE_SIZE)),
            "labels": states.LABELS,
            "params": {k: v for k, v in form.values.items() if v},
            "sorts": list(services.SORTS),
            "bulk": bulk or FormState(prefix="bulk"),
            "ticked": frozenset(row.id for row in rows) if tick_all else ticked,
        }

    if is_partial_request(request):
        values = await context()
        return render(request, "applications/_staff_rows.html", status_code=status_code, **values)
    # Kept rendered while the call and its files are the same (``seen``: the page as
    # asked for; not a refused screening shown again as it was typed).
    part = await kept_part(request, "applications/_staff_table.html", seen=seen, context=context)
    return render(
        request, "applications/staff_table.html", status_code=status_code, call=call, part=part
    )


@get(STAFF_EXPORT, name="applications:staff-export")
async def staff_export(
    request: Request, call_id: FromPath[int], settings: NamedDependency[Settings]
) -> Stream | File:
    return await _staff_export(call_id, "csv", dict(request.query_params), settings)


@get(STAFF_EXPORT_XLSX, name="applications:staff-export-xlsx")
async def staff_export_xlsx(
    request: Request, call_id: FromPath[int], settings: NamedDependency[Settings]
) -> Stream | File:
    return await _staff_export(call_id, "xlsx", dict(request.query_params), settings)


async def _staff_export(
    call_id: int, extension: str, filters: dict[str, str], settings: Settings
) -> Stream | File:
    """The applications table as filtered on screen (``filters``: the page's query
    string), every page, as CSV or XLSX."""
    await _call(call_id)
    query, _form = _table_query(filters)

    async def rows() -> AsyncIterator[list]:
        async for row in services.iter_table(call_id, query):
            yield [
                row.reference or "",
                row.organisation_name,
                row.siret,
                row.title,
                _(states.LABELS[row.status]) if row.status in states.LABELS else row.status,
                row.status,
                to_decimal(row.requested_cents),
                row.submitted_at,
            ]

    return await table_response(
        extension,
        settings.data_dir / "tmp",
        f"dossiers-appel-{call_id}",
        [
            _("File number"),
            _("Organisation"),
            _("SIRET"),
            _("Project title"),
            _("Status"),
            _("Status (code)"),
            _("Amount requested (€)"),
            _("Submitted on"),
        ],
        rows(),
    )


# --- One file --------------------------------------------------------------------------------------


@get(STAFF_FILE, name="applications:staff-file")
async def staff_file(request: Request, app_id: FromPath[int]) -> Template:
    seen = await versions.staff_file(app_id)  # before the data (core.web.kept_part)
    return await staff_page(request, await visible_application(request, app_id), seen=seen)


@post(SEND_BACK, name="applications:send-back")
async def send_back(
    request: Request,
    app_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    app = await visible_application(request, app_id)
    form = FormState(
        values={"message": data.get("message", ""), "complete_by": data.get("complete_by", "")}
    )
    try:
        await services.request_completion(
            app_id,
            message=form.values["message"],
            complete_by=calls.paris_datetime(form.values["complete_by"], field="complete_by"),
            user=request.user,
            actor=actor,
            base_url=settings.base_url,
            receipts=Receipts(settings),
        )
    except (CallError, ApplicationError) as exc:
        form.refuse(exc, "complete_by")
        return await staff_page(request, app, form=form, status_code=422)
    flash(request, _("The file is sent back to the applicant."))
    return Redirect(path_to(STAFF_FILE, app_id=app_id), status_code=303)


@post(SCREEN, name="applications:screen")
async def screen(
    request: Request,
    app_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    """Eligible (recevable) or ineligible (irrecevable, with a reason), one file."""
    app = await visible_application(request, app_id)
    form = FormState(
        values={"decision": data.get("decision", ""), "reason": data.get("reason", "")},
        prefix="screening",
    )
    try:
        await services.screen(
            [app_id],
            form.values["decision"],
            reason=form.values["reason"],
            user=request.user,
            actor=actor,
            base_url=settings.base_url,
            files=FileStorage.from_settings(settings),
        )
    except ApplicationError as exc:
        form.refuse(exc, "decision")
        return await staff_page(request, app, screening_form=form, status_code=422)
    flash(request, _("The screening decision is recorded and sent to the applicant."))
    return Redirect(path_to(STAFF_FILE, app_id=app_id), status_code=303)


@post(SCREEN_BULK, name="applications:screen-bulk")
async def screen_bulk(
    request: Request,
    call_id: FromPath[int],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    """The same for the files ticked in the table: all of them or none. The form posts
    with the table's query string: its filters stay, after a refusal (with the ticks,
    the decision and the reason as typed) and after success. « Select all / none »
    (``select``) only shows the page again, every row shown ticked or none."""
    call = await _call(call_id)
    filters = dict(request.query_params)
    data = await request.form()
    if data.get("select") in ("all", "none"):
        kept = FormState(
            values={"decision": data.get("decision", ""), "reason": data.get("reason", "")},
            prefix="bulk",
        )
        return await _staff_table_page(
            request, call, filters, bulk=kept, tick_all=data.get("select") == "all"
        )
    ids = [i for v in data.getall("ids", []) if (i := whole_number(v)) is not None]
    mine = {row.id async for row in services.iter_table(call_id, TableQuery())}
    if any(i not in mine for i in ids):
        raise NotFoundException()
    decision = data.get("decision", "")
    try:
        count = await services.screen(
            ids,
            decision,
            reason=data.get("reason", ""),
            user=request.user,
            actor=actor,
            base_url=settings.base_url,
            files=FileStorage.from_settings(settings),
        )
    except ApplicationError as exc:
        bulk = FormState(
            values={"decision": decision, "reason": data.get("reason", "")}, prefix="bulk"
        )
        bulk.refuse(exc, "decision")
        return await _staff_table_page(
            request, call, filters, bulk=bulk, ticked=frozenset(ids), status_code=422
        )
    message = (
        ngettext("%(num)d file declared eligible.", "%(num)d files declared eligible.", count)
        if decision == "eligible"
        else ngettext(
            "%(num)d file declared ineligible.", "%(num)d files declared ineligible.", count
        )
    )
    flash(request, message % {"num": count})
    back = path_to(STAFF_TABLE, call_id=call_id)
    return Redirect(f"{back}?{urlencode(filters)}" if filters else back, status_code=303)


router = Router(
    path="/",
    route_handlers=[
        staff_table,
        staff_export,
        staff_export_xlsx,
        staff_file,
        send_back,
        screen,
        screen_bulk,
    ],
    guards=[requires("manage_calls")],
    include_in_schema=False,
)
