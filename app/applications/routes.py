"""Application pages: eligibility, the draft (autosaved), documents, submission with
its receipt, withdrawal; the staff's table, export and file view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import File, Redirect, Stream, Template

from app.accounts.guards import requires
from app.accounts.routes import actor, base_url
from app.applications import budget as budgets
from app.applications import services, states
from app.applications.deps import own_application, visible_application
from app.applications.receipts import Receipts
from app.applications.services import ApplicationError, Conflict, Ineligible, TableQuery
from app.calls import formspec
from app.calls import services as calls
from app.calls.formspec import KIND_LABELS
from app.calls.routes import ERRORS as CALL_ERRORS
from app.core import storage
from app.core.arrival import received_at
from app.core.exports import table_response
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.i18n import ngettext
from app.core.money import AmountError, amount_input, parse_amount, to_decimal
from app.core.numbers import whole_number
from app.core.ratelimit import Limit
from app.core.templating import file_size
from app.core.time import TimeError, clock, parse_paris
from app.core.web import flash, is_partial_request, path_to, render, settings_of
from app.quotas import QuotaExceeded, StorageLimits
from app.settings import MESSAGE_FILE_CEILING_MB

APPLY = "/appels/{call_id:int}/candidater"
MINE = "/dossiers"
DRAFT = "/dossiers/{app_id:int}"
AUTOSAVE = "/dossiers/{app_id:int}/enregistrer"
SUBMIT = "/dossiers/{app_id:int}/deposer"
WITHDRAW = "/dossiers/{app_id:int}/retirer"
UPLOAD = "/dossiers/{app_id:int}/pieces/{key:str}"
DOWNLOAD = "/dossiers/{app_id:int}/pieces/{attachment_id:int}"
RECEIPT = "/dossiers/{app_id:int}/accuse-de-reception.pdf"
MESSAGES = "/dossiers/{app_id:int}/messages"
STAFF_TABLE = "/instruction/appels/{call_id:int}/dossiers"
STAFF_EXPORT = "/instruction/appels/{call_id:int}/dossiers/export.csv"
STAFF_EXPORT_XLSX = "/instruction/appels/{call_id:int}/dossiers/export.xlsx"
STAFF_FILE = "/instruction/dossiers/{app_id:int}"
SEND_BACK = "/instruction/dossiers/{app_id:int}/a-completer"
SCREEN = "/instruction/dossiers/{app_id:int}/recevabilite"
SCREEN_BULK = "/instruction/appels/{call_id:int}/dossiers/recevabilite"

STAFF = [requires("manage_calls")]

ERRORS = {
    **CALL_ERRORS,
    "number": N_("Enter a number, e.g. 10 or 2,5."),
    "date": N_("Enter a date, e.g. 17/03/2017."),
    "email": N_("Enter an email address like nom@exemple.fr."),
    "url": N_("Enter a web address starting with https://"),
    "call_closed": N_("This call is not open."),
    "not_member": N_("Choose one of your organisations."),
    "not_editable": N_("This file can no longer be changed."),
    "deadline_passed": N_(
        "The deadline has passed: the file cannot be submitted any more. Your draft is kept."
    ),
    "not_withdrawable": N_("This file can no longer be withdrawn."),
    "message_required": N_("Write a message for the applicant."),
    "deadline_past": N_("Choose a deadline in the future."),
    "title_missing": N_("Give your project a title."),
    "answer_missing": N_("Answer « %(label)s »."),
    "document_missing": N_("Attach « %(label)s »."),
    "requested_missing": N_("Enter the amount you request."),
    "requested_below_min": N_("The amount requested is below the call's minimum, %(label)s."),
    "requested_above_max": N_("The amount requested is above the call's maximum, %(label)s."),
    "charges_missing": N_("Fill in the expenses of the budget."),
    "not_balanced": N_(
        "The budget is not balanced: total expenses and total revenue must be equal."
    ),
    "in_kind_not_balanced": N_("Contributions in kind (86 and 87) must be equal."),
    "rate_above_cap": N_(
        "The amount requested is above the call's maximum share of the project's cost."
    ),
    "transition": N_("This change of status is not possible now."),
    "message_too_long": N_("Write at most 5 000 characters."),
    "reason_required": N_("Give the reason the file is ineligible: it is sent to the applicant."),
    "nothing_selected": N_("Select at least one file."),
    "not_screenable": N_("These files are not waiting for screening: %(refs)s."),
    "too_many_versions": N_(
        "This document already has %(num)d versions, the most one document may have: it "
        "can no longer be replaced. Write to the reviewing department if it must change again."
    ),
    "message_file_too_large": N_(
        "A file attached to a message may not exceed %(limit)s; this file is %(size)s."
    ),
    "message_file_too_large_unknown": N_(
        "A file attached to a message may not exceed %(limit)s; this file is larger."
    ),
}


# The file's history, as the staff read it (the audit trail keeps the codes).
HISTORY_LABELS = {
    "applications.started": N_("File started"),
    "applications.document_added": N_("Document attached"),
    "applications.submitted": N_("File submitted"),
    "applications.sent_back": N_("Sent back to the applicant to complete"),
    "applications.eligible": N_("Screened: eligible"),
    "applications.ineligible": N_("Screened: ineligible"),
    "applications.withdrawn": N_("Withdrawn by the applicant"),
    "applications.message_posted": N_("Message posted"),
    "applications.reviews_complete": N_("Every review submitted: reviewed"),
    "applications.reviews_reopened": N_("Under review again"),
    "reviews.assigned": N_("Reviewer assigned"),
    "reviews.saved": N_("Review saved as a draft"),
    "reviews.submitted": N_("Review submitted"),
    "reviews.reopened": N_("Review reopened"),
    "reviews.unassigned": N_("Reviewer taken off the file"),
    "reviews.unassigned_for_conflict": N_("Reviewer taken off: conflict of interest"),
    "reviews.declined": N_("Reviewer declared a conflict of interest"),
    "decisions.decided": N_("Committee decision recorded"),
    "decisions.cleared": N_("Committee decision cleared"),
    "decisions.schedule_set": N_("Instalment schedule set"),
    "decisions.published": N_("Decision published"),
    "decisions.published_award": N_("Decision published: grant awarded"),
    "decisions.published_reject": N_("Decision published: not selected"),
    "decisions.published_waitlist": N_("Decision published: waiting list"),
    "decisions.letter_written": N_("Letter written"),
}


def error_text(code: str, **values) -> str:
    text = _(ERRORS.get(code, N_("Something is not valid.")))
    return text % values if values else text


def refusal_text(exc: ApplicationError, limits: StorageLimits) -> str:
    """An ``ApplicationError``'s message, with the limit the storage rules name."""
    if exc.code == "too_many_versions":
        return error_text(exc.code, num=exc.detail)
    if exc.code == "message_file_too_large":
        return _message_file_too_large(limits, exc.detail)
    return error_text(exc.code)


