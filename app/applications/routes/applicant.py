"""The applicant's pages: eligibility, the draft (autosaved), submission, withdrawal."""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import KEEP_ANSWERS
from app.applications import budget as budgets
from app.applications import services, states
from app.applications.deps import own_application
from app.applications.receipts import Receipts
from app.applications.routes.pages import (
    APPLY,
    AUTOSAVE,
    DRAFT,
    MINE,
    SUBMIT,
    UPLOAD_ERROR,
    WITHDRAW,
    draft_page,
    summary_documents,
    summary_sections,
    values_of,
)
from app.applications.services import (
    ApplicationError,
    ApplicationView,
    Conflict,
    Declaration,
    Incomplete,
    Ineligible,
    Undeclared,
)
from app.calls import formspec
from app.calls import services as calls
from app.core import kept_forms
from app.core.arrival import received_at
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.numbers import whole_number
from app.core.ratelimit import Limit, RateLimiter
from app.core.time import clock
from app.core.web import act, flash, path_to, render
from app.settings import Settings

# --- Eligibility ----------------------------------------------------------------------------


async def _apply_page(
    request: Request, call: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    organisations = await services.member_organisations(request.user.id)
    if form is None:
        current = request.session.get("org") or {}
        form = FormState(values={"organisation": str(current.get("id", ""))})
    return render(
        request,
        "applications/apply.html",
        status_code=status_code,
        call=call,
        organisations=organisations,
        org_options=[(str(o["id"]), o["name"]) for o in organisations],
        form=form,
        is_open=calls.is_open(call),
    )


async def _public_call(call_id: int) -> dict:
    call = await calls.public_call(call_id)
    if call is None:
        raise NotFoundException()
    return call


@get(APPLY, name="applications:apply")
async def apply_page(request: Request, call_id: FromPath[int]) -> Template:
    return await _apply_page(request, await _public_call(call_id))


@post(APPLY, name="applications:apply-post")
async def apply(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _public_call(call_id)
    organisations = await services.member_organisations(request.user.id)
    form = FormState(values=dict(data))
    try:
        errors = services.check_eligibility(
            call["eligibility"], data, {o["id"] for o in organisations}
        )
    except Ineligible as blocked:
        return render(
            request,
            "applications/ineligible.html",
            status_code=422,
            call=call,
            question=blocked.question,
        )
    questions = {q["key"]: q["label"] for q in call["eligibility"]}
    for key, error in errors.items():
        form.refuse(error, key, questions.get(key))
    if form.ok:
        try:
            app_id = await services.start_application(
                call_id, whole_number(data["organisation"]), user=request.user, actor=actor
            )
        except ApplicationError as exc:
            form.refuse(exc, "organisation")
    if not form.ok:
        return await _apply_page(request, call, form=form, status_code=422)
    return Redirect(path_to(DRAFT, app_id=app_id), status_code=303)


# --- The draft -----------------------------------------------------------------------------------


@get(MINE, name="applications:mine")
async def mine(request: Request) -> Template:
    return render(
        request,
        "applications/mine.html",
        applications=await services.applications_of(request.user.id),
        labels=states.LABELS,
        now=services.now(),
    )


@get(DRAFT, name="applications:draft")
async def draft(
    request: Request, app_id: FromPath[int], settings: NamedDependency[Settings]
) -> Template:
    """The file's page; answers kept aside (the session had ended when they were
    posted, or an upload was refused) come back as typed, with what is wrong in them."""
    app = await own_application(request, app_id)
    await services.mark_thread_read(app_id, request.user.id)
    upload_error = request.session.pop(UPLOAD_ERROR, None) if request.session else None
    token = request.cookies.get(kept_forms.COOKIE)
    kept = None
    if token:
        kept = kept_forms.take(
            settings.data_dir,
            token,
            page=request.url.path,
            user_id=request.user.id,
            organisation=app.organisation,
            member_of={o["id"] for o in await services.member_organisations(request.user.id)},
        )
    if kept is None or not services.is_editable(app):
        response = await draft_page(
            request, app, upload_error=tuple(upload_error) if upload_error else None
        )
    else:
        values, reason = kept
        form = FormState(
            values={**values_of(app), **values} if reason == "upload_partial" else values
        )
        _refuse_answers(form, services.answer_errors(app, form.values), app)
        response = await draft_page(
            request,
            app,
            form=form,
            kept=reason,
            upload_error=tuple(upload_error) if upload_error else None,
        )
    if token:
        response.delete_cookie(kept_forms.COOKIE)
    return response


def _form_from_request(data) -> dict:
    raw: dict = {}
    for key in data:
        values = data.getall(key)
        raw[key] = values if len(values) > 1 else values[0]
    return raw


def _refuse_answers(form: FormState, errors: dict[str, DomainError], app: ApplicationView) -> None:
    """The draft's refused answers, each named by its field's label in the error summary."""
    labels = {f["key"]: f["label"] for f in formspec.fields_of(app.form)}
    labels["title"] = _("Title of the project")
    labels["requested"] = _("Amount requested")
    for side, lines in (
        ("charges", [*budgets.CHARGES, budgets.IN_KIND_CHARGES]),
        ("produits", [*budgets.PRODUITS, budgets.IN_KIND_PRODUITS]),
    ):
        labels.update({budgets.field_name(side, key): _(label) for key, label in lines})
    for key, error in errors.items():
        form.refuse(error, key, labels.get(key))


@post(DRAFT, name="applications:save", opt={KEEP_ANSWERS: DRAFT})
async def save(
    request: Request, app_id: FromPath[int], actor: NamedDependency[Actor]
) -> Template | Redirect:
    """The plain « Enregistrer » button: works without JavaScript."""
    app = await own_application(request, app_id)
    raw = _form_from_request(await request.form())
    form = FormState(values=raw)
    try:
        version = whole_number(raw.get("version")) or 0
        saved = await services.save_draft(
            app_id, user=request.user, version=version, raw=raw, actor=actor
        )
    except Conflict as conflict:
        # Keep what this person typed, show the other version beside it.
        form.values["version"] = str(conflict.current.version)
        return await draft_page(
            request, conflict.current, form=form, status_code=409, conflict=conflict.current
        )
    except ApplicationError as exc:
        form.refuse(exc, "title")
        return await draft_page(request, app, form=form, status_code=422)
    if saved.errors:
        # The rest is saved: the page shows what to correct, as typed, on the new version.
        _refuse_answers(form, saved.errors, app)
        form.values["version"] = str(saved.version)
        flash(
            request,
            _("Saved at %(time)s, except the answers to correct below.")
            % {"time": clock(saved.at)},
        )
        app = await own_application(request, app_id)
        return await draft_page(request, app, form=form, status_code=422)
    flash(request, _("Saved at %(time)s.") % {"time": clock(saved.at)})
    return Redirect(path_to(DRAFT, app_id=app_id), status_code=303)


# Autosaves come at most one per change; a person's flood of them must not hold up
# other people's writes (a submission minutes before the deadline): refused before any
# query, and one at a time per file. The page's next change, or « Save », saves.
AUTOSAVES_PER_PERSON = Limit("autosave", 10, 10)


@post(AUTOSAVE, name="applications:autosave")
async def autosave(
    request: Request,
    app_id: FromPath[int],
    actor: NamedDependency[Actor],
    limiter: NamedDependency[RateLimiter],
) -> Template:
    """htmx autosave on change: answers with a status line (and the new version)."""
    busy = render(
        request, "applications/_autosave.html", status_code=429, app_id=app_id, state="busy"
    )
    if await limiter.hit(AUTOSAVES_PER_PERSON, str(request.user.id)):
        return busy
    async with limiter.exclusive("autosave", str(app_id)) as ours:
        if not ours:
            return busy
        return await _autosave(request, app_id, actor)


async def _autosave(request: Request, app_id: int, actor: Actor) -> Template:
    await own_application(request, app_id)
    raw = _form_from_request(await request.form())
    context: dict = {"app_id": app_id}
    status_code = 200
    try:
        saved = await services.save_draft(
            app_id,
            user=request.user,
            version=whole_number(raw.get("version")) or 0,
            raw=raw,
            actor=actor,
        )
        context.update(state="saved", time=clock(saved.at), version=saved.version)
        if saved.errors:
            context.update(state="partly", count=len(saved.errors))
            status_code = 422
    except Conflict as conflict:
        context.update(state="conflict", time=clock(conflict.current.updated_at))
        status_code = 409
    except ApplicationError as exc:
        context.update(state="refused", count=0, message=exc.text())
        status_code = 422
    return render(request, "applications/_autosave.html", status_code=status_code, **context)


# --- Submission ---------------------------------------------------------------------------------


async def _submit_page(
    request: Request,
    app: ApplicationView,
    problems: list[tuple[str, str]],
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    """« Vérifier et déposer »: every answer, the budget and the documents read back,
    each part with its link to change it, then the sworn statement and the button."""
    attachments = {a.document_key: a for a in await services.current_attachments(app.id)}
    return render(
        request,
        "applications/submit.html",
        status_code=status_code,
        app=app,
        problems=problems,
        editable=services.is_editable(app),
        now=services.now(),
        sections=summary_sections(app),
        documents=summary_documents(app, attachments),
        budget=app.forecast,
        budget_lines=budgets,
        capacities=[_(c) for c in services.CAPACITIES],
        form=form or FormState(values={"declarant_name": request.user.full_name}),
    )


@get(SUBMIT, name="applications:submit")
async def submit_page(request: Request, app_id: FromPath[int]) -> Template:
    app = await own_application(request, app_id)
    problems = await services.submission_problems(app)
    return await _submit_page(request, app, [(p.anchor, p.text()) for p in problems])


_DECLARATION_LABELS = {
    "declarant_name": N_("Your first and last name"),
    "declarant_capacity": N_("Your capacity"),
    "certify": N_("Sworn statement"),
}


@post(SUBMIT, name="applications:submit-post")
async def submit(
    request: Request,
    app_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    # The file is read (its access checked) once, by the submission itself; again
    # only to show the form once more when it is refused.
    declaration = Declaration(
        name=data.get("declarant_name", ""),
        capacity=data.get("declarant_capacity", ""),
        certified=data.get("certify") == "yes",
    )
    form = FormState(
        values={
            "declarant_name": declaration.name,
            "declarant_capacity": declaration.capacity,
            "certify": "yes" if declaration.certified else "",
        }
    )
    try:
        await services.submit(
            app_id,
            user=request.user,
            actor=actor,
            receipts=Receipts(settings),
            received_at=received_at(request.scope),
            declaration=declaration,
        )
    except Incomplete as exc:
        problems = [(p.anchor, p.text()) for p in exc.problems]
        app = await own_application(request, app_id)
        return await _submit_page(request, app, problems, form=form, status_code=422)
    except Undeclared as exc:
        app = await own_application(request, app_id)
        for key, error in exc.errors.items():
            form.refuse(error, key, _(_DECLARATION_LABELS[key]))
        return await _submit_page(request, app, [], form=form, status_code=422)
    except ApplicationError as exc:
        app = await own_application(request, app_id)  # 404 when it is not theirs
        return await _submit_page(request, app, [("", exc.text())], form=form, status_code=422)
    flash(
        request,
        _("Your file is submitted. You will receive an acknowledgement of receipt by email."),
    )
    return Redirect(path_to(DRAFT, app_id=app_id), status_code=303)


@get(WITHDRAW, name="applications:withdraw-page")
async def withdraw_page(request: Request, app_id: FromPath[int]) -> Template:
    """Withdrawing is final: said first, confirmed by a second step."""
    app = await own_application(request, app_id)
    return render(request, "applications/withdraw.html", app=app, actions=app.actions("applicant"))


@post(WITHDRAW, name="applications:withdraw")
async def withdraw(
    request: Request,
    app_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await own_application(request, app_id)
    if data.get("confirm") != "yes":
        return Redirect(path_to(WITHDRAW, app_id=app_id), status_code=303)
    return await act(
        request,
        services.withdraw(app_id, user=request.user, actor=actor),
        back=path_to(DRAFT, app_id=app_id),
        done=_("Your file is withdrawn."),
    )


router = Router(
    path="/",
    route_handlers=[
        apply_page,
        apply,
        mine,
        draft,
        save,
        autosave,
        submit_page,
        submit,
        withdraw_page,
        withdraw,
    ],
    include_in_schema=False,
)
