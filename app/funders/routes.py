"""Funders' letterhead and legal texts (admin): name, address and logo printed on every
letter; the service, signatory, appeal routes and SIRET; a sample letter to check them."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import requires
from app.core import storage
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.storage import FileStorage
from app.core.time import now
from app.core.web import flash, path_to, render
from app.decisions import letters
from app.funders import services
from app.settings import Settings

FUNDERS = "/admin/financeurs"
FUNDER = "/admin/financeurs/{funder_id:int}"
FUNDER_LOGO = "/admin/financeurs/{funder_id:int}/logo"
FUNDER_LEGAL = "/admin/financeurs/{funder_id:int}/mentions"
FUNDER_SIGNATURE = "/admin/financeurs/{funder_id:int}/signature"
FUNDER_PREVIEW = "/admin/financeurs/{funder_id:int}/apercu.pdf"
MAX_LOGO = 2 * storage.MB


async def _funder(funder_id: int) -> dict:
    funder = await services.get_funder(funder_id)
    if funder is None:
        raise NotFoundException()
    return funder


@get(FUNDERS, name="funders:list")
async def funders(request: Request) -> Template:
    return render(request, "admin/funders.html", funders=await services.list_funders())


async def _page(
    request: Request,
    funder: dict,
    form: FormState | None = None,
    legal_form: FormState | None = None,
    status_code: int = 200,
):
    form = form or FormState(
        values={k: funder[k] or "" for k in ("name", "address", "website")}, prefix="funder"
    )
    if legal_form is None:
        legal = await services.legal_of(funder["id"])
        legal_form = FormState(values=services.legal_form_values(legal), prefix="legal")
    return render(
        request,
        "admin/funder.html",
        status_code=status_code,
        funder=funder,
        form=form,
        legal_form=legal_form,
    )


@get(FUNDER, name="funders:detail")
async def funder_page(request: Request, funder_id: FromPath[int]) -> Template:
    return await _page(request, await _funder(funder_id))


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
        return await _page(request, funder, form, status_code=422)
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
    return await _replace_image(
        request,
        funder_id,
        files,
        services.set_logo,
        actor=actor,
        anchor="#logo",
        saved=_("The logo is saved."),
        removed=_("The logo is removed."),
    )


async def _replace_image(
    request: Request,
    funder_id: int,
    files: FileStorage,
    setter,
    *,
    actor: Actor,
    anchor: str,
    saved: str,
    removed: str,
) -> Redirect:
    """Store the uploaded image (or none, with ``remove=yes``) through ``setter``, which
    returns the image it replaced; that one is deleted once the new one is saved."""
    await _funder(funder_id)
    back = Redirect(path_to(FUNDER, funder_id=funder_id) + anchor, status_code=303)
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
        previous = await setter(funder_id, stored.storage_id if stored else None, actor=actor)
    except BaseException:
        if stored is not None:
            files.delete(stored.storage_id)
        raise
    if previous:
        files.delete(previous)
    flash(request, saved if stored else removed)
    return back


@post(FUNDER_LEGAL, name="funders:legal")
async def update_legal(
    request: Request,
    funder_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """The service, signatory, appeal routes, deliberating body and SIRET."""
    funder = await _funder(funder_id)
    refused = await services.update_legal(funder_id, data, actor=actor)
    if refused:
        form = FormState(values=dict(data), prefix="legal")
        for exc in refused:
            form.refuse(exc)
        return await _page(request, funder, legal_form=form, status_code=422)
    flash(request, _("The legal texts and contacts are saved."))
    return Redirect(path_to(FUNDER, funder_id=funder_id) + "#legal", status_code=303)


@post(
    FUNDER_SIGNATURE,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_LOGO),
    name="funders:signature",
)
async def signature(
    request: Request,
    funder_id: FromPath[int],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
) -> Redirect:
    """The signatory's signature image (PNG or JPEG, streamed, CSRF checked while
    reading), or none."""
    return await _replace_image(
        request,
        funder_id,
        files,
        services.set_signature,
        actor=actor,
        anchor="#signature",
        saved=_("The signature is saved."),
        removed=_("The signature is removed."),
    )


@get(FUNDER_PREVIEW, name="funders:preview")
async def preview(
    funder_id: FromPath[int],
    settings: NamedDependency[Settings],
    kind: FromQuery[str] = "award",
) -> Response:
    """A sample letter with the saved settings (award, or ``?kind=rejection``)."""
    data = await letters.funder_preview(
        funder_id,
        base_url=settings.base_url,
        data_dir=settings.data_dir,
        today=now(),
        kind="award" if kind != "rejection" else "rejection",
    )
    if data is None:
        raise NotFoundException()
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="apercu.pdf"'},
    )


ROUTES = [
    Router(
        path="",
        route_handlers=[funders, funder_page, update, logo, update_legal, signature, preview],
        guards=[requires("administer")],
        include_in_schema=False,
    )
]