def _message_file_too_large(limits: StorageLimits, size: int | None) -> str:
    limit = file_size(limits.message_file_bytes)
    if size:
        return error_text("message_file_too_large", limit=limit, size=file_size(size))
    return error_text("message_file_too_large_unknown", limit=limit)


# --- Eligibility ----------------------------------------------------------------------------


@get(APPLY, include_in_schema=False, name="applications:apply")
async def apply_page(request: Request, call_id: FromPath[int]) -> Template:
    call = await calls.public_call(call_id)
    if call is None:
        raise NotFoundException()
    organisations = await services.member_organisations(request.user.id)
    current = request.session.get("org") or {}
    return render(
        request,
        "applications/apply.html",
        call=call,
        organisations=organisations,
        org_options=[(str(o["id"]), o["name"]) for o in organisations],
        form=FormState(values={"organisation": str(current.get("id", ""))}),
        is_open=calls.is_open(call),
    )


@post(APPLY, include_in_schema=False, name="applications:apply-post")
async def apply(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    call = await calls.public_call(call_id)
    if call is None:
        raise NotFoundException()
    organisations = await services.member_organisations(request.user.id)
    form = FormState(values=dict(data))
    try:
        errors = services.check_eligibility(call["eligibility"], data)
    except Ineligible as blocked:
        return render(
            request,
            "applications/ineligible.html",
            status_code=422,
            call=call,
            question=blocked.question,
        )
    org_ids = {str(o["id"]) for o in organisations}
    if data.get("organisation") not in org_ids:
        form.error("organisation", error_text("not_member"))
    questions = {q["key"]: q["label"] for q in call["eligibility"]}
    for key in errors:
        form.error(key, _("Answer yes or no."), questions.get(key))
    if form.ok:
        try:
            app_id = await services.start_application(
                call_id, int(data["organisation"]), user=request.user, actor=actor(request)
            )
        except ApplicationError as exc:
            form.error("organisation", error_text(exc.code))
    if not form.ok:
        return render(
            request,
            "applications/apply.html",
            status_code=422,
            call=call,
            organisations=organisations,
            org_options=[(str(o["id"]), o["name"]) for o in organisations],
            form=form,
            is_open=calls.is_open(call),
        )
    return Redirect(path_to(DRAFT, app_id=app_id), status_code=303)


# --- The draft -----------------------------------------------------------------------------------


@get(MINE, include_in_schema=False, name="applications:mine")
async def mine(request: Request) -> Template:
    return render(
        request,
        "applications/mine.html",
        applications=await services.applications_of(request.user.id),
        labels=states.LABELS,
    )


def _values_of(app: dict) -> dict:
    """The form's values as the person sees them (amounts the French way)."""
    values: dict = {"title": app["title"]}
    for key, value in app["answers"].items():
        field = formspec.field_by_key(app["form"], key)
        if field and field["type"] == "money":
            values[key] = amount_input(value)
        else:
            values[key] = value
    budget = budgets.from_json(app["budget"], app["requested_cents"])
    for key, cents in budget.charges.items():
        values[budgets.field_name("charges", key)] = amount_input(cents)
    for key, cents in budget.produits.items():
        values[budgets.field_name("produits", key)] = amount_input(cents)
    values["requested"] = amount_input(budget.requested) if budget.requested else ""
    return values


def _form_from_request(data) -> dict:
    raw: dict = {}
    for key in data:
        values = data.getall(key)
        raw[key] = values if len(values) > 1 else values[0]
    return raw


async def _draft_page(
    request: Request,
    app: dict,
    *,
    form: FormState | None = None,
    status_code: int = 200,
    conflict: dict | None = None,
    upload_error: tuple[str, str] | None = None,
    message_form: FormState | None = None,
) -> Template:
    values_form = form or FormState(values=_values_of(app))
    budget = (
        budgets.parse(values_form.values)[0]
        if form
        else budgets.from_json(app["budget"], app["requested_cents"])
    )
    return render(
        request,
        "applications/draft.html",
        status_code=status_code,
        app=app,
        form=values_form,
        budget=budget,
        budget_lines=budgets,
        editable=services.is_editable(app),
        attachments={a["document_key"]: a for a in await services.current_attachments(app["id"])},
        labels=states.LABELS,
        status=services.applicant_status(app),
        kind_labels=KIND_LABELS,
        conflict=conflict,
        conflict_values=_values_of(conflict) if conflict else {},
        now=services.now(),
        upload_error=upload_error,
        accept=storage.accept_attribute,
        messages=await services.messages(app["id"]),
        message_form=message_form or FormState(prefix="message"),
        message_file_limit=StorageLimits.from_settings(settings_of(request)).message_file_bytes,
    )


@get(DRAFT, include_in_schema=False, name="applications:draft")
async def draft(request: Request, app_id: FromPath[int]) -> Template:
    return await _draft_page(request, await own_application(request, app_id))


def _errors_to_form(form: FormState, errors: dict[str, str], app: dict) -> None:
    """The draft's errors, each named by its field's label in the error summary."""
    labels = {f["key"]: f["label"] for f in formspec.fields_of(app["form"])}
    labels["title"] = _("Title of the project")
    labels["requested"] = _("Amount requested")
    for side, lines in (
        ("charges", [*budgets.CHARGES, budgets.IN_KIND_CHARGES]),
        ("produits", [*budgets.PRODUITS, budgets.IN_KIND_PRODUITS]),
    ):
        labels.update({budgets.field_name(side, key): _(label) for key, label in lines})
    for key, code in errors.items():
        form.error(key, error_text(code), labels.get(key))


@post(DRAFT, include_in_schema=False, name="applications:save")
async def save(request: Request, app_id: FromPath[int]) -> Template | Redirect:
    """The plain « Enregistrer » button: works without JavaScript."""
    app = await own_application(request, app_id)
    raw = _form_from_request(await request.form())
    form = FormState(values=raw)
    try:
        version = whole_number(raw.get("version")) or 0
        saved = await services.save_draft(
            app_id, user=request.user, version=version, raw=raw, actor=actor(request)
        )
    except ApplicationError as exc:
        if exc.code == "invalid":
            _errors_to_form(form, exc.detail, app)
        else:
            form.error("title", error_text(exc.code))
        return await _draft_page(request, app, form=form, status_code=422)
    except Conflict as conflict:
        # Keep what this person typed, show the other version beside it.
        form.values["version"] = str(conflict.current["version"])
        return await _draft_page(
            request, conflict.current, form=form, status_code=409, conflict=conflict.current
        )
    if saved.errors:
        # The rest is saved: the page shows what to correct, as typed, on the new version.
        _errors_to_form(form, saved.errors, app)
        form.values["version"] = str(saved.version)
        flash(
            request,
            _("Saved at %(time)s, except the answers to correct below.")
            % {"time": clock(saved.at)},
        )
        app = await own_application(request, app_id)
        return await _draft_page(request, app, form=form, status_code=422)
    flash(request, _("Saved at %(time)s.") % {"time": clock(saved.at)})
    return Redirect(path_to(DRAFT, app_id=app_id), status_code=303)


# Autosaves come at most one per change; a person's flood of them must not hold up
# other people's writes (a submission minutes before the deadline): refused before any
# query, and one at a time per file. The page's next change, or « Save », saves.
AUTOSAVES_PER_PERSON = Limit("autosave", 10, 10)


@post(AUTOSAVE, include_in_schema=False, name="applications:autosave")
async def autosave(request: Request, app_id: FromPath[int]) -> Template:
    """htmx autosave on change: answers with a status line (and the new version)."""
    limiter = request.app.state.rate_limiter
    busy = render(
        request, "applications/_autosave.html", status_code=429, app_id=app_id, state="busy"
    )
    if await limiter.hit(AUTOSAVES_PER_PERSON, str(request.user.id)):
        return busy
    async with limiter.exclusive("autosave", str(app_id)) as ours:
        if not ours:
            return busy
        return await _autosave(request, app_id)


async def _autosave(request: Request, app_id: int) -> Template:
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
            actor=actor(request),
        )
        context.update(state="saved", time=clock(saved.at), version=saved.version)
        if saved.errors:
            context.update(state="partly", count=len(saved.errors))
            status_code = 422
    except ApplicationError as exc:
        context.update(
            state="invalid" if exc.code == "invalid" else "refused",
            count=len(exc.detail or {}) if exc.code == "invalid" else 0,
            message=error_text(exc.code),
        )
        status_code = 422
    except Conflict as conflict:
        context.update(state="conflict", time=clock(conflict.current["updated_at"]))
        status_code = 409
    return render(request, "applications/_autosave.html", status_code=status_code, **context)


