"""Funders' letterhead (admin): name, address and logo printed on every letter."""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import requires
from app.core import storage
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.storage import FileStorage
from app.core.web import flash, path_to, render
from app.funders import services

FUNDERS = "/admin/financeurs"
FUNDER = "/admin/financeurs/{funder_id:int}"
FUNDER_LOGO = "/admin/financeurs/{funder_id:int}/logo"
MAX_LOGO = 2 * storage.MB


async def _funder(funder_id: int) -> dict:
    funder = await services.get_funder(funder_id)
    if funder is None:
        raise NotFoundException()
    return funder


@get(FUNDERS, name="funders:list")
async def funders(request: Request) -> Template:
    return render(request, "admin/funders.html", funders=await services.list_funders())


def _page(request: Request, funder: dict, form: FormState | None = None, status_code: int = 200):
    form = form or FormState(
        values={k: funder[k] or "" for k in ("name", "address", "website")}, prefix="funder"
    )
    return render(request, "admin/funder.html", status_code=status_code, funder=funder, form=form)


@get(FUNDER, name="funders:detail")
async def funder_page(request: Request, funder_id: FromPath[int]) -> Template:
    return _page(request, await _funder(funder_id))


@post(FUNDER, name="funders:update")
async def update(
    request: Request,
    funder_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    funder = await _funder(funder_id)
    refused = await services.update_funder(funder_id, data, actor=actor)
    if refused:
        form = FormState(values=dict(data), prefix="funder")
        for exc in refused:
            form.refuse(exc)
        return _page(request, funder, form, status_code=422)
    flash(request, _("The letterhead is saved."))
    return Redirect(path_to(FUNDER, funder_id=funder_id), status_code=303)


@post(
    FUNDER_LOGO,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_LOGO),
    name="funders:logo",
)
async def logo(
    request: Request,
    funder_id: FromPath[int],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
) -> Redirect:
    """A new logo (PNG or JPEG, streamed, CSRF checked while reading), or none."""
    await _funder(funder_id)
    back = Redirect(path_to(FUNDER, funder_id=funder_id) + "#logo", status_code=303)
    try:
        received = await storage.receive_upload(
            request, max_bytes=MAX_LOGO, kinds={"image"}, text_fields=("remove",)
        )
    except (storage.UploadRefused, storage.UploadTooLarge) as exc:
        flash(request, exc.text(), "error")
        return back
    stored = received.file("file")
    if stored is None and received.fields.get("remove") != "yes":
        flash(request, _("Choose a PNG or JPEG image."), "error")
        return back
    try:
        previous = await services.set_logo(
            funder_id, stored.storage_id if stored else None, actor=actor
        )
    except BaseException:
        if stored is not None:
            files.delete(stored.storage_id)
        raise
    if previous:
        files.delete(previous)
    flash(request, _("The logo is saved.") if stored else _("The logo is removed."))
    return back


ROUTES = [
    Router(
        path="",
        route_handlers=[funders, funder_page, update, logo],
        guards=[requires("administer")],
        include_in_schema=False,
    )
]
