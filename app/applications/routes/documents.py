"""The file's documents and messages, for its organisation and the staff: uploads
streamed to storage, downloads, the receipt, the message thread."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.applications import services
from app.applications.deps import own_application, visible_application
from app.applications.drafts import NOT_EDITABLE
from app.applications.ineligibility import ineligibility_decision
from app.applications.receipts import Receipts
from app.applications.routes.pages import (
    DOWNLOAD,
    DRAFT,
    INELIGIBILITY,
    MESSAGES,
    RECEIPT,
    STAFF_FILE,
    UPLOAD,
    draft_page,
    staff_page,
)
from app.applications.services import ApplicationError, NewFile
from app.calls import services as calls
from app.core import storage
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.storage import FileStorage
from app.core.web import flash, path_to
from app.quotas import QuotaExceeded, StorageLimits
from app.settings import MESSAGE_FILE_CEILING_MB, Settings

MAX_UPLOAD = calls.MAX_DOCUMENT_MB * storage.MB


@post(
    UPLOAD,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_UPLOAD),
    name="applications:upload",
)
async def upload(
    request: Request,
    app_id: FromPath[int],
    key: FromPath[str],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Template | Redirect:
    """Streamed straight to storage (size, type and CSRF checked while reading).

    The version cap and the quotas are checked before the body is read (by its
    Content-Length), the file is stopped at the room left while it streams, and the
    service checks again in the transaction that records it."""
    app = await own_application(request, app_id)
    document = services.document_spec(app, key)
    if document is None:
        raise NotFoundException()
    limits = StorageLimits.from_settings(settings)
    document_bytes = document["max_mb"] * storage.MB
    error = None
    status_code = 422
    room = None
    if not services.is_editable(app):
        error = _(NOT_EDITABLE)
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
                        NewFile.of(stored),
                        user=request.user,
                        actor=actor,
                        limits=limits,
                        storage=files,
                    )
                except BaseException:
                    files.delete(stored.storage_id)
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
        except (QuotaExceeded, ApplicationError) as exc:
            error = exc.text()
    if error:
        return await draft_page(request, app, status_code=status_code, upload_error=(key, error))
    flash(request, _("The document « %(label)s » is attached.") % {"label": document["label"]})
    return Redirect(path_to(DRAFT, app_id=app_id) + f"#document-{key}", status_code=303)


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
    """The decision that the file is ineligible, with the appeal routes (a GET writes
    nothing: the PDF is made from the file as screened)."""
    app = await visible_application(request, app_id)
    data = await ineligibility_decision(app, files)
    if data is None:
        raise NotFoundException()
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="irrecevabilite-{app.reference}.pdf"'
        },
    )


router = Router(
    path="/",
    route_handlers=[upload, post_message, download, receipt, ineligibility],
    include_in_schema=False,
)