# --- Documents -------------------------------------------------------------------------------

MAX_UPLOAD = calls.MAX_DOCUMENT_MB * storage.MB


@post(
    UPLOAD,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_UPLOAD),
    include_in_schema=False,
    name="applications:upload",
)
async def upload(
    request: Request, app_id: FromPath[int], key: FromPath[str]
) -> Template | Redirect:
    """Streamed straight to storage (size, type and CSRF checked while reading).

    The version cap and the quotas are checked before the body is read (by its
    Content-Length), the file is stopped at the room left while it streams, and the
    service checks again in the transaction that records it."""
    app = await own_application(request, app_id)
    document = services.document_spec(app, key)
    if document is None:
        raise NotFoundException()
    limits = StorageLimits.from_settings(settings_of(request))
    document_bytes = document["max_mb"] * storage.MB
    error = None
    status_code = 422
    room = None
    if not services.is_editable(app):
        error = error_text("not_editable")
    else:
        try:
            room = await services.document_room(
                app_id, key, size=storage.declared_file_bytes(request), limits=limits
            )
            received = await storage.receive_upload(
                request,
                max_bytes=min(document_bytes, room.left),
                kinds=set(document["kinds"]),
            )
            stored = received.file("file")
            if stored is None:
                error = _(storage.UPLOAD_MESSAGES["missing"])
            else:
                try:
                    await services.add_attachment(
                        app_id,
                        key,
                        _Stored(stored),
                        user=request.user,
                        actor=actor(request),
                        limits=limits,
                        storage=storage.FileStorage.of_app(request.app),
                    )
                except BaseException:
                    storage.FileStorage.of_app(request.app).delete(stored.storage_id)
                    raise
        except storage.UploadTooLarge as exc:
            if (
                exc.code == "file_too_large"
                and room is not None
                and room.left < document_bytes
                and (exc.size is None or exc.size <= document_bytes)
            ):
                # Stopped at the room the quotas leave, not at the document's limit.
                error = QuotaExceeded(room.tightest).text()
            else:
                error = exc.text()
                status_code = 413
        except storage.UploadRefused as exc:
            error = exc.text()
        except QuotaExceeded as exc:
            error = exc.text()
        except ApplicationError as exc:
            error = refusal_text(exc, limits)
    if error:
        return await _draft_page(request, app, status_code=status_code, upload_error=(key, error))
    flash(request, _("The document « %(label)s » is attached.") % {"label": document["label"]})
    return Redirect(path_to(DRAFT, app_id=app_id) + f"#document-{key}", status_code=303)


