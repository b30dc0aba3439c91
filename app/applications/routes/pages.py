"""The file's two pages, the applicant's draft and the staff's file view: rendered by
the handlers of either side (a refused message or upload comes back on its page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Request
from litestar.response import Template

from app.accounts.sessions import idle_timeout, session_seconds_left
from app.applications import budget as budgets
from app.applications import services, states
from app.applications.services import ApplicationView
from app.calls import formspec
from app.calls.formspec import KIND_LABELS
from app.core import storage
from app.core.forms import FormState
from app.core.money import amount_input
from app.core.versions import Seen
from app.core.web import kept_part, render, settings_of
from app.quotas import StorageLimits

APPLY = "/appels/{call_id:int}/candidater"
MINE = "/dossiers"
DRAFT = "/dossiers/{app_id:int}"
AUTOSAVE = "/dossiers/{app_id:int}/enregistrer"
SUBMIT = "/dossiers/{app_id:int}/deposer"
WITHDRAW = "/dossiers/{app_id:int}/retirer"
UPLOAD = "/dossiers/{app_id:int}/pieces/{key:str}"
DOWNLOAD = "/dossiers/{app_id:int}/pieces/{attachment_id:int}"
RECEIPT = "/dossiers/{app_id:int}/accuse-de-reception.pdf"
INELIGIBILITY = "/dossiers/{app_id:int}/irrecevabilite.pdf"
MESSAGES = "/dossiers/{app_id:int}/messages"
STAFF_TABLE = "/instruction/appels/{call_id:int}/dossiers"
STAFF_EXPORT = "/instruction/appels/{call_id:int}/dossiers/export.csv"
STAFF_EXPORT_XLSX = "/instruction/appels/{call_id:int}/dossiers/export.xlsx"
STAFF_FILE = "/instruction/dossiers/{app_id:int}"
SEND_BACK = "/instruction/dossiers/{app_id:int}/a-completer"
SCREEN = "/instruction/dossiers/{app_id:int}/recevabilite"
SCREEN_BULK = "/instruction/appels/{call_id:int}/dossiers/recevabilite"

# The session key of an upload's refusal, said on the file's page the redirect leads to.
UPLOAD_ERROR = "upload_error"


def values_of(app: ApplicationView) -> dict:
    """The form's values as the person sees them (amounts the French way)."""
    values: dict = {"title": app.title}
    for key, value in app.answers.items():
        field = formspec.field_by_key(app.form, key)
        if field and field["type"] == "money":
            values[key] = amount_input(value)
        else:
            values[key] = value
    budget = app.forecast
    for key, cents in budget.charges.items():
        values[budgets.field_name("charges", key)] = amount_input(cents)
    for key, cents in budget.produits.items():
        values[budgets.field_name("produits", key)] = amount_input(cents)
    values["requested"] = amount_input(budget.requested) if budget.requested else ""
    return values


def _message_file_limit(request: Request) -> int:
    return StorageLimits.from_settings(settings_of(request)).message_file_bytes


async def draft_page(
    request: Request,
    app: ApplicationView,
    *,
    form: FormState | None = None,
    status_code: int = 200,
    conflict: ApplicationView | None = None,
    upload_error: tuple[str, str] | None = None,
    message_form: FormState | None = None,
    kept: str | None = None,
) -> Template:
    """The applicant's page of the file: the draft to fill in, or, once it cannot
    change any more (submitted, sent back past its deadline), the file as sent;
    ``kept``: why the answers shown were kept aside, not saved (``kept_forms``)."""
    if not app.in_draft and not services.is_editable(app):
        return await file_page(request, app, status_code=status_code, message_form=message_form)
    values_form = form or FormState(values=values_of(app))
    budget = budgets.parse(values_form.values)[0] if form else app.forecast
    return render(
        request,
        "applications/draft.html",
        status_code=status_code,
        app=app,
        actions=app.actions("applicant"),
        form=values_form,
        budget=budget,
        budget_lines=budgets,
        editable=services.is_editable(app),
        attachments={a.document_key: a for a in await services.current_attachments(app.id)},
        labels=states.LABELS,
        status=app.applicant_status,
        kind_labels=KIND_LABELS,
        conflict=conflict,
        conflict_values=values_of(conflict) if conflict else {},
        now=services.now(),
        upload_error=upload_error,
        accept=storage.accept_attribute,
        messages=await services.messages(app.id),
        message_form=message_form or FormState(prefix="message"),
        message_file_limit=_message_file_limit(request),
        kept=kept,
        session_seconds=session_seconds_left(request, request.user),
        session_idle=idle_timeout(request.user),
        file_input=lambda key: f"file-{key}",
        condition_text=lambda field: condition_text(app, field),
    )


