"""The reports (bilans) an organisation writes on its grant: the page, saving and
submitting, supporting documents (streamed uploads), and the documents' download for
the organisation's members and the staff."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.applications.deps import own_application
from app.core import storage
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.money import amount_input
from app.core.storage import FileStorage
from app.core.web import flash, path_to, render
from app.grants import followup, reports
from app.grants import services as grants
from app.grants.models import GrantRecord
from app.quotas import QuotaExceeded, StorageLimits
from app.settings import Settings

MY_REPORT = "/dossiers/{app_id:int}/bilans/{kind:str}"
MY_REPORT_FILE = "/dossiers/{app_id:int}/bilans/{kind:str}/pieces"
REPORT_FILE = "/suivi/pieces-de-bilan/{attachment_id:int}"

MAX_REPORT_FILE = 20 * storage.MB


async def _own_grant(request: Request, app_id: int, kind: str) -> tuple[dict, GrantRecord]:
    """The application (of one of this person's organisations) and its grant."""
    if kind not in reports.KINDS:
        raise NotFoundException()
    app = await own_application(request, app_id)
    grant = await grants.grant_of(app_id)
    if grant is None:
        raise NotFoundException()
    return app, grant


async def _report_page(
    request: Request,
    app: dict,
    grant: GrantRecord,
    kind: str,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    report = await reports.report_of(grant.id, kind)
    lines = reports.statement(grant.budget, grant.requested_cents, report.actuals)
    if form is None:
        values = {"narrative": report.narrative}
        for line in lines:
            if line.actual is not None:
                values[line.field] = amount_input(line.actual)
        form = FormState(values=values, prefix="report")
    return render(
        request,
        "grants/report.html",
        status_code=status_code,
        app=app,
        grant=grant,
        kind=kind,
        report=report,
        lines=lines,
        files=(await reports.attachments([report.id])).get(report.id, []),
        editable=reports.refusal(grant, report) is None,
        form=form,
        kind_labels=followup.KIND_LABELS,
        report_states=followup.REPORT_STATES,
        due=grant.report_due(kind),
    )


@get(MY_REPORT, name="grants:my-report")
async def my_report(request: Request, app_id: FromPath[int], kind: FromPath[str]) -> Template:
    app, grant = await _own_grant(request, app_id, kind)
    return await _report_page(request, app, grant, kind)


@post(MY_REPORT, name="grants:my-report-save")
async def save_my_report(
    request: Request,
    app_id: FromPath[int],
    kind: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    app, grant = await _own_grant(request, app_id, kind)
    submit = data.get("action") == "submit"
    form = FormState(values=dict(data), prefix="report")
    try:
        refused = await reports.save(
            grant.id,
            kind,
            data,
            submit=submit,
            confirmed=data.get("confirm") == "yes",
            user_id=request.user.id,
            actor=actor,
        )
    except DomainError as exc:
        refused = [exc]
    for exc in refused:
        form.refuse(exc, "narrative")
    if not form.ok:
        return await _report_page(request, app, grant, kind, form=form, status_code=422)
    flash(request, _("Your report is submitted.") if submit else _("Your report is saved."))
    return Redirect(path_to(MY_REPORT, app_id=app_id, kind=kind), status_code=303)


@post(
    MY_REPORT_FILE,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_REPORT_FILE),
    name="grants:my-report-file",
)
async def add_report_file(
    request: Request,
    app_id: FromPath[int],
    kind: FromPath[str],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Redirect:
    """A supporting document of the report, streamed (same rules as applications)."""
    _app, grant = await _own_grant(request, app_id, kind)
    back = Redirect(path_to(MY_REPORT, app_id=app_id, kind=kind) + "#files", status_code=303)
    refused = reports.refusal(grant, await reports.find(grant.id, kind))
    if refused is not None:
        flash(request, refused.text(), "error")
        return back
    limits = StorageLimits.from_settings(settings)
    report = await reports.report_of(grant.id, kind)
    room = None
    try:
        room = await reports.report_room(
            report.id, size=storage.declared_file_bytes(request), limits=limits
        )
        received = await storage.receive_upload(request, max_bytes=min(MAX_REPORT_FILE, room.left))
    except storage.UploadTooLarge as exc:
        if (
            exc.code == "file_too_large"
            and room is not None
            and room.left < MAX_REPORT_FILE
            and (exc.size is None or exc.size <= MAX_REPORT_FILE)
        ):
            flash(request, QuotaExceeded(room.tightest).text(), "error")
        else:
            flash(request, exc.text(), "error")
        return back
    except (storage.UploadRefused, DomainError) as exc:  # quotas, the report's rules
        flash(request, exc.text(), "error")
        return back
    stored = received.file("file")
    if stored is None:
        flash(request, _("Choose a file."), "error")
        return back
    try:
        await reports.add_attachment(
            report.id, stored, user_id=request.user.id, actor=actor, limits=limits
        )
    except DomainError as exc:  # the report's rules, the quota (QuotaExceeded)
        files.delete(stored.storage_id)
        flash(request, exc.text(), "error")
        return back
    except BaseException:
        files.delete(stored.storage_id)
        raise
    flash(request, _("The document « %(name)s » is attached.") % {"name": stored.filename})
    return back


@get(REPORT_FILE, name="grants:report-file")
async def report_file(
    request: Request, attachment_id: FromPath[int], files: NamedDependency[FileStorage]
) -> Response:
    """A report's document: the organisation's members and the staff."""
    document = await reports.attachment(attachment_id)
    if document is None or await grants.grant_for(request.user, document.grant) is None:
        raise NotFoundException()
    return files.download(
        document.storage_id, filename=document.original_name, content_type=document.content_type
    )


# Each page checks who may see it (the application's members, or the grant's readers).
REPORTS = Router(
    path="",
    route_handlers=[my_report, save_my_report, add_report_file, report_file],
    include_in_schema=False,
)