class _Stored:
    """The stored file as the service records it."""

    def __init__(self, stored: storage.StoredFile):
        self.storage_id = stored.storage_id
        self.original_name = stored.filename
        self.size = stored.size
        self.sha256 = stored.sha256
        self.kind = stored.kind
        self.content_type = stored.content_type


# The route's body limit; MESSAGE_FILE_MAX_MB (at most this) is the file's limit.
MAX_MESSAGE_BODY = storage.body_limit(MESSAGE_FILE_CEILING_MB * storage.MB)


@post(
    MESSAGES,
    opt={"exclude_from_csrf": True},
    request_max_body_size=MAX_MESSAGE_BODY,
    include_in_schema=False,
    name="applications:message",
)
async def post_message(request: Request, app_id: FromPath[int]) -> Template | Redirect:
    """A message with an optional file, from the organisation or the staff (streamed,
    same checks as documents). A file over the message's limit or the room the quotas
    leave is refused as soon as it begins when Content-Length says so, else when it
    passes the limit; the page then shows the reason at the top of the thread and the
    message as typed."""
    app = await visible_application(request, app_id)
    staff = not await services.is_member(request.user.id, app["organisation"])
    limits = StorageLimits.from_settings(settings_of(request))
    form = FormState(prefix="message")
    status_code = 422
    stored = None
    room = await services.message_room(app_id, user=request.user, limits=limits)
    max_bytes = limits.message_file_bytes
    if room is not None:
        max_bytes = max(1, min(max_bytes, room.left))
    try:
        received = await storage.receive_upload(
            request, max_bytes=max_bytes, text_fields={"body"}, kinds=set(storage.DEFAULT_KINDS)
        )
        form.values["body"] = received.fields.get("body", "")
        stored = received.file("file")
        await services.post_message(
            app_id,
            form.values["body"],
            _Stored(stored) if stored else None,
            user=request.user,
            actor=actor(request),
            base_url=base_url(request),
            limits=limits,
        )
    except storage.UploadTooLarge as exc:
        form.values["body"] = exc.fields.get("body", "")
        if exc.code != "file_too_large":
            form.error("body", exc.text())
        elif exc.size is not None and exc.size > limits.message_file_bytes:
            form.error("file", _message_file_too_large(limits, exc.size))
            status_code = 413
        elif room is not None and max_bytes < limits.message_file_bytes:
            form.error("file", QuotaExceeded(room.tightest).text())
        else:
            form.error("file", _message_file_too_large(limits, None))
            status_code = 413
    except storage.UploadRefused as exc:
        form.values["body"] = exc.fields.get("body", "")
        form.error("file", exc.text())
    except QuotaExceeded as exc:
        form.error("file", exc.text())
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise NotFoundException() from None
        field = "file" if exc.code == "message_file_too_large" else "body"
        form.error(field, refusal_text(exc, limits))
        if exc.code == "message_file_too_large":
            status_code = 413
    if not form.ok:
        if stored is not None:
            storage.FileStorage.of_app(request.app).delete(stored.storage_id)
        if staff:
            return await _staff_page(request, app, message_form=form, status_code=status_code)
        return await _draft_page(request, app, message_form=form, status_code=status_code)
    flash(request, _("Your message is sent."))
    back = path_to(STAFF_FILE if staff else DRAFT, app_id=app_id) + "#messages"
    return Redirect(back, status_code=303)


