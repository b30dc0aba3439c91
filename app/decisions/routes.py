"""Decision pages for officers: one file's decision and letters, the letters'
wording, publication (the committee's sheet and its annex: ``sheet_routes.py``). The organisation's side is in
``organisation_routes.py``; what both read of other domains, in ``pages.py``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import requires
from app.applications.deps import visible_application
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.storage import FileStorage, content_disposition
from app.core.time import now
from app.core.web import act, flash, is_partial_request, path_to, render
from app.decisions import jobs, letters, pages, services
from app.decisions.letters import PLACEHOLDERS
from app.decisions.models import DECIDED_LABELS
from app.decisions.organisation_routes import ORGANISATIONS
from app.decisions.pages import call_or_404
from app.decisions.services import DecisionError
from app.decisions.sheet_routes import DECISION
from app.decisions.sheet_routes import HANDLERS as SHEET_HANDLERS
from app.grants import schedule as schedules
from app.grants import services as grants
from app.grants.schedule import ScheduleError
from app.settings import Settings

TEMPLATES = "/instruction/appels/{call_id:int}/decisions/courriers"
PREVIEW = "/instruction/appels/{call_id:int}/decisions/courriers/apercu"
PUBLISH = "/instruction/appels/{call_id:int}/decisions/publier"
PROGRESS = "/instruction/appels/{call_id:int}/decisions/publication"
SCHEDULE = "/instruction/dossiers/{app_id:int}/decision/echeancier"
STAFF_LETTER = "/instruction/dossiers/{app_id:int}/courriers/{letter_id:int}"
REGENERATE = "/instruction/dossiers/{app_id:int}/courriers"


# --- One file: decision, schedule, letters (staff) --------------------------------------------


async def _decision_page(
    request: Request, app: Any, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    file = app
    decision = await services.decision_of(file.id)
    settings = await services.settings_for(file.call)
    schedule = dict(services.schedule_of(decision, settings)) if decision else {}
    if form is None:
        form = FormState(values=schedules.form_values(schedule), prefix="schedule")
    parts = []
    if decision and decision.is_award:
        try:
            parts = schedules.amounts(decision.amount_cents, schedule)
        except ScheduleError:
            parts = []
    grant = await grants.grant_of(file.id)
    return render(
        request,
        "decisions/file.html",
        status_code=status_code,
        app=app,
        decision=decision,
        parts=parts,
        grant=grant,
        instalments=await grants.instalments(grant.id) if grant else [],
        letters=await jobs.letters_of(file.id),
        form=form,
        outcomes=DECIDED_LABELS,
        trigger_labels=schedules.TRIGGERS,
        instalment_labels=grants.INSTALMENT_LABELS,
        **pages.schedule_context(),
    )


@get(DECISION, name="decisions:file")
async def decision_file(request: Request, app_id: FromPath[int]) -> Template:
    return await _decision_page(request, await visible_application(request, app_id))


@post(SCHEDULE, name="decisions:schedule")
async def set_schedule(
    request: Request,
    app_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    app = await visible_application(request, app_id)
    form = FormState(values=dict(data), prefix="schedule")
    try:
        await services.set_schedule(app_id, schedules.parse_form(data), actor=actor)
    except ScheduleError as exc:
        pages.refuse_schedule(form, exc)
    except DecisionError as exc:
        form.error("schedule_preset", exc.text())
    if not form.ok:
        return await _decision_page(request, app, form=form, status_code=422)
    flash(request, _("The payment schedule is saved."))
    return Redirect(path_to(DECISION, app_id=app_id), status_code=303)


@get(STAFF_LETTER, name="decisions:staff-letter")
async def staff_letter(
    request: Request,
    app_id: FromPath[int],
    letter_id: FromPath[int],
    files: NamedDependency[FileStorage],
) -> Response:
    await visible_application(request, app_id)
    return await pages.letter_download(files, app_id, letter_id)


@post(REGENERATE, name="decisions:regenerate")
async def regenerate(
    request: Request,
    app_id: FromPath[int],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Redirect:
    await visible_application(request, app_id)
    return await act(
        request,
        jobs.regenerate(
            app_id,
            storage=files,
            base_url=settings.base_url,
            data_dir=settings.data_dir,
            actor=actor,
        ),
        back=path_to(DECISION, app_id=app_id) + "#letters",
        done=_("A new version of the letter is written; the earlier ones are kept."),
    )


# --- Letter templates -------------------------------------------------------------------------


async def _templates_page(
    request: Request, call: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    settings = await services.settings_for(call["id"])
    if form is None:
        form = FormState(
            values={
                "award_template": settings.award_template,
                "rejection_template": settings.rejection_template,
            },
            prefix="letters",
        )
    return render(
        request,
        "decisions/templates.html",
        status_code=status_code,
        call=call,
        form=form,
        placeholders=[(f"{{{k}}}", _(v)) for k, v in PLACEHOLDERS.items()],
    )


@get(TEMPLATES, name="decisions:templates")
async def templates(request: Request, call_id: FromPath[int]) -> Template:
    return await _templates_page(request, await call_or_404(call_id))


@post(TEMPLATES, name="decisions:templates-post")
async def save_templates(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await call_or_404(call_id)
    try:
        await services.save_templates(
            call_id,
            data.get("award_template", ""),
            data.get("rejection_template", ""),
            actor=actor,
        )
    except DomainError as exc:  # the wording's own refusals (letters.TemplateProblem) too
        form = FormState(values=dict(data), prefix="letters")
        form.refuse(exc)
        return await _templates_page(request, call, form=form, status_code=422)
    flash(request, _("The letters' wording is saved."))
    return Redirect(path_to(TEMPLATES, call_id=call_id), status_code=303)


@post(PREVIEW, name="decisions:preview")
async def preview(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    settings: NamedDependency[Settings],
) -> Template | Response:
    """The letter as it would be written with the text typed (not saved)."""
    call = await call_or_404(call_id)
    kind = "award" if data.get("kind") != "rejection" else "rejection"
    field = f"{kind}_template"
    text = data.get(field, "")
    try:
        services.check_letter_template(field, text)
    except DomainError as exc:
        form = FormState(values=dict(data), prefix="letters")
        form.refuse(exc)
        return await _templates_page(request, call, form=form, status_code=422)
    committee = await services.settings_for(call_id)
    pdf = await letters.preview(
        call_id,
        kind,
        committee.with_template(kind, text),
        base_url=settings.base_url,
        data_dir=settings.data_dir,
        today=now(),
    )
    return Response(
        pdf,
        status_code=200,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(f"apercu-{kind}.pdf", "inline")},
    )


# --- Publication ------------------------------------------------------------------------------


async def _publish_page(
    request: Request, call: dict, *, error: str | None = None, status_code: int = 200
) -> Template:
    return render(
        request,
        "decisions/publish.html",
        status_code=status_code,
        call=call,
        pending=await services.pending(call["id"]),
        totals=await services.totals(call["id"]),
        error=error,
    )


@get(PUBLISH, name="decisions:publish-confirm")
async def publish_confirm(request: Request, call_id: FromPath[int]) -> Template:
    return await _publish_page(request, await call_or_404(call_id))


@post(PUBLISH, name="decisions:publish")
async def publish(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await call_or_404(call_id)
    try:
        await services.publish(call_id, data.get("token", ""), actor=actor)
    except DecisionError as exc:
        return await _publish_page(request, call, error=exc.text(), status_code=422)
    wake = getattr(request.app.state, "wake_letters", None)
    if wake is not None:
        wake()
    flash(request, _("The decisions are published; the letters are being written."))
    return Redirect(path_to(PROGRESS, call_id=call_id), status_code=303)


@get(PROGRESS, name="decisions:progress")
async def progress(request: Request, call_id: FromPath[int]) -> Template:
    call = await call_or_404(call_id)
    job = await jobs.job_of(call_id)
    template = (
        "decisions/_progress.html" if is_partial_request(request) else "decisions/progress.html"
    )
    return render(request, template, call=call, job=job)


STAFF = Router(
    path="",
    guards=[requires("manage_calls")],
    include_in_schema=False,
    route_handlers=[
        *SHEET_HANDLERS,
        decision_file,
        set_schedule,
        staff_letter,
        regenerate,
        templates,
        save_templates,
        preview,
        publish_confirm,
        publish,
        progress,
    ],
)
# The organisation's pages: its members (``own_application``), staff for the agreement.
ROUTES = [STAFF, ORGANISATIONS]
