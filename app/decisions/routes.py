"""Decision pages: the committee sheet, publication and its letters (officers); the
decision, letters and online acceptance of an award (the organisation's members)."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import requires
from app.accounts.routes import actor
from app.applications import states as application_states
from app.applications.deps import own_application, visible_application
from app.calls import services as calls
from app.core import storage
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, amount_input, format_amount, parse_amount
from app.core.storage import content_disposition
from app.core.web import flash, is_partial_request, path_to, render
from app.decisions import jobs, services
from app.decisions.letters import PLACEHOLDERS
from app.decisions.services import DecisionError
from app.grants import followup
from app.grants import schedule as schedules
from app.grants import services as grants
from app.grants.schedule import ScheduleError
from app.grants.services import GrantError
from app.reviews import services as reviews

SHEET = "/instruction/appels/{call_id:int}/decisions"
SHEET_SETTINGS = "/instruction/appels/{call_id:int}/decisions/reglages"
TEMPLATES = "/instruction/appels/{call_id:int}/decisions/courriers"
PREVIEW = "/instruction/appels/{call_id:int}/decisions/courriers/apercu"
PUBLISH = "/instruction/appels/{call_id:int}/decisions/publier"
PROGRESS = "/instruction/appels/{call_id:int}/decisions/publication"
DECISION = "/instruction/dossiers/{app_id:int}/decision"
SCHEDULE = "/instruction/dossiers/{app_id:int}/decision/echeancier"
STAFF_LETTER = "/instruction/dossiers/{app_id:int}/courriers/{letter_id:int}"
REGENERATE = "/instruction/dossiers/{app_id:int}/courriers"
MY_DECISION = "/dossiers/{app_id:int}/decision"
MY_LETTER = "/dossiers/{app_id:int}/courriers/{letter_id:int}"
ACCEPT = "/dossiers/{app_id:int}/acceptation"
AGREEMENT = "/dossiers/{app_id:int}/convention"

STAFF = [requires("manage_calls")]
MAX_AGREEMENT = 20 * storage.MB

ERRORS = {
    "outcome": N_("Choose award, reject or waiting list."),
    "reason_required": N_("Give the reason for the rejection: the applicant receives it."),
    "too_long": N_("This text is too long."),
    "amount": N_("Enter an amount in euros, e.g. 200 000,00."),
    "amount_positive": N_("Enter an amount above zero."),
    "amount_above_request": N_("The amount cannot be above the amount requested (%(limit)s)."),
    "amount_above_max": N_("The amount cannot be above the call's maximum (%(limit)s)."),
    "amount_below_min": N_("The amount cannot be below the call's minimum (%(limit)s)."),
    "amount_above_rate": N_(
        "The amount goes above the call's co-financing cap (%(limit)s of the project's "
        "eligible cost)."
    ),
    "over_envelope": N_(
        "The awards would go above the envelope: at most %(limit)s is left for this file."
    ),
    "published": N_("This decision is published: it can no longer change."),
    "not_decidable": N_("This file is not waiting for a decision (%(detail)s)."),
    "not_an_award": N_("Only an award has a payment schedule."),
    "date": N_("Enter a date, e.g. 17/05/2017."),
    "nothing_to_publish": N_("There is no unpublished decision on this sheet."),
    "changed": N_("The sheet changed since the confirmation: check the new figures."),
    "deliberation_missing": N_(
        "Enter the deliberation's reference and date (in the settings or on each decision) "
        "before publishing: file %(detail)s has none."
    ),
    "schedule": N_("The payment schedule of file %(detail)s does not add up: correct it."),
    "template_empty": N_("Write the letter's text."),
    "template_unknown": N_(
        "Unknown placeholder: %(detail)s. Use only the placeholders listed beside the text."
    ),
    "template_malformed": N_(
        "A brace is not closed or not opened: write placeholders as {organisation}, and "
        "a brace on its own as {{ or }}."
    ),
    "no_letter": N_("This file has no published award or rejection."),
    "signatory_name": N_("Enter the name of the person who signs."),
    "signatory_capacity": N_("Enter their capacity, e.g. President."),
    "conditions": N_("Tick the box to accept the conditions."),
    "already_accepted": N_("This grant is already accepted."),
    # Schedules
    "preset": N_("Choose a payment schedule."),
    "mode": N_("Choose percentages or amounts."),
    "empty": N_("Enter at least one instalment."),
    "too_many": N_("At most six instalments."),
    "trigger": N_("Instalment %(row)s: choose when it is paid."),
    "date_not_wanted": N_("Instalment %(row)s: a date is only for an instalment paid on a date."),
    "percent": N_("Instalment %(row)s: enter a percentage above 0 and at most 100, e.g. 30."),
    "percent_total": N_("The percentages must add up to 100 %."),
    "amount_total": N_("The instalments must add up exactly to the amount awarded."),
    "upload_missing": N_("Choose the signed agreement (PDF)."),
    "not_active": N_("Accept the grant before sending the signed agreement."),
    "agreement_exists": N_(
        "The signed agreement is already received. To replace it, write to the reviewing "
        "department from your file's messages."
    ),
}
OUTCOME_LABELS = {
    "award": N_("award"),
    "reject": N_("reject"),
    "waitlist": N_("waiting list"),
}
# A decision taken, shown as the state it gives the file (« subvention accordée »).
DECIDED_LABELS = {
    outcome: application_states.LABELS[application_states.APPLICATION.target(outcome)]
    for outcome in OUTCOME_LABELS
}
ACCEPT_FIELDS = ("signatory_name", "signatory_capacity", "conditions")


def error_text(code: str, detail=None, row=None) -> str:
    text = _(ERRORS.get(code, N_("Something is not valid.")))
    limit = detail
    if code in ("amount_above_request", "amount_above_max", "amount_below_min", "over_envelope"):
        limit = format_amount(max(detail or 0, 0))
    elif code == "amount_above_rate":
        limit = f"{(detail or 0) / 100:g} %".replace(".", ",")
    elif code == "template_unknown":
        limit = ", ".join(detail or ())
    if "%(" not in text:  # a plain « 100 % » is not a format
        return text
    return text % {"limit": limit, "detail": limit if limit is not None else "", "row": row}


def _schedule_error(form: FormState, exc: ScheduleError, prefix: str = "schedule") -> None:
    if exc.row:
        field = f"{prefix}_value_{exc.row}"
    elif exc.code in ("percent_total", "amount_total", "empty"):
        field = f"{prefix}_value_1"
    else:
        field = f"{prefix}_preset"
    form.error(field, error_text(exc.code, row=exc.row))


async def _call(call_id: int) -> dict:
    call = await calls.get_call(call_id)
    if call is None:
        raise NotFoundException()
    return call


def _storage(request: Request) -> storage.FileStorage:
    return storage.FileStorage.of_app(request.app)


def _settings(request: Request):
    return request.app.state.settings


# --- The sheet --------------------------------------------------------------------------------


def _row_values(row: dict) -> dict[str, str]:
    decision = row.get("decision") or {}
    amount = decision.get("amount_cents") if decision.get("outcome") == "award" else None
    return {
        "outcome": decision.get("outcome", ""),
        "amount": amount_input(amount if amount else row["requested_cents"]),
        "reason": decision.get("reason", ""),
    }


async def _sheet_rows(call_id: int) -> list[dict]:
    ranked = await reviews.ranking(call_id)
    decided = await services.decisions_of(call_id)
    for row in ranked:
        row["decision"] = decided.get(row["id"])
        row["locked"] = services.is_locked(row["decision"])
        row["form"] = FormState(values=_row_values(row), prefix=f"d{row['id']}")
    return ranked


async def _sheet_page(
    request: Request,
    call: dict,
    *,
    settings_form: FormState | None = None,
    status_code: int = 200,
    rows: list[dict] | None = None,
) -> Template:
    settings = await services.settings_for(call["id"])
    if settings_form is None:
        settings_form = FormState(values=_settings_values(settings), prefix="sheet")
    return render(
        request,
        "decisions/sheet.html",
        status_code=status_code,
        call=call,
        rows=rows if rows is not None else await _sheet_rows(call["id"]),
        totals=await services.totals(call["id"]),
        pending=await services.pending(call["id"]),
        job=await jobs.job_of(call["id"]),
        form=settings_form,
        settings=settings,
        outcomes=OUTCOME_LABELS,
        labels=application_states.LABELS,
        **_schedule_context(),
    )


def _settings_values(settings: dict) -> dict[str, str]:
    when = settings["deliberation_date"]
    return {
        "deliberation_reference": settings["deliberation_reference"],
        "deliberation_date": when.isoformat() if when else "",
        "place": settings["place"],
        "signatory_name": settings["signatory_name"],
        "signatory_title": settings["signatory_title"],
        "share_reviews": "yes" if settings["share_reviews"] else "",
        "agreement_required": "yes" if settings["agreement_required"] else "",
        "conditions": settings["conditions"],
        **schedules.form_values(settings["default_schedule"]),
    }


def _schedule_context() -> dict:
    return {
        "presets": [(k, _(v)) for k, v in schedules.PRESET_LABELS.items()],
        "triggers": [(k, _(v)) for k, v in schedules.TRIGGERS.items()],
        "schedule_rows": range(1, schedules.MAX_ITEMS + 1),
    }


@get(SHEET, guards=STAFF, include_in_schema=False, name="decisions:sheet")
async def sheet(request: Request, call_id: FromPath[int]) -> Template:
    return await _sheet_page(request, await _call(call_id))


@post(SHEET_SETTINGS, guards=STAFF, include_in_schema=False, name="decisions:settings")
async def save_settings(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    call = await _call(call_id)
    form = FormState(values=dict(data), prefix="sheet")
    try:
        await services.save_settings(call_id, data, actor=actor(request))
    except DecisionError as exc:
        form.error(exc.field or "deliberation_reference", error_text(exc.code))
    except ScheduleError as exc:
        _schedule_error(form, exc)
    if not form.ok:
        return await _sheet_page(request, call, settings_form=form, status_code=422)
    flash(request, _("The committee's settings are saved."))
    return Redirect(path_to(SHEET, call_id=call_id) + "#settings", status_code=303)


def _read_amount(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return parse_amount(raw)
    except AmountError:
        raise DecisionError("amount", "amount") from None


@post(DECISION, guards=STAFF, include_in_schema=False, name="decisions:decide")
async def decide(
    request: Request, app_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    """One row of the sheet. htmx: the row and the totals come back; else the sheet."""
    app = await visible_application(request, app_id)
    form = FormState(values=dict(data), prefix=f"d{app_id}")
    try:
        await services.decide(
            app_id,
            outcome=data.get("outcome", ""),
            amount=_read_amount(data.get("amount", "")) if data.get("outcome") == "award" else None,
            reason=data.get("reason", ""),
            actor=actor(request),
        )
    except DecisionError as exc:
        form.error(exc.field or "outcome", error_text(exc.code, exc.detail))
    rows = await _sheet_rows(app.call)
    row = next((r for r in rows if r["id"] == app_id), None)
    if row is not None and not form.ok:
        row["form"] = form
    elif row is not None:
        row["saved"] = True  # focus comes back to the row (htmx honours autofocus)
    if is_partial_request(request) and row is not None:
        # htmx swaps the row either way; a 200 keeps browsers from logging an error.
        return render(
            request,
            "decisions/_row_update.html",
            row=row,
            call=await _call(app.call),
            totals=await services.totals(app.call),
            pending=await services.pending(app.call),
            outcomes=OUTCOME_LABELS,
            labels=application_states.LABELS,
        )
    if not form.ok:
        return await _sheet_page(request, await _call(app.call), status_code=422, rows=rows)
    flash(request, _("The decision on %(reference)s is saved.") % {"reference": app.reference})
    return Redirect(path_to(SHEET, call_id=app.call) + f"#row-{app_id}", status_code=303)


# --- One file: decision, schedule, letters (staff) --------------------------------------------


async def _decision_page(
    request: Request, app: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    decision = await services.decision_of(app.id)
    settings = await services.settings_for(app.call)
    schedule = services.schedule_of(decision, settings) if decision else None
    if form is None:
        form = FormState(values=schedules.form_values(schedule or {}), prefix="schedule")
    parts = []
    if decision and decision["outcome"] == "award":
        try:
            parts = schedules.amounts(decision["amount_cents"], schedule)
        except ScheduleError:
            parts = []
    grant = await grants.grant_of(app.id)
    return render(
        request,
        "decisions/file.html",
        status_code=status_code,
        app=app,
        decision=decision,
        parts=parts,
        grant=grant,
        instalments=await grants.instalments(grant["id"]) if grant else [],
        letters=await jobs.letters_of(app.id),
        form=form,
        outcomes=DECIDED_LABELS,
        trigger_labels=schedules.TRIGGERS,
        instalment_labels=grants.INSTALMENT_LABELS,
        **_schedule_context(),
    )


@get(DECISION, guards=STAFF, include_in_schema=False, name="decisions:file")
async def decision_file(request: Request, app_id: FromPath[int]) -> Template:
    return await _decision_page(request, await visible_application(request, app_id))


@post(SCHEDULE, guards=STAFF, include_in_schema=False, name="decisions:schedule")
async def set_schedule(
    request: Request, app_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    app = await visible_application(request, app_id)
    form = FormState(values=dict(data), prefix="schedule")
    try:
        await services.set_schedule(app_id, schedules.parse_form(data), actor=actor(request))
    except ScheduleError as exc:
        _schedule_error(form, exc)
    except DecisionError as exc:
        form.error("schedule_preset", error_text(exc.code))
    if not form.ok:
        return await _decision_page(request, app, form=form, status_code=422)
    flash(request, _("The payment schedule is saved."))
    return Redirect(path_to(DECISION, app_id=app_id), status_code=303)


def _letter_response(request: Request, letter: dict) -> Response:
    return _storage(request).download(
        letter["storage_id"], filename=letter["filename"], content_type="application/pdf"
    )


@get(STAFF_LETTER, guards=STAFF, include_in_schema=False, name="decisions:staff-letter")
async def staff_letter(
    request: Request, app_id: FromPath[int], letter_id: FromPath[int]
) -> Response:
    await visible_application(request, app_id)
    letter = next((x for x in await jobs.letters_of(app_id) if x["id"] == letter_id), None)
    if letter is None:
        raise NotFoundException()
    return _letter_response(request, letter)


@post(REGENERATE, guards=STAFF, include_in_schema=False, name="decisions:regenerate")
async def regenerate(request: Request, app_id: FromPath[int]) -> Redirect:
    await visible_application(request, app_id)
    settings = _settings(request)
    try:
        await jobs.regenerate(
            app_id,
            storage=_storage(request),
            base_url=settings.base_url,
            data_dir=settings.data_dir,
            actor=actor(request),
        )
    except DecisionError as exc:
        flash(request, error_text(exc.code), "error")
    else:
        flash(request, _("A new version of the letter is written; the earlier ones are kept."))
    return Redirect(path_to(DECISION, app_id=app_id) + "#letters", status_code=303)


# --- Letter templates -------------------------------------------------------------------------


async def _templates_page(
    request: Request, call: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    settings = await services.settings_for(call["id"])
    if form is None:
        form = FormState(
            values={
                "award_template": settings["award_template"],
                "rejection_template": settings["rejection_template"],
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


@get(TEMPLATES, guards=STAFF, include_in_schema=False, name="decisions:templates")
async def templates(request: Request, call_id: FromPath[int]) -> Template:
    return await _templates_page(request, await _call(call_id))


@post(TEMPLATES, guards=STAFF, include_in_schema=False, name="decisions:templates-post")
async def save_templates(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    call = await _call(call_id)
    try:
        await services.save_templates(
            call_id,
            data.get("award_template", ""),
            data.get("rejection_template", ""),
            actor=actor(request),
        )
    except DecisionError as exc:
        form = FormState(values=dict(data), prefix="letters")
        form.error(exc.field, error_text(exc.code, exc.detail))
        return await _templates_page(request, call, form=form, status_code=422)
    flash(request, _("The letters' wording is saved."))
    return Redirect(path_to(TEMPLATES, call_id=call_id), status_code=303)


@post(PREVIEW, guards=STAFF, include_in_schema=False, name="decisions:preview")
async def preview(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Response:
    """The letter as it would be written with the text typed (not saved)."""
    call = await _call(call_id)
    kind = "award" if data.get("kind") != "rejection" else "rejection"
    field = f"{kind}_template"
    text = data.get(field, "")
    try:
        services.check_letter_template(field, text)
    except DecisionError as exc:
        form = FormState(values=dict(data), prefix="letters")
        form.error(exc.field, error_text(exc.code, exc.detail))
        return await _templates_page(request, call, form=form, status_code=422)
    settings = _settings(request)
    pdf = await jobs.preview(
        call_id, kind, text, base_url=settings.base_url, data_dir=settings.data_dir
    )
    return Response(
        pdf,
        status_code=200,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(f"apercu-{kind}.pdf", "inline")},
    )


# --- Publication ------------------------------------------------------------------------------


@get(PUBLISH, guards=STAFF, include_in_schema=False, name="decisions:publish-confirm")
async def publish_confirm(request: Request, call_id: FromPath[int]) -> Template:
    call = await _call(call_id)
    return render(
        request,
        "decisions/publish.html",
        call=call,
        pending=await services.pending(call_id),
        totals=await services.totals(call_id),
        error=None,
    )


@post(PUBLISH, guards=STAFF, include_in_schema=False, name="decisions:publish")
async def publish(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    call = await _call(call_id)
    try:
        await services.publish(call_id, data.get("token", ""), actor=actor(request))
    except DecisionError as exc:
        return render(
            request,
            "decisions/publish.html",
            status_code=422,
            call=call,
            pending=await services.pending(call_id),
            totals=await services.totals(call_id),
            error=error_text(exc.code, exc.detail),
        )
    wake = getattr(request.app.state, "wake_letters", None)
    if wake is not None:
        wake()
    flash(request, _("The decisions are published; the letters are being written."))
    return Redirect(path_to(PROGRESS, call_id=call_id), status_code=303)


@get(PROGRESS, guards=STAFF, include_in_schema=False, name="decisions:progress")
async def progress(request: Request, call_id: FromPath[int]) -> Template:
    call = await _call(call_id)
    job = await jobs.job_of(call_id)
    template = (
        "decisions/_progress.html" if is_partial_request(request) else "decisions/progress.html"
    )
    return render(request, template, call=call, job=job)


# --- The organisation's side ------------------------------------------------------------------


async def _published(app_id: int) -> dict:
    decision = await services.decision_of(app_id)
    if decision is None or decision["published_at"] is None:
        raise NotFoundException()
    return decision


async def _my_page(
    request: Request, app: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    decision = await _published(app.id)
    grant = await grants.grant_of(app.id)
    follow = (
        await followup.context(await grants.grant_for(request.user, grant["id"]), internal=False)
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
        agreement_wanted=bool(grant and grant["agreement_required"]),
        form=form or FormState(prefix="accept"),
        labels=application_states.LABELS,
    )


@get(MY_DECISION, include_in_schema=False, name="decisions:mine")
async def my_decision(request: Request, app_id: FromPath[int]) -> Template:
    return await _my_page(request, await own_application(request, app_id))


@get(MY_LETTER, include_in_schema=False, name="decisions:my-letter")
async def my_letter(request: Request, app_id: FromPath[int], letter_id: FromPath[int]) -> Response:
    await own_application(request, app_id)
    letter = next((x for x in await jobs.letters_of(app_id) if x["id"] == letter_id), None)
    if letter is None:
        raise NotFoundException()
    return _letter_response(request, letter)


@post(ACCEPT, include_in_schema=False, name="decisions:accept")
async def accept(
    request: Request, app_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    app = await own_application(request, app_id)
    await _published(app_id)
    grant = await grants.grant_of(app_id)
    if grant is None:
        raise NotFoundException()
    form = FormState(values=dict(data), prefix="accept")
    # Every missing answer shown at once, beside its field.
    for field, missing in (
        ("signatory_name", not data.get("signatory_name", "").strip()),
        ("signatory_capacity", not data.get("signatory_capacity", "").strip()),
        ("conditions", data.get("conditions") != "yes"),
    ):
        if missing:
            form.error(field, error_text(field))
    if not form.ok:
        return await _my_page(request, app, form=form, status_code=422)
    try:
        await grants.accept(
            grant["id"],
            signatory_name=data.get("signatory_name", ""),
            signatory_capacity=data.get("signatory_capacity", ""),
            conditions_ticked=data.get("conditions") == "yes",
            user_id=request.user.id,
            actor=actor(request),
        )
    except GrantError as exc:
        field = exc.code if exc.code in ACCEPT_FIELDS else "signatory_name"
        form.error(field, error_text(exc.code))
        return await _my_page(request, app, form=form, status_code=422)
    flash(request, _("You have accepted the grant. Its follow-up starts now."))
    return Redirect(path_to(MY_DECISION, app_id=app_id), status_code=303)


@post(
    AGREEMENT,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_AGREEMENT),
    include_in_schema=False,
    name="decisions:agreement",
)
async def upload_agreement(request: Request, app_id: FromPath[int]) -> Redirect:
    """The signed agreement (PDF), streamed to storage (CSRF checked while reading)."""
    app = await own_application(request, app_id)
    await _published(app_id)
    grant = await grants.grant_of(app_id)
    if grant is None:
        raise NotFoundException()
    error = None
    if grant["status"] != "active":
        error = error_text("not_active")
    else:
        try:
            received = await storage.receive_upload(request, max_bytes=MAX_AGREEMENT, kinds={"pdf"})
        except (storage.UploadRefused, storage.UploadTooLarge) as exc:
            error = exc.text()
        else:
            stored = received.file("file")
            if stored is None:
                error = error_text("upload_missing")
            else:
                try:
                    await grants.attach_agreement(
                        grant["id"],
                        storage_id=stored.storage_id,
                        name=stored.filename,
                        sha256=stored.sha256,
                        actor=actor(request),
                    )
                except GrantError as exc:
                    _storage(request).delete(stored.storage_id)
                    error = error_text(exc.code)
                except BaseException:
                    _storage(request).delete(stored.storage_id)
                    raise
    if error:
        flash(request, error, "error")
    else:
        flash(request, _("The signed agreement is received."))
    return Redirect(path_to(MY_DECISION, app_id=app.id) + "#agreement", status_code=303)


@get(AGREEMENT, include_in_schema=False, name="decisions:agreement-download")
async def agreement_download(request: Request, app_id: FromPath[int]) -> Response:
    """The signed agreement: the organisation's members and the staff."""
    await visible_application(request, app_id)
    grant = await grants.grant_of(app_id)
    if grant is None or not grant["agreement_file"]:
        raise NotFoundException()
    return _storage(request).download(
        grant["agreement_file"], filename=grant["agreement_name"], content_type="application/pdf"
    )


ROUTES = [
    sheet,
    save_settings,
    decide,
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
    my_decision,
    my_letter,
    accept,
    upload_agreement,
    agreement_download,
]
