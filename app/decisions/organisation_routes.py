"""The organisation's side of a decision: the decision and its letters, the online
acceptance of an award, the signed agreement (its members; staff read the agreement)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.applications import states as application_states
from app.applications.deps import own_application, visible_application
from app.core import storage
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.storage import FileStorage
from app.core.web import flash, path_to, render
from app.decisions import jobs, pages
from app.grants import agreements, followup
from app.grants import services as grants
from app.grants.agreements import AgreementError
from app.grants.models import GrantRecord
from app.grants.pages import altered_response
from app.grants.services import GrantError
from app.settings import Settings

MY_DECISION = "/dossiers/{app_id:int}/decision"
MY_LETTER = "/dossiers/{app_id:int}/courriers/{letter_id:int}"
ACCEPT = "/dossiers/{app_id:int}/acceptation"
AGREEMENT = "/dossiers/{app_id:int}/convention"

MAX_AGREEMENT = 20 * storage.MB


async def _my_page(
    request: Request, app: Any, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    decision = await pages.published(app.id)
    grant = await grants.grant_of(app.id)
    follow = (
        await followup.context(await grants.grant_for(request.user, grant.id), internal=False)
        if grant
        else {}
    )
    return render(
        request,
        "decisions/mine.html",
        status_code=status_code,
        app=app,
        decision=decision,
        **{**follow, "grant": grant},
        letters=await jobs.letters_of(app.id),
        agreement_wanted=bool(grant and grant.agreement_required),
        reports_open=bool(grant and grant.accepted),
        form=form or FormState(prefix="accept"),
        labels=application_states.LABELS,
    )


@get(MY_DECISION, name="decisions:mine")
async def my_decision(request: Request, app_id: FromPath[int]) -> Template:
    return await _my_page(request, await own_application(request, app_id))


@get(MY_LETTER, name="decisions:my-letter")
async def my_letter(
    request: Request,
    app_id: FromPath[int],
    letter_id: FromPath[int],
    files: NamedDependency[FileStorage],
) -> Response:
    await own_application(request, app_id)
    return await pages.letter_download(files, app_id, letter_id)


async def _grant_of_published(app_id: int) -> GrantRecord:
    await pages.published(app_id)
    grant = await grants.grant_of(app_id)
    if grant is None:
        raise NotFoundException()
    return grant


# The acceptance form tells every missing answer at once, beside its field (the grants
# service, which checks them too, stops at the first).
_MISSING_ANSWERS = {
    "signatory_name": N_("Enter the name of the person who signs."),
    "signatory_capacity": N_("Enter their capacity, e.g. President."),
    "conditions": N_("Tick the box to accept the conditions."),
}


@post(ACCEPT, name="decisions:accept")
async def accept(
    request: Request,
    app_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    app = await own_application(request, app_id)
    grant = await _grant_of_published(app_id)
    form = FormState(values=dict(data), prefix="accept")
    for field, message in _MISSING_ANSWERS.items():
        given = data.get(field) == "yes" if field == "conditions" else data.get(field, "").strip()
        if not given:
            form.error(field, _(message))
    if not form.ok:
        return await _my_page(request, app, form=form, status_code=422)
    try:
        await grants.accept(
            grant.id,
            signatory_name=data.get("signatory_name", ""),
            signatory_capacity=data.get("signatory_capacity", ""),
            conditions_ticked=data.get("conditions") == "yes",
            user_id=request.user.id,
            actor=actor,
        )
    except GrantError as exc:
        text, field = pages.refusal(exc)
        form.error(field or (exc.code if exc.code in _MISSING_ANSWERS else "signatory_name"), text)
        return await _my_page(request, app, form=form, status_code=422)
    flash(request, _("You have accepted the grant. Its follow-up starts now."))
    return Redirect(path_to(MY_DECISION, app_id=app_id), status_code=303)


@post(
    AGREEMENT,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_AGREEMENT),
    name="decisions:agreement",
)
async def upload_agreement(
    request: Request,
    app_id: FromPath[int],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Redirect:
    """The signed agreement (PDF), streamed to storage (CSRF checked while reading); an
    officer checks it before it is in force."""
    await own_application(request, app_id)
    grant = await _grant_of_published(app_id)
    error = await _receive_agreement(
        request, grant, actor=actor, files=files, base_url=settings.base_url
    )
    if error:
        flash(request, error, "error")
    else:
        flash(request, _("The signed agreement is received: the department checks it."))
    return Redirect(path_to(MY_DECISION, app_id=app_id) + "#agreement", status_code=303)


async def _receive_agreement(
    request: Request, grant: GrantRecord, *, actor: Actor, files: FileStorage, base_url: str
) -> str | None:
    """Store the uploaded agreement and record it on the grant; the refusal, if any."""
    if not grant.accepted:
        return _("Accept the grant before sending the signed agreement.")
    try:
        received = await storage.receive_upload(request, max_bytes=MAX_AGREEMENT, kinds={"pdf"})
    except (storage.UploadRefused, storage.UploadTooLarge) as exc:
        return exc.text()
    stored = received.file("file")
    if stored is None:
        return _("Choose the signed agreement (PDF).")
    try:
        await agreements.receive_upload(
            grant.id,
            storage_id=stored.storage_id,
            name=stored.filename,
            sha256=stored.sha256,
            actor=actor,
            base_url=base_url,
        )
    except (GrantError, AgreementError) as exc:
        files.delete(stored.storage_id)
        return pages.refusal(exc)[0]
    except BaseException:
        files.delete(stored.storage_id)
        raise
    return None


@get(AGREEMENT, name="decisions:agreement-download")
async def agreement_download(
    request: Request, app_id: FromPath[int], files: NamedDependency[FileStorage]
) -> Response:
    """The agreement in force: the organisation's members and the staff; refused when
    the stored file no longer matches its fingerprint."""
    await visible_application(request, app_id)
    grant = await grants.grant_of(app_id)
    if grant is None or not grant.agreement_file:
        raise NotFoundException()
    if not await agreements.verify(files, grant.agreement_file, grant.agreement_sha256):
        return altered_response(request)
    return files.download(
        grant.agreement_file, filename=grant.agreement_name, content_type="application/pdf"
    )


ORGANISATIONS = Router(
    path="",
    include_in_schema=False,
    route_handlers=[my_decision, my_letter, accept, upload_agreement, agreement_download],
)
