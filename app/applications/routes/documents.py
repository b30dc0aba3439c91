"""The file's documents and messages, for its organisation and the staff: uploads
streamed to storage, downloads, the receipt, the message thread."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts.guards import KEEP_ANSWERS, KEEP_ANSWERS_READER
from app.accounts.services import load_current_user
from app.applications import budget as budgets
from app.applications import ineligibility as decision_pdf
from app.applications import services
from app.applications.deps import own_application, visible_application
from app.applications.drafts import NOT_EDITABLE
from app.applications.receipts import Receipts
from app.applications.routes.pages import (
    DOWNLOAD,
    DRAFT,
    INELIGIBILITY,
    MESSAGES,
    RECEIPT,
    STAFF_FILE,
    UPLOAD,
    UPLOAD_ERROR,
    draft_page,
    staff_page,
)
from app.applications.services import ApplicationError, ApplicationView, Conflict, NewFile
from app.calls import formspec
from app.calls import services as calls
from app.core import kept_forms, storage
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.numbers import whole_number
from app.core.storage import FileStorage
from app.core.web import flash, path_to
from app.quotas import QuotaExceeded, StorageLimits
from app.settings import MESSAGE_FILE_CEILING_MB, Settings

MAX_UPLOAD = calls.MAX_DOCUMENT_MB * storage.MB
# The draft's answers travel with its uploads (one form): room for them in the body.
FORM_BYTES = 2 * storage.MB
MAX_ANSWER_BYTES = 4 * formspec.LONG_TEXT_MAX + 1024
# Bodies up to this are read as far as their answers, then refused when the file
# begins if Content-Length says it is over the document's limit (never read); larger
# ones are Litestar's plain 413.
UPLOAD_BODY_CEILING = 1024 * storage.MB
# The draft form's last answer field: received, all the answers before it were too.
ANSWERS_END = "answers_end"


def _draft_fields(app: ApplicationView) -> tuple[set[str], set[str], set[str]]:
    """The draft form's text fields, its repeated ones (checkboxes) and its file inputs."""
    fields = formspec.fields_of(app.form)
    text = {"version", "title", "requested", ANSWERS_END}
    text |= {f["key"] for f in fields if f["type"] not in ("file", "multiple_choice")}
    for side, lines in (
        ("charges", [*budgets.CHARGES, budgets.IN_KIND_CHARGES]),
        ("produits", [*budgets.PRODUITS, budgets.IN_KIND_PRODUITS]),
    ):
        text |= {budgets.field_name(side, key) for key, _label in lines}
    lists = {f["key"] for f in fields if f["type"] == "multiple_choice"}
    files = {file_input(d["key"]) for d in app.documents}
    files |= {file_input(f["key"]) for f in fields if f["type"] == "file"}
    return text, lists, files


def file_input(key: str) -> str:
    """The name of a document's (or a file question's) file input in the draft form."""
    return f"file-{key}"


async def answers_sent_after_session_end(request: Request, user_id: int) -> dict | None:
    """The draft's answers posted with a document after the session ended (the guard's
    ``KEEP_ANSWERS_READER``): read from the stream as an upload is, the CSRF token
    first, every file read past and dropped (none is stored without a session). None —
    nothing kept — unless this person may edit this file and every answer arrived."""
    user = await load_current_user(user_id)
    app_id = request.path_params["app_id"]
    app = None if user is None else await services.application_for(user, app_id, members_only=True)
    if app is None or not services.is_editable(app):
        return None
    text_fields, list_fields, file_inputs = _draft_fields(app)
    try:
        received = await storage.receive_upload(
            request,
            max_bytes=1,
            file_fields=(),
            skipped_file_fields=file_inputs | {"file"},
            text_fields=text_fields,
            list_fields=list_fields,
            max_list_values=sum(
                len(f["choices"]) for f in formspec.fields_of(app.form) if f["key"] in list_fields
            ),
            max_field_bytes=MAX_ANSWER_BYTES,
            form_bytes=FORM_BYTES,
        )
    except (storage.UploadError, PermissionDeniedException):
        return None
    if received.fields.get(ANSWERS_END) != "1":
        return None
    return {**received.fields, **received.lists}