@get(DOWNLOAD, include_in_schema=False, name="applications:download")
async def download(
    request: Request, app_id: FromPath[int], attachment_id: FromPath[int]
) -> Response:
    attachment = await services.attachment_for(request.user, app_id, attachment_id)
    if attachment is None:
        raise NotFoundException()
    return storage.FileStorage.of_app(request.app).download(
        attachment["storage_id"],
        filename=attachment["original_name"],
        content_type=attachment["content_type"],
    )


@get(RECEIPT, include_in_schema=False, name="applications:receipt")
async def receipt(request: Request, app_id: FromPath[int]) -> Response:
    app = await visible_application(request, app_id)
    stored = await services.ensure_receipt(app, Receipts(request.app.state.settings))
    if stored is None:
        raise NotFoundException()
    return storage.FileStorage.of_app(request.app).download(
        stored,
        filename=f"accuse-de-reception-{app['reference']}.pdf",
        content_type="application/pdf",
    )


# --- Submission ---------------------------------------------------------------------------------


def _problem_texts(problems) -> list[tuple[str, str]]:
    return [
        (p.anchor, error_text(p.code, label=p.label) if p.label else error_text(p.code))
        for p in problems
    ]


@get(SUBMIT, include_in_schema=False, name="applications:submit")
async def submit_page(request: Request, app_id: FromPath[int]) -> Template:
    app = await own_application(request, app_id)
    problems = await services.submission_problems(app)
    return render(
        request,
        "applications/submit.html",
        app=app,
        problems=_problem_texts(problems),
        editable=services.is_editable(app),
        now=services.now(),
    )


