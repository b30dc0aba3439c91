"""Payment batches for finance staff: pick approved instalments (all or some), export
the batch for the accounting system (CSV or XLSX, as often as needed), mark it paid
once the mandate is issued (``batches``)."""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Stream, Template

from app.accounts.guards import requires
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.exports import table_response
from app.core.forms import FormState, parse_date
from app.core.i18n import gettext as _
from app.core.i18n import ngettext
from app.core.numbers import whole_number
from app.core.web import flash, path_to, render
from app.grants import batches
from app.grants.pages import today
from app.permissions import funders_for
from app.settings import Settings

BATCHES = "/finances/lots"
BATCH = "/finances/lots/{batch_id:int}"
BATCH_EXPORT = "/finances/lots/{batch_id:int}/export/{file:str}"
BATCH_PAID = "/finances/lots/{batch_id:int}/paiement"


def _scope(request: Request) -> frozenset[int] | None:
    """The funders whose instalments this person pays (None: every funder)."""
    return funders_for(request.user, "pay")


async def _list_page(
    request: Request, *, chosen: set[int], form: FormState | None = None, status_code: int = 200
) -> Template:
    return render(
        request,
        "grants/batches.html",
        status_code=status_code,
        candidates=await batches.candidates(funders=_scope(request)),
        batches=await batches.batches(funders=_scope(request)),
        chosen=chosen,
        form=form or FormState(values={}, prefix="batch"),
    )


@get(BATCHES, name="grants:batches")
async def batch_list(request: Request, tous: FromQuery[str | None] = None) -> Template:
    """The approved instalments to put in a batch (« Tout sélectionner » is a link:
    no script needed) and the latest batches."""
    page = await _list_page(request, chosen=set())
    if tous == "1":
        page.context["chosen"] = {c.id for c in page.context["candidates"]}
    return page


@post(BATCHES, name="grants:batch-create")
async def batch_create(request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
    data = await request.form()
    ids = [i for v in data.getall("instalment", []) if (i := whole_number(v)) is not None]
    try:
        batch_id = await batches.create_batch(ids, actor=actor, funders=_scope(request))
    except DomainError as exc:
        form = FormState(values={}, prefix="batch")
        form.refuse(exc, "instalment")
        return await _list_page(request, chosen=set(ids), form=form, status_code=422)
    flash(request, _("The batch is ready: export it for the accounting system."))
    return Redirect(path_to(BATCH, batch_id=batch_id), status_code=303)


async def _batch_or_404(request: Request, batch_id: int) -> batches.Batch:
    found = await batches.batch(batch_id, funders=_scope(request))
    if found is None:
        raise NotFoundException()
    return found


async def _batch_page(
    request: Request, batch_id: int, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    found = await _batch_or_404(request, batch_id)
    return render(
        request,
        "grants/batch.html",
        status_code=status_code,
        batch=found,
        line_labels=batches.LINE_LABELS,
        form=form or FormState(values={"value_date": today()}, prefix="paid"),
    )


@get(BATCH, name="grants:batch")
async def batch_page(request: Request, batch_id: FromPath[int]) -> Template:
    return await _batch_page(request, batch_id)


@get(BATCH_EXPORT, name="grants:batch-export")
async def batch_export(
    request: Request,
    batch_id: FromPath[int],
    file: FromPath[str],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Stream | File:
    """The batch as ``lot-<n>.csv`` or ``lot-<n>.xlsx``; each export is audited."""
    stem, _dot, extension = file.partition(".")
    if stem != f"lot-{batch_id}" or extension not in ("csv", "xlsx"):
        raise NotFoundException()
    await _batch_or_404(request, batch_id)
    try:
        header, rows = await batches.export_rows(batch_id, actor=actor)
    except DomainError:
        raise NotFoundException() from None
    return await table_response(extension, settings.data_dir / "tmp", stem, header, rows)


@post(BATCH_PAID, name="grants:batch-paid")
async def batch_paid(
    request: Request, batch_id: FromPath[int], actor: NamedDependency[Actor]
) -> Template | Redirect:
    """The mandate is issued: the batch's payments into the ledger (see ``batches``)."""
    await _batch_or_404(request, batch_id)
    data = await request.form()
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    form = FormState(values=values, prefix="paid")
    value_date = None
    try:
        value_date = parse_date(values.get("value_date", ""))
    except ValueError:
        form.error("value_date", _("Enter a date, e.g. 17/05/2017."))
    line_mandates = {
        line_id: value
        for name, value in values.items()
        if name.startswith("mandate_") and (line_id := whole_number(name[8:])) is not None
    }
    if form.ok:
        try:
            marked = await batches.mark_paid(
                batch_id,
                value_date=value_date,
                mandate_reference=values.get("mandate", ""),
                line_mandates=line_mandates,
                actor=actor,
            )
        except DomainError as exc:
            form.refuse(exc, "mandate")
        else:
            if marked.already:
                flash(request, _("This batch is already marked paid: nothing more recorded."))
            else:
                flash(
                    request,
                    ngettext("%(num)d payment recorded.", "%(num)d payments recorded.", marked.paid)
                    % {"num": marked.paid},
                )
                for name in marked.skipped:
                    flash(
                        request,
                        _("%(line)s was already paid otherwise: skipped.") % {"line": name},
                        "error",
                    )
            return Redirect(path_to(BATCH, batch_id=batch_id), status_code=303)
    return await _batch_page(request, batch_id, form=form, status_code=422)


BATCH_ROUTES = Router(
    path="",
    route_handlers=[batch_list, batch_create, batch_page, batch_export, batch_paid],
    guards=[requires("pay")],
    include_in_schema=False,
)
