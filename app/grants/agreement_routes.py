"""The agreement's pages: a grant's agreement (its versions, the document to read and
its fingerprint, the organisation's signature, the funder's countersignature, the check
of an uploaded scan) for the organisation's members and staff; the articles' templates
of each funder and call, and the threshold, for staff."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import requires
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.money import AmountError, amount_input, parse_amount
from app.core.ratelimit import Limit, RateLimiter
from app.core.storage import FileStorage
from app.core.time import now
from app.core.web import act, flash, path_to, render
from app.funders.services import get_funder, list_funders
from app.grants import agreement_rule, agreement_text, agreements, amendments
from app.grants.pages import altered_response, grant_or_404
from app.grants.states import AGREEMENT, AGREEMENT_IN_FORCE, AGREEMENT_PENDING
from app.organisations.services import is_member
from app.permissions import can, funders_for
from app.settings import Settings

PAGE = "/suivi/subventions/{grant_id:int}/convention"
PDF = "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/{which:str}"
GENERATE = "/suivi/subventions/{grant_id:int}/convention/generer"
CODE = "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/code"
SIGN = "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/signature"
COUNTERSIGN = "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/contresignature"
CHECK = "/suivi/subventions/{grant_id:int}/convention/{agreement_id:int}/verification"
AMENDMENT = "/suivi/subventions/{grant_id:int}/convention/avenants/{amendment_id:int}"
TEMPLATES = "/suivi/conventions"
THRESHOLD = "/suivi/conventions/seuil"
FUNDER_TEMPLATE = "/suivi/conventions/financeurs/{funder_id:int}"
CALL_TEMPLATE = "/suivi/conventions/appels/{call_id:int}"

CODES = Limit("agreement_codes", agreements.CODES_PER_HOUR, 3600)

# The files of a version: the document to sign (or the scan), the signed PDF.
FILES = {"document": "document", "signee": "signed"}


async def _page(
    request: Request,
    grant_id: int,
    *,
    sign_form: FormState | None = None,
    counter_form: FormState | None = None,
    check_form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    grant = await grant_or_404(request, grant_id)
    versions = await agreements.agreements_of(grant.id)
    files = FileStorage.of_app(request.app)
    intact = {}
    for v in versions:
        if v.final_file:
            intact[v.id] = await agreements.verify(files, *v.final_file)
    member = await is_member(grant.organisation, request.user.id)
    current = next(
        (v for v in versions if v.status in AGREEMENT_PENDING | AGREEMENT_IN_FORCE), None
    )
    return render(
        request,
        "grants/agreement.html",
        status_code=status_code,
        grant=grant,
        versions=versions,
        current=current,
        intact=intact,
        member=member,
        labels=AGREEMENT.labels,
        can_generate=can(request.user, "instruct_grant", grant)
        and grant.agreement_required
        and (current is None or current.status == "to_sign"),
        to_draw=await amendments.amendments_to_draw(grant.id)
        if grant.agreement_file and can(request.user, "instruct_grant", grant)
        else [],
        code_sent=bool(
            current
            and current.code_user == request.user.id
            and current.code_expires_at
            and current.code_expires_at > now()
        ),
        sign_form=sign_form
        or FormState(
            values={
                "name": request.user.full_name,
            },
            prefix="sign",
        ),
        counter_form=counter_form or FormState(prefix="counter"),
        check_form=check_form or FormState(prefix="check"),
    )


@get(PAGE, name="grants:agreement")
async def agreement_page(request: Request, grant_id: FromPath[int]) -> Template:
    return await _page(request, grant_id)


@get(PDF, name="grants:agreement-pdf")
async def agreement_pdf(
    request: Request,
    grant_id: FromPath[int],
    agreement_id: FromPath[int],
    which: FromPath[str],
    files: NamedDependency[FileStorage],
) -> Response:
    """A version's document or signed PDF, after checking its fingerprint."""
    await grant_or_404(request, grant_id)
    record = await agreements.agreement_of(grant_id, agreement_id)
    if record is None or which not in FILES:
        raise NotFoundException()
    if FILES[which] == "signed":
        storage_id, sha256, name = (
            record.signed_file,
            record.signed_sha256,
            record.document_name.removesuffix(".pdf") + "-signee.pdf",
        )
    else:
        storage_id, sha256, name = (
            record.document_file,
            record.document_sha256,
            record.document_name,
        )
    if not storage_id:
        raise NotFoundException()
    if not await agreements.verify(files, storage_id, sha256):
        return altered_response(request)
    return files.download(storage_id, filename=name, content_type="application/pdf")