@post(SUBMIT, include_in_schema=False, name="applications:submit-post")
async def submit(request: Request, app_id: FromPath[int]) -> Template | Redirect:
    app = await own_application(request, app_id)
    try:
        await services.submit(
            app_id,
            user=request.user,
            actor=actor(request),
            receipts=Receipts(request.app.state.settings),
            received_at=received_at(request.scope),
        )
    except ApplicationError as exc:
        problems = (
            _problem_texts(exc.detail) if exc.code == "incomplete" else [("", error_text(exc.code))]
        )
        return render(
            request,
            "applications/submit.html",
            status_code=422,
            app=app,
            problems=problems,
            editable=services.is_editable(app),
            now=services.now(),
        )
    flash(
        request,
        _("Your file is submitted. You will receive an acknowledgement of receipt by email."),
    )
    return Redirect(path_to(DRAFT, app_id=app_id), status_code=303)


@get(WITHDRAW, include_in_schema=False, name="applications:withdraw-page")
async def withdraw_page(request: Request, app_id: FromPath[int]) -> Template:
    """Withdrawing is final: said first, confirmed by a second step."""
    app = await own_application(request, app_id)
    return render(
        request,
        "applications/withdraw.html",
        app=app,
        withdrawable=states.APPLICATION.can("withdraw", app["status"], "applicant"),
    )


