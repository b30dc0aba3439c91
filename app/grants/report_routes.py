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
from app.core.ratelimit import Limit, RateLimiter
from app.core.storage import FileStorage
from app.core.time import clock
from app.core.web import flash, path_to, render
from app.grants import followup, reports
from app.grants import services as grants
from app.grants.models import GrantRecord
from app.grants.receipts import ReportReceipts
from app.quotas import QuotaExceeded, StorageLimits
from app.settings import Settings

MY_REPORT = "/dossiers/{app_id:int}/bilans/{kind:str}"
MY_REPORT_AUTOSAVE = "/dossiers/{app_id:int}/bilans/{kind:str}/enregistrement"
MY_REPORT_FILE = "/dossiers/{app_id:int}/bilans/{kind:str}/pieces"
MY_REPORT_RECEIPT = "/dossiers/{app_id:int}/bilans/{kind:str}/accuse-de-reception.pdf"
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
    actuals = report.actuals
    if form is None:
        values = {"narrative": report.narrative}
        for line in lines:
            if line.actual is not None:
                values[line.field] = amount_input(line.actual)
        form = FormState(values=values, prefix="report")
    else:  # the figures typed, when they read: their effect and totals are what it shows
        typed, refused = reports.parse_actuals(form.values, lines)
        if not refused:
            actuals = typed
            lines = reports.statement(grant.budget, grant.requested_cents, typed)
    files = (await reports.attachments([report.id])).get(report.id, [])
    return render(
        request,
        "grants/report.html",
        status_code=status_code,
        app=app,
        grant=grant,
        kind=kind,
        report=report,
        lines=lines,
        files=files,
        documents=reports.DOCUMENTS[kind],
        missing={d.key for d in reports.missing_documents(kind, files)},
        effect=reports.effect(grant, actuals),
        editable=reports.refusal(grant, report) is None,
        form=form,
        kind_labels=followup.KIND_LABELS,
        report_states=followup.REPORT_STATES,
        due=grant.report_due(kind),
    )


def _report_form(data: dict[str, str], refused: list[DomainError]) -> FormState:
    """The typed values with each refusal on its field; each missing document on its
    own upload, named in the error summary (one line each, not the same count twice)."""
    form = FormState(values=dict(data), prefix="report")
    for exc in refused:
        if isinstance(exc, reports.DocumentsMissing):
            for document in exc.missing:
                form.error(
                    f"file-{document.key}",
                    _("Attach this document before submitting the report."),
                    label=_(document.label),
                )
        else:
            form.refuse(exc, "narrative")
    return form


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
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    app, grant = await _own_grant(request, app_id, kind)
    submit = data.get("action") == "submit"
    try:
        refused = await reports.save(
            grant.id,
            kind,
            data,
            submit=submit,
            confirmed=data.get("confirm") == "yes",
            user_id=request.user.id,
            actor=actor,
            previewed=data.get("previewed"),
            receipts=ReportReceipts(settings),
        )
    except DomainError as exc:
        refused = [exc]
    form = _report_form(data, refused)
    if not form.ok:
        return await _report_page(request, app, grant, kind, form=form, status_code=422)
    flash(
        request,
        _("Your report is submitted. Its acknowledgement of receipt is below.")
        if submit
        else _("Your report is saved."),
    )
    return Redirect(path_to(MY_REPORT, app_id=app_id, kind=kind), status_code=303)


# As the application's draft: one autosave at a time per report, and a person's flood
# of them refused before any query; the next change, or « Save », saves.
AUTOSAVES_PER_PERSON = Limit("report-autosave", 10, 10)


@post(MY_REPORT_AUTOSAVE, name="grants:my-report-autosave")
async def autosave_my_report(
    request: Request,
    app_id: FromPath[int],
    kind: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    limiter: NamedDependency[RateLimiter],
) -> Template:
    """htmx autosave on change: a status line, and the effect of the saved figures."""
    busy = render(request, "grants/_autosave.html", status_code=429, state="busy")
    if await limiter.hit(AUTOSAVES_PER_PERSON, str(request.user.id)):
        return busy
    async with limiter.exclusive("report-autosave", f"{app_id}-{kind}") as ours:
        if not ours:
            return busy
        _app, grant = await _own_grant(request, app_id, kind)
        context: dict = {"state": "saved", "time": clock(reports.now()), "effect": None}
        status_code = 200
        try:
            refused = await reports.save(
                grant.id,
                kind,
                data,
                submit=False,
                confirmed=False,
                user_id=request.user.id,
                actor=actor,
            )
        except DomainError as exc:
            context.update(state="refused", message=exc.text())
            return render(request, "grants/_autosave.html", status_code=422, **context)
        if refused:
            context.update(state="invalid", count=len(refused))
            status_code = 422
        else:
            report = await reports.report_of(grant.id, kind)
            context.update(effect=reports.effect(grant, report.actuals), kind=kind, grant=grant)
        return render(request, "grants/_autosave.html", status_code=status_code, **context)