def _back(grant_id: int) -> str:
    return path_to(PAGE, grant_id=grant_id)


@post(GENERATE, name="grants:agreement-generate", guards=[requires("instruct_grant")])
async def generate(
    request: Request,
    grant_id: FromPath[int],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Redirect:
    await grant_or_404(request, grant_id)
    return await act(
        request,
        agreements.generate(grant_id, files=files, actor=actor, base_url=settings.base_url),
        back=_back(grant_id),
        done=_("The agreement is generated: the organisation is asked to sign it."),
    )


@post(AMENDMENT, name="grants:amendment-generate", guards=[requires("instruct_grant")])
async def generate_amendment(
    request: Request,
    grant_id: FromPath[int],
    amendment_id: FromPath[int],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Redirect:
    """The avenant of a schedule amendment, for both parties to sign."""
    await grant_or_404(request, grant_id)
    return await act(
        request,
        amendments.generate_amendment(
            grant_id, amendment_id, files=files, actor=actor, base_url=settings.base_url
        ),
        back=_back(grant_id),
        done=_("The amendment (avenant) is drawn up: the organisation is asked to sign it."),
    )


@post(CODE, name="grants:agreement-code")
async def send_code(
    request: Request,
    grant_id: FromPath[int],
    agreement_id: FromPath[int],
    actor: NamedDependency[Actor],
    limiter: NamedDependency[RateLimiter],
) -> Redirect:
    await grant_or_404(request, grant_id)
    await limiter.check(CODES, f"{request.user.id}:{agreement_id}")
    try:
        sent_to = await agreements.send_code(grant_id, agreement_id, user=request.user, actor=actor)
    except DomainError as exc:
        flash(request, exc.text(), "error")
    else:
        flash(
            request, _("A code is sent to %(email)s. It is valid ten minutes.") % {"email": sent_to}
        )
    return Redirect(_back(grant_id) + "#sign", status_code=303)


@post(SIGN, name="grants:agreement-sign")
async def sign(
    request: Request,
    grant_id: FromPath[int],
    agreement_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    await grant_or_404(request, grant_id)
    form = FormState(values=dict(data), prefix="sign")
    form.values.pop("code", None)  # a code is typed again, never shown back
    try:
        await agreements.sign(
            grant_id,
            agreement_id,
            user=request.user,
            name=data.get("name", ""),
            capacity=data.get("capacity", ""),
            consent=data.get("consent") == "yes",
            sha256=data.get("sha256", ""),
            code=data.get("code", ""),
            files=files,
            actor=actor,
            base_url=settings.base_url,
        )
    except DomainError as exc:
        form.refuse(exc, "consent")
        return await _page(request, grant_id, sign_form=form, status_code=422)
    flash(request, _("You have signed the agreement. The funder countersigns it next."))
    return Redirect(_back(grant_id), status_code=303)


@post(COUNTERSIGN, name="grants:agreement-countersign", guards=[requires("sign_agreements")])
async def countersign(
    request: Request,
    grant_id: FromPath[int],
    agreement_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    await grant_or_404(request, grant_id)
    form = FormState(values=dict(data), prefix="counter")
    try:
        await agreements.countersign(
            grant_id,
            agreement_id,
            user=request.user,
            capacity=data.get("capacity", ""),
            consent=data.get("consent") == "yes",
            files=files,
            actor=actor,
            base_url=settings.base_url,
        )
    except DomainError as exc:
        form.refuse(exc, "consent")
        return await _page(request, grant_id, counter_form=form, status_code=422)
    flash(request, _("The agreement is signed by both parties: it is in force."))
    return Redirect(_back(grant_id), status_code=303)


@post(CHECK, name="grants:agreement-check", guards=[requires("instruct_grant")])
async def check_upload(
    request: Request,
    grant_id: FromPath[int],
    agreement_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    await grant_or_404(request, grant_id)
    form = FormState(values=dict(data), prefix="check")
    accept = data.get("decision") == "accept"
    if data.get("decision") not in ("accept", "refuse"):
        form.error("decision", _("Choose whether you accept this copy."))
        return await _page(request, grant_id, check_form=form, status_code=422)
    try:
        await agreements.check_upload(
            grant_id,
            agreement_id,
            accept=accept,
            reason=data.get("reason", ""),
            files=files,
            actor=actor,
            base_url=settings.base_url,
        )
    except DomainError as exc:
        form.refuse(exc, "decision")
        return await _page(request, grant_id, check_form=form, status_code=422)
    flash(
        request,
        _("The signed copy is accepted: the agreement is in force.")
        if accept
        else _("The signed copy is refused; the organisation is told why."),
    )
    return Redirect(_back(grant_id), status_code=303)


GRANT_AGREEMENTS = Router(
    path="",
    route_handlers=[
        agreement_page,
        agreement_pdf,
        generate,
        generate_amendment,
        send_code,
        sign,
        countersign,
        check_upload,
    ],
    include_in_schema=False,
)


# --- Templates of the articles, and the threshold ------------------------------------------------


@get(TEMPLATES, name="grants:agreement-templates")
async def templates_page(request: Request) -> Template:
    scope = funders_for(request.user, "instruct_grant")
    funders = [f for f in await list_funders() if scope is None or f["id"] in scope]
    calls = await agreements.calls(scope)
    return render(
        request,
        "grants/agreement_templates.html",
        funders=funders,
        calls=calls,
        threshold=amount_input(await agreement_rule.threshold_cents()),
        legal_threshold=agreement_rule.LEGAL_THRESHOLD_CENTS,
        form=FormState(prefix="threshold"),
    )


@post(THRESHOLD, name="grants:agreement-threshold", guards=[requires("administer")])
async def save_threshold(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Redirect:
    try:
        cents = parse_amount(data.get("threshold", ""))
        await agreement_rule.set_threshold(cents, actor=actor)
    except AmountError:
        flash(request, _("Enter an amount in euros, e.g. 60 000,00."), "error")
    except DomainError as exc:
        flash(request, exc.text(), "error")
    else:
        flash(request, _("The threshold is saved."))
    return Redirect(TEMPLATES, status_code=303)


async def _template_page(
    request: Request,
    *,
    funder: dict | None = None,
    call: dict | None = None,
    form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    if call is not None:
        own = await agreements.own_template(call_id=call["id"])
        inherited, _source = await agreements.template_for(funder_id=call["funder"])
    else:
        own = await agreements.own_template(funder_id=funder["id"])
        inherited = agreement_text.DEFAULT_TEMPLATE
    return render(
        request,
        "grants/agreement_template.html",
        status_code=status_code,
        funder=funder,
        call=call,
        own=own is not None,
        placeholders=agreement_text.PLACEHOLDERS,
        form=form or FormState(values={"body": own or inherited}, prefix="template"),
        action=path_to(CALL_TEMPLATE, call_id=call["id"])
        if call
        else path_to(FUNDER_TEMPLATE, funder_id=funder["id"]),
    )


async def _funder(funder_id: int) -> dict:
    funder = await get_funder(funder_id)
    if funder is None:
        raise NotFoundException()
    return funder


async def _call(call_id: int) -> dict:
    call = await agreements.call(call_id)
    if call is None:
        raise NotFoundException()
    return call


@get(FUNDER_TEMPLATE, name="grants:agreement-template")
async def funder_template(request: Request, funder_id: FromPath[int]) -> Template:
    return await _template_page(request, funder=await _funder(funder_id))


@post(FUNDER_TEMPLATE, name="grants:agreement-template-save")
async def save_funder_template(
    request: Request,
    funder_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    funder = await _funder(funder_id)
    return await _save(request, data, actor, funder=funder)


@get(CALL_TEMPLATE, name="grants:agreement-call-template")
async def call_template(request: Request, call_id: FromPath[int]) -> Template:
    return await _template_page(request, call=await _call(call_id))


@post(CALL_TEMPLATE, name="grants:agreement-call-template-save")
async def save_call_template(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    return await _save(request, data, actor, call=await _call(call_id))


async def _save(request, data, actor, *, funder=None, call=None) -> Template | Redirect:
    body = data.get("body", "")
    if data.get("reset") == "yes":
        body = ""
    form = FormState(values={"body": body}, prefix="template")
    try:
        await agreements.save_template(
            body,
            funder_id=funder["id"] if funder else None,
            call_id=call["id"] if call else None,
            actor=actor,
        )
    except DomainError as exc:
        form.refuse(exc, "body")
        return await _template_page(request, funder=funder, call=call, form=form, status_code=422)
    flash(request, _("The agreement's articles are saved."))
    back = (
        path_to(CALL_TEMPLATE, call_id=call["id"])
        if call
        else path_to(FUNDER_TEMPLATE, funder_id=funder["id"])
    )
    return Redirect(back, status_code=303)


TEMPLATE_SETTINGS = Router(
    path="",
    route_handlers=[
        templates_page,
        save_threshold,
        funder_template,
        save_funder_template,
        call_template,
        save_call_template,
    ],
    guards=[requires("instruct_grant")],
    include_in_schema=False,
)

ROUTES = [GRANT_AGREEMENTS, TEMPLATE_SETTINGS]