@post(WITHDRAW, include_in_schema=False, name="applications:withdraw")
async def withdraw(
    request: Request, app_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    await own_application(request, app_id)
    if data.get("confirm") != "yes":
        return Redirect(path_to(WITHDRAW, app_id=app_id), status_code=303)
    try:
        await services.withdraw(app_id, user=request.user, actor=actor(request))
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise NotFoundException() from None
        flash(request, error_text(exc.code), "error")
    else:
        flash(request, _("Your file is withdrawn."))
    return Redirect(path_to(DRAFT, app_id=app_id), status_code=303)


# --- Staff -----------------------------------------------------------------------------------------


def _table_query(params: dict[str, str]) -> tuple[TableQuery, FormState]:
    form = FormState(
        values={
            k: (params.get(k) or "").strip()[:100]
            for k in ("status", "organisation", "q", "min", "max", "from", "to", "sort", "order")
        }
    )
    query = TableQuery(
        status=form.values["status"] if form.values["status"] in states.LABELS else "",
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
                form.error(name, error_text("money_" + exc.code), label)
    for name, attr, end in (("from", "submitted_from", False), ("to", "submitted_until", True)):
        if form.values[name]:
            try:
                setattr(
                    query,
                    attr,
                    parse_paris(form.values[name] + ("T23:59:59" if end else "T00:00")),
                )
            except TimeError:
                form.error(
                    name, error_text("date"), _("Submitted from") if name == "from" else _("to")
                )
    try:
        query.page = max(1, int(params.get("page") or 1))
    except ValueError:
        query.page = 1
    return query, form


@get(STAFF_TABLE, guards=STAFF, include_in_schema=False, name="applications:staff-table")
async def staff_table(request: Request, call_id: FromPath[int]) -> Template:
    call = await calls.get_call(call_id)
    if call is None:
        raise NotFoundException()
    return await _staff_table_page(request, call, dict(request.query_params))


async def _staff_table_page(
    request: Request,
    call: dict,
    filters: dict[str, str],
    *,
    bulk: FormState | None = None,
    ticked: frozenset[int] = frozenset(),
    status_code: int = 200,
) -> Template:
    """The table as filtered by ``filters`` (the page's query string); ``bulk`` and
    ``ticked``: a refused bulk screening shown again as it was typed."""
    query, form = _table_query(filters)
    rows, total = await services.staff_table(call["id"], query)
    template = (
        "applications/_staff_rows.html"
        if is_partial_request(request)
        else "applications/staff_table.html"
    )
    return render(
        request,
        template,
        status_code=status_code,
        call=call,
        rows=rows,
        total=total,
        form=form,
        query=query,
        pages=max(1, -(-total // services.PAGE_SIZE)),
        labels=states.LABELS,
        params={k: v for k, v in form.values.items() if v},
        sorts=list(services.SORTS),
        bulk=bulk or FormState(prefix="bulk"),
        ticked=ticked,
    )


@get(STAFF_EXPORT, guards=STAFF, include_in_schema=False, name="applications:staff-export")
async def staff_export(request: Request, call_id: FromPath[int]) -> Stream | File:
    return await _staff_export(request, call_id, "csv", dict(request.query_params))


@get(
    STAFF_EXPORT_XLSX, guards=STAFF, include_in_schema=False, name="applications:staff-export-xlsx"
)
async def staff_export_xlsx(request: Request, call_id: FromPath[int]) -> Stream | File:
    return await _staff_export(request, call_id, "xlsx", dict(request.query_params))


async def _staff_export(
    request: Request, call_id: int, extension: str, filters: dict[str, str]
) -> Stream | File:
    """The applications table as filtered on screen (``filters``: the page's query
    string), every page, as CSV or XLSX."""
    if await calls.get_call(call_id) is None:
        raise NotFoundException()
    query, _form = _table_query(filters)

    async def rows() -> AsyncIterator[list]:
        async for row in services.iter_table(call_id, query):
            yield [
                row["reference"] or "",
                row["organisation_name"],
                row["siret"],
                row["title"],
                row["status"],
                to_decimal(row["requested_cents"]),
                row["submitted_at"],
            ]

    return await table_response(
        extension,
        request.app.state.settings.data_dir / "tmp",
        f"dossiers-appel-{call_id}",
        ["reference", "organisation", "siret", "title", "status", "requested_eur", "submitted_at"],
        rows(),
    )


async def _staff_page(
    request: Request,
    app: dict,
    *,
    form: FormState | None = None,
    screening_form: FormState | None = None,
    message_form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    return render(
        request,
        "applications/staff_file.html",
        status_code=status_code,
        app=app,
        labels=states.LABELS,
        attachments=await services.attachment_history(app["id"]),
        history=await services.history(app["id"]),
        history_labels=HISTORY_LABELS,
        budget=budgets.from_json(app["budget"], app["requested_cents"]),
        budget_lines=budgets,
        form=form or FormState(),
        fields=formspec.fields_of(app["form"]),
        can_send_back=states.APPLICATION.can("request_completion", app["status"], "officer"),
        can_screen=states.APPLICATION.can("mark_ineligible", app["status"], "officer"),
        screening_form=screening_form
        or FormState(values={"decision": "eligible"}, prefix="screening"),
        messages=await services.messages(app["id"]),
        message_form=message_form or FormState(prefix="message"),
        message_file_limit=StorageLimits.from_settings(settings_of(request)).message_file_bytes,
    )


@get(STAFF_FILE, guards=STAFF, include_in_schema=False, name="applications:staff-file")
async def staff_file(request: Request, app_id: FromPath[int]) -> Template:
    return await _staff_page(request, await visible_application(request, app_id))


@post(SEND_BACK, guards=STAFF, include_in_schema=False, name="applications:send-back")
async def send_back(
    request: Request, app_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    app = await visible_application(request, app_id)
    form = FormState(
        values={"message": data.get("message", ""), "complete_by": data.get("complete_by", "")}
    )
    complete_by = None
    try:
        complete_by = parse_paris(form.values["complete_by"])
    except TimeError as exc:
        form.error("complete_by", error_text(exc.code))
    if form.ok:
        try:
            await services.request_completion(
                app_id,
                message=form.values["message"],
                complete_by=complete_by,
                user=request.user,
                actor=actor(request),
                base_url=base_url(request),
            )
        except ApplicationError as exc:
            form.error(
                "message" if exc.code == "message_required" else "complete_by", error_text(exc.code)
            )
    if not form.ok:
        return await _staff_page(request, app, form=form, status_code=422)
    flash(request, _("The file is sent back to the applicant."))
    return Redirect(path_to(STAFF_FILE, app_id=app_id), status_code=303)


@post(SCREEN, guards=STAFF, include_in_schema=False, name="applications:screen")
async def screen(
    request: Request, app_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
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
            actor=actor(request),
            base_url=base_url(request),
        )
    except ApplicationError as exc:
        form.error("reason" if exc.code == "reason_required" else "decision", _screen_error(exc))
        return await _staff_page(request, app, screening_form=form, status_code=422)
    flash(request, _("The screening decision is recorded and sent to the applicant."))
    return Redirect(path_to(STAFF_FILE, app_id=app_id), status_code=303)


def _screen_error(exc: ApplicationError) -> str:
    if exc.code == "not_screenable":
        return error_text(exc.code) % {"refs": ", ".join(exc.detail)}
    return error_text(exc.code)


@post(SCREEN_BULK, guards=STAFF, include_in_schema=False, name="applications:screen-bulk")
async def screen_bulk(request: Request, call_id: FromPath[int]) -> Template | Redirect:
    """The same for the files ticked in the table: all of them or none. The form posts
    with the table's query string: its filters stay, after a refusal (with the ticks,
    the decision and the reason as typed) and after success."""
    call = await calls.get_call(call_id)
    if call is None:
        raise NotFoundException()
    filters = dict(request.query_params)
    data = await request.form()
    ids = [i for v in data.getall("ids", []) if (i := whole_number(v)) is not None]
    mine = {row["id"] async for row in services.iter_table(call_id, TableQuery())}
    if any(i not in mine for i in ids):
        raise NotFoundException()
    decision = data.get("decision", "")
    try:
        count = await services.screen(
            ids,
            decision,
            reason=data.get("reason", ""),
            user=request.user,
            actor=actor(request),
            base_url=base_url(request),
        )
    except ApplicationError as exc:
        bulk = FormState(
            values={"decision": decision, "reason": data.get("reason", "")}, prefix="bulk"
        )
        bulk.error("reason" if exc.code == "reason_required" else "decision", _screen_error(exc))
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


ROUTES = [
    apply_page,
    apply,
    mine,
    draft,
    save,
    autosave,
    upload,
    download,
    receipt,
    post_message,
    submit_page,
    submit,
    withdraw_page,
    withdraw,
    staff_table,
    staff_export,
    staff_export_xlsx,
    staff_file,
    send_back,
    screen,
    screen_bulk,
]