def condition_text(app: ApplicationView, field: dict) -> str:
    """A conditional question's condition, in words (``formspec.condition_text``)."""
    return formspec.condition_text(app.form, field)


async def staff_page(
    request: Request,
    app: ApplicationView,
    *,
    form: FormState | None = None,
    screening_form: FormState | None = None,
    message_form: FormState | None = None,
    status_code: int = 200,
    seen: Seen | None = None,
) -> Template:
    """The staff's view of the file: answers, budget, every document version, the
    screening and « to complete » forms when they apply, messages and history."""

    async def context() -> dict:
        return {
            "app": app,
            "actions": app.actions("officer"),
            "labels": states.LABELS,
            "attachments": await services.attachment_history(app.id),
            "history": await services.history(app.id),
            "budget": app.forecast,
            "budget_lines": budgets,
            "form": form or FormState(),
            "fields": formspec.fields_of(app.form),
            "screening_form": screening_form
            or FormState(values={"decision": "eligible"}, prefix="screening"),
            "messages": await services.messages(app.id),
            "message_form": message_form or FormState(prefix="message"),
            "message_file_limit": _message_file_limit(request),
        }

    # Kept rendered while the file (its documents, messages and history), its call and
    # the names it shows are the same (``seen``: the page as asked for; not a refused
    # form shown again as it was typed).
    part = await kept_part(request, "applications/_staff_file.html", seen=seen, context=context)
    return render(
        request, "applications/staff_file.html", status_code=status_code, app=app, part=part
    )


# --- The file as a summary (« Vérifier et déposer », and the file once submitted) ----------


@dataclass(frozen=True, slots=True)
class SummarySection:
    """A section of the form as read back: its visible questions and their answers
    (``(field, value)``; a date answer as a ``date``, to be read in words)."""

    key: str
    title: str
    fields: list[tuple[dict, Any]]


def _readable(field: dict, value: Any) -> Any:
    if field["type"] == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def summary_sections(app: ApplicationView) -> list[SummarySection]:
    """The form's sections with the questions shown for these answers (a question
    hidden by its condition is left out; file questions are listed with documents)."""
    return [
        SummarySection(
            key=section["key"],
            title=section["title"],
            fields=[
                (f, _readable(f, app.answers.get(f["key"])))
                for f in section.get("fields", [])
                if f["type"] != "file" and formspec.is_visible(f, app.answers)
            ],
        )
        for section in app.form.get("sections", [])
    ]


def summary_documents(app: ApplicationView, attachments: dict) -> list[tuple[dict, object]]:
    """Every document of the call (and file question of the form), with its file."""
    specs = [*app.documents]
    specs += [
        {"key": f["key"], "label": f["label"], "required": f["required"]}
        for f in formspec.fields_of(app.form)
        if f["type"] == "file" and formspec.is_visible(f, app.answers)
    ]
    return [(spec, attachments.get(spec["key"])) for spec in specs]


# The steps after submission, in order, and the statuses during which each is the
# current one (« Et maintenant ? »).
NEXT_STEPS = (
    ("screening", frozenset({"submitted", "to_complete"})),
    ("review", frozenset({"eligible", "in_review"})),
    ("committee", frozenset({"reviewed"})),
    ("decision", frozenset({"awarded", "rejected", "waitlisted"})),
)


def next_steps(status: str) -> list[tuple[str, str]]:
    """Each step with where the file is: ``done``, ``current`` or ``to_come``."""
    current = next((i for i, (_k, during) in enumerate(NEXT_STEPS) if status in during), None)
    if current is None:
        return []
    return [
        (key, "done" if i < current else "current" if i == current else "to_come")
        for i, (key, _during) in enumerate(NEXT_STEPS)
    ]


async def file_page(
    request: Request,
    app: ApplicationView,
    *,
    status_code: int = 200,
    message_form: FormState | None = None,
) -> Template:
    """The file as sent, read as a summary, with « Et maintenant ? »: the steps to
    come, the funder's service to contact, and only then the withdrawal."""
    attachments = {a.document_key: a for a in await services.current_attachments(app.id)}
    return render(
        request,
        "applications/file.html",
        status_code=status_code,
        app=app,
        actions=app.actions("applicant"),
        labels=states.LABELS,
        status=app.applicant_status,
        sections=summary_sections(app),
        documents=summary_documents(app, attachments),
        budget=app.forecast,
        budget_lines=budgets,
        steps=next_steps(app.applicant_status),
        funder_address=[line for line in app.funder_address.splitlines() if line.strip()],
        messages=await services.messages(app.id),
        message_form=message_form or FormState(prefix="message"),
        message_file_limit=_message_file_limit(request),
    )