@get(MY_REPORT_RECEIPT, name="grants:my-report-receipt")
async def my_report_receipt(
    request: Request,
    app_id: FromPath[int],
    kind: FromPath[str],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Response:
    """The acknowledgement of receipt of a submitted report (written if missing)."""
    _app, grant = await _own_grant(request, app_id, kind)
    report = await reports.find(grant.id, kind)
    stored = (
        await reports.ensure_receipt(grant, report, ReportReceipts(settings)) if report else None
    )
    if stored is None:
        raise NotFoundException()
    return files.download(
        stored,
        filename=f"accuse-de-reception-bilan-{kind}-{grant.reference}.pdf",
        content_type="application/pdf",
    )


MAX_FILES_AT_ONCE = max(len(docs) for docs in reports.DOCUMENTS.values())


@post(
    MY_REPORT_FILE,
    opt={"exclude_from_csrf": True},
    request_max_body_size=storage.body_limit(MAX_REPORT_FILE, MAX_FILES_AT_ONCE),
    name="grants:my-report-file",
)
async def add_report_file(
    request: Request,
    app_id: FromPath[int],
    kind: FromPath[str],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    files: NamedDependency[FileStorage],
) -> Template | Redirect:
    """The report's supporting documents, streamed (same rules as applications): one
    file input per document the report asks for (``file-<key>``). The « Attach »
    buttons belong to the report's form (``formaction``): what was typed in it comes
    along and is saved as the draft, so that an upload without JavaScript loses
    nothing."""
    app, grant = await _own_grant(request, app_id, kind)
    back = Redirect(path_to(MY_REPORT, app_id=app_id, kind=kind) + "#files", status_code=303)
    refused = reports.refusal(grant, await reports.find(grant.id, kind))
    if refused is not None:
        flash(request, refused.text(), "error")
        return back
    limits = StorageLimits.from_settings(settings)
    report = await reports.report_of(grant.id, kind)
    documents = reports.DOCUMENTS[kind]
    lines = reports.statement(grant.budget, grant.requested_cents, {})
    room = None
    try:
        room = await reports.report_room(
            report.id, size=storage.declared_file_bytes(request), limits=limits
        )
        received = await storage.receive_upload(
            request,
            max_bytes=min(MAX_REPORT_FILE, room.left),
            file_fields=[f"file-{d.key}" for d in documents],
            max_files=len(documents),
            text_fields=["narrative", "previewed", *(line.field for line in lines)],
            max_field_bytes=4 * reports.MAX_NARRATIVE,
        )
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
    attached = []
    for document in documents:
        stored = received.file(f"file-{document.key}")
        if stored is None:
            continue
        try:
            await reports.add_attachment(
                report.id,
                stored,
                document=document.key,
                user_id=request.user.id,
                actor=actor,
                limits=limits,
            )
        except DomainError as exc:  # the report's rules, the quota (QuotaExceeded)
            for later in received.files:
                if later.storage_id not in attached:
                    files.delete(later.storage_id)
            flash(request, exc.text(), "error")
            return back
        except BaseException:
            for later in received.files:
                if later.storage_id not in attached:
                    files.delete(later.storage_id)
            raise
        attached.append(stored.storage_id)
        flash(request, _("The document « %(name)s » is attached.") % {"name": stored.filename})
    if "narrative" in received.fields:  # sent from the report's form: its draft too
        values = received.fields
        try:
            refused_fields = await reports.save(
                grant.id,
                kind,
                values,
                submit=False,
                confirmed=False,
                user_id=request.user.id,
                actor=actor,
            )
        except DomainError as exc:
            refused_fields = [exc]
        if refused_fields:
            form = _report_form(values, refused_fields)
            return await _report_page(request, app, grant, kind, form=form, status_code=422)
    if not attached:
        flash(request, _("Choose a file."), "error")
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
    route_handlers=[
        my_report,
        save_my_report,
        autosave_my_report,
        add_report_file,
        my_report_receipt,
        report_file,
    ],
    include_in_schema=False,
)