@post(
    UPLOAD,
    opt={
        "exclude_from_csrf": True,
        KEEP_ANSWERS: DRAFT,
        KEEP_ANSWERS_READER: answers_sent_after_session_end,
    },
    request_max_body_size=UPLOAD_BODY_CEILING,
    name="applications:upload",
)
async def upload(
    request: Request,
    app_id: FromPath[int],
    key: FromPath[str],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Redirect:
    """A document's « Send » button in the draft form: the answers are saved with it,
    then the file is attached (streamed to storage; size, type and CSRF checked while
    reading). Whatever happens, the answer is a redirect to the file's page: a refusal
    is said there, beside the document, with the answers as typed.

    A file Content-Length says is too large is refused when it begins, before a byte of
    it is read (the answers before it are kept); so are the version cap and the quotas
    (checked before reading, again in the transaction that records the file)."""
    app = await own_application(request, app_id)
    document = services.document_spec(app, key)
    if document is None:
        raise NotFoundException()
    limits = StorageLimits.from_settings(settings)
    document_bytes = document["max_mb"] * storage.MB
    text_fields, list_fields, file_inputs = _draft_fields(app)
    name = file_input(key)
    refused = None  # raised before reading: said once the answers are read
    room = None
    if not services.is_editable(app):
        refused = ApplicationError("not_editable", NOT_EDITABLE)
    else:
        try:
            room = await services.document_room(app_id, key, size=1, limits=limits)
        except (QuotaExceeded, ApplicationError) as exc:
            refused = exc
    max_bytes = 1 if refused or room is None else max(1, min(document_bytes, room.left))
    error: str | None = None
    stored = None
    fields: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    try:
        received = await storage.receive_upload(
            request,
            max_bytes=max_bytes,
            kinds=set(document["kinds"]),
            # « file »: a form of this document alone (scripts, older pages).
            file_fields={name, "file"},
            skipped_file_fields=file_inputs - {name},
            text_fields=text_fields,
            list_fields=list_fields,
            max_list_values=sum(
                len(f["choices"]) for f in formspec.fields_of(app.form) if f["key"] in list_fields
            ),
            max_field_bytes=MAX_ANSWER_BYTES,
            form_bytes=FORM_BYTES,
        )
        fields, lists = received.fields, received.lists
        stored = received.file(name) or received.file("file")
        if refused is None and stored is None:
            error = _(storage.UPLOAD_MESSAGES["missing"])
    except storage.UploadTooLarge as exc:
        fields, lists = exc.fields, exc.lists
        if exc.code != "file_too_large":
            error = exc.text()
        elif (
            refused is None
            and room is not None
            and room.left < document_bytes
            and (exc.size is None or exc.size <= document_bytes)
        ):
            # Stopped at the room the quotas leave, not at the document's limit.
            error = QuotaExceeded(room.tightest).text()
        elif refused is None:
            error = services.document_too_large(document["max_mb"], exc.size).text()
    except storage.UploadRefused as exc:
        fields, lists = exc.fields, exc.lists
        error = exc.text()
    if refused is not None:
        error = refused.text()
        if stored is not None:
            files.delete(stored.storage_id)
            stored = None
    raw = {**fields, **lists}
    complete = fields.get(ANSWERS_END) == "1"
    page = path_to(DRAFT, app_id=app_id)
    kept = await _save_answers(request, app, raw, actor) if complete else raw
    if stored is not None and error is None:
        try:
            await services.add_attachment(
                app_id,
                key,
                NewFile.of(stored),
                user=request.user,
                actor=actor,
                limits=limits,
                storage=files,
            )
        except (QuotaExceeded, ApplicationError) as exc:
            files.delete(stored.storage_id)
            error = exc.text()
        except BaseException:
            files.delete(stored.storage_id)
            raise
    elif stored is not None:
        files.delete(stored.storage_id)
    response = Redirect(page + f"#document-{key}", status_code=303)
    if error:
        request.session[UPLOAD_ERROR] = [key, error]
    else:
        flash(request, _("The document « %(label)s » is attached.") % {"label": document["label"]})
    if kept:
        # Answers not saved (wrong, or the form stopped before them): shown as typed.
        token = kept_forms.keep(
            settings.data_dir,
            page=page,
            user_id=request.user.id,
            values=kept,
            reason="upload" if complete else "upload_partial",
            replaces=request.cookies.get(kept_forms.COOKIE),
            organisation=app.organisation,
        )
        if token:
            response.set_cookie(
                kept_forms.COOKIE,
                token,
                max_age=kept_forms.KEPT_FOR_S,
                httponly=True,
                samesite="lax",
                secure=settings.production,
            )
    return response


async def _save_answers(
    request: Request, app: ApplicationView, raw: dict, actor: Actor
) -> dict | None:
    """Save the answers sent with an upload; the answers to keep aside (as typed) when
    some could not be saved, else None."""
    if not services.is_editable(app):
        return None
    try:
        version = whole_number(raw.get("version")) or 0
        saved = await services.save_draft(
            app.id, user=request.user, version=version, raw=raw, actor=actor
        )
    except Conflict:
        flash(
            request,
            _(
                "Your answers were not saved: someone else saved this file meanwhile. "
                "Check the answers below and save again."
            ),
            "error",
        )
        return raw
    except ApplicationError:
        return raw
    if saved.errors:
        return {**raw, "version": str(saved.version)}
    return None


# The route's body limit; MESSAGE_FILE_MAX_MB (at most this) is the file's limit.
MAX_MESSAGE_BODY = storage.body_limit(MESSAGE_FILE_CEILING_MB * storage.MB)


@post(
    MESSAGES,
    opt={"exclude_from_csrf": True},
    request_max_body_size=MAX_MESSAGE_BODY,
    name="applications:message",
)
async def post_message(
    request: Request,
    app_id: FromPath[int],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Template | Redirect:
    """A message with an optional file, from the organisation or the staff (streamed,
    same checks as documents). A file over the message's limit or the room the quotas
    leave is refused as soon as it begins when Content-Length says so, else when it
    passes the limit; the page then shows the reason at the top of the thread and the
    message as typed."""
    app = await visible_application(request, app_id)
    staff = not await services.is_member(request.user.id, app.organisation)
    limits = StorageLimits.from_settings(settings)
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
            NewFile.of(stored) if stored else None,
            user=request.user,
            actor=actor,
            base_url=settings.base_url,
            limits=limits,
        )
    except storage.UploadTooLarge as exc:
        form.values["body"] = exc.fields.get("body", "")
        if exc.code != "file_too_large":
            form.error("body", exc.text())
        elif exc.size is not None and exc.size > limits.message_file_bytes:
            form.refuse(services.file_too_large(limits, exc.size))
            status_code = 413
        elif room is not None and max_bytes < limits.message_file_bytes:
            form.refuse(QuotaExceeded(room.tightest))
        else:
            form.refuse(services.file_too_large(limits, None))
            status_code = 413
    except storage.UploadRefused as exc:
        form.values["body"] = exc.fields.get("body", "")
        form.error("file", exc.text())
    except QuotaExceeded as exc:
        form.refuse(exc, "file")
    except ApplicationError as exc:
        if exc.code == "not_found":
            raise NotFoundException() from None
        form.refuse(exc, "body")
        if exc.code == "message_file_too_large":
            status_code = 413
    if not form.ok:
        if stored is not None:
            files.delete(stored.storage_id)
        if staff:
            return await staff_page(request, app, message_form=form, status_code=status_code)
        return await draft_page(request, app, message_form=form, status_code=status_code)
    flash(request, _("Your message is sent."))
    back = path_to(STAFF_FILE if staff else DRAFT, app_id=app_id) + "#messages"
    return Redirect(back, status_code=303)


@get(DOWNLOAD, name="applications:download")
async def download(
    request: Request,
    app_id: FromPath[int],
    attachment_id: FromPath[int],
    files: NamedDependency[FileStorage],
) -> Response:
    attachment = await services.attachment_for(request.user, app_id, attachment_id)
    if attachment is None:
        raise NotFoundException()
    return files.download(
        attachment["storage_id"],
        filename=attachment["original_name"],
        content_type=attachment["content_type"],
    )


@get(RECEIPT, name="applications:receipt")
async def receipt(
    request: Request,
    app_id: FromPath[int],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Response:
    app = await visible_application(request, app_id)
    stored = await services.ensure_receipt(app, Receipts(settings))
    if stored is None:
        raise NotFoundException()
    return files.download(
        stored,
        filename=f"accuse-de-reception-{app.reference}.pdf",
        content_type="application/pdf",
    )


@get(INELIGIBILITY, name="applications:ineligibility")
async def ineligibility(
    request: Request, app_id: FromPath[int], files: NamedDependency[FileStorage]
) -> Response:
    """The decision that the file is ineligible, with the appeal routes: the one stored
    at screening; made again, not stored, for a file screened before (a GET writes
    nothing)."""
    app = await visible_application(request, app_id)
    if app.screened_out and app.ineligibility_file:
        return files.download(
            app.ineligibility_file,
            filename=decision_pdf.file_name(app),
            content_type="application/pdf",
        )
    data = await decision_pdf.ineligibility_decision(app, files)
    if data is None:
        raise NotFoundException()
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{decision_pdf.file_name(app)}"'},
    )


router = Router(
    path="/",
    route_handlers=[upload, post_message, download, receipt, ineligibility],
    include_in_schema=False,
)
