"""Call pages: officers prepare and publish calls; anyone reads the open ones."""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import PUBLIC, requires
from app.calls import formspec, services, states
from app.calls.formspec import KIND_LABELS, FormError
from app.calls.services import CallError
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import amount_input
from app.core.time import paris_input
from app.core.web import act, act_on_form, flash, path_to, render
from app.permissions import funders_for

STAFF_LIST = "/instruction/appels"
CREATE = "/instruction/appels/nouveau"
EDIT = "/instruction/appels/{call_id:int}"
TRANSITION = "/instruction/appels/{call_id:int}/etat"
PUBLISH = "/instruction/appels/{call_id:int}/publier"
PREVIEW = "/instruction/appels/{call_id:int}/apercu"
DUPLICATE = "/instruction/appels/{call_id:int}/dupliquer"
ELIGIBILITY_ADD = "/instruction/appels/{call_id:int}/eligibilite"
ELIGIBILITY_EDIT = "/instruction/appels/{call_id:int}/eligibilite/{key:str}"
ELIGIBILITY_REMOVE = "/instruction/appels/{call_id:int}/eligibilite/{key:str}/supprimer"
DOCUMENT_ADD = "/instruction/appels/{call_id:int}/documents"
DOCUMENT_EDIT = "/instruction/appels/{call_id:int}/documents/{key:str}"
DOCUMENT_REMOVE = "/instruction/appels/{call_id:int}/documents/{key:str}/supprimer"
CRITERION_ADD = "/instruction/appels/{call_id:int}/grille"
CRITERION_EDIT = "/instruction/appels/{call_id:int}/grille/{key:str}"
CRITERION_REMOVE = "/instruction/appels/{call_id:int}/grille/{key:str}/supprimer"
FORM = "/instruction/appels/{call_id:int}/formulaire"
SECTION_ADD = "/instruction/appels/{call_id:int}/formulaire/sections"
FIELD_ADD = "/instruction/appels/{call_id:int}/formulaire/champs"
FIELD_EDIT = "/instruction/appels/{call_id:int}/formulaire/champs/{key:str}"
FIELD_REMOVE = "/instruction/appels/{call_id:int}/formulaire/champs/{key:str}/supprimer"
FIELD_MOVE = "/instruction/appels/{call_id:int}/formulaire/champs/{key:str}/deplacer"
PUBLIC_LIST = "/appels"
PUBLIC_DETAIL = "/appels/{call_id:int}"

FIELD_TYPE_LABELS = {
    "short_text": N_("Short text"),
    "long_text": N_("Long text"),
    "number": N_("Number"),
    "money": N_("Amount in euros"),
    "date": N_("Date"),
    "single_choice": N_("Single choice"),
    "multiple_choice": N_("Multiple choice"),
    "yes_no": N_("Yes / no"),
    "email": N_("Email address"),
    "url": N_("Web address"),
    "file": N_("File"),
}


async def _call(call_id: int) -> dict:
    call = await services.get_call(call_id)
    if call is None:
        raise NotFoundException()
    return call


def _settings_values(call: dict) -> dict[str, str]:
    return {
        "funder": str(call["funder"]),
        "title": call["title"],
        "reference_prefix": call["reference_prefix"],
        "summary": call["summary"],
        "body": call["body"],
        "envelope": amount_input(call["envelope_cents"]),
        "min_award": amount_input(call["min_award_cents"]),
        "max_award": amount_input(call["max_award_cents"]),
        "max_rate": f"{call['max_rate_bp'] / 100:g}".replace(".", ","),
        "opens_at": paris_input(call["opens_at"]),
        "closes_at": paris_input(call["closes_at"]),
        "decision_expected_on": (
            call["decision_expected_on"].isoformat() if call.get("decision_expected_on") else ""
        ),
        "silence_months": str(call["silence_months"]),
    }


async def _edit_page(
    request: Request, call: dict, *, form: FormState | None = None, status_code: int = 200, **extra
) -> Template:
    return render(
        request,
        "calls/edit.html",
        status_code=status_code,
        call=call,
        form=form or FormState(values=_settings_values(call)),
        funders=[
            (str(f["id"]), f["name"])
            for f in await services.funders(funders_for(request.user, "manage_calls"))
        ],
        status_labels=states.LABELS,
        action_labels=states.ACTION_LABELS,
        kind_labels=KIND_LABELS,
        question_form=extra.get("question_form")
        or FormState(values={"blocking": "no"}, prefix="question"),
        document_form=extra.get("document_form")
        or FormState(values={"max_mb": "10", "required": "yes"}, prefix="document"),
        criterion_form=extra.get("criterion_form")
        or FormState(values={"weight": "1", "scale": "5"}, prefix="criterion"),
        use=await services.setup_use(call["id"]),
    )


@get(STAFF_LIST, name="calls:staff-list")
async def staff_list(request: Request) -> Template:
    return render(
        request,
        "calls/staff_list.html",
        calls=await services.staff_calls(funders_for(request.user, "manage_calls")),
        status_labels=states.LABELS,
    )


@get(CREATE, name="calls:create")
async def create_page(request: Request) -> Template:
    return render(
        request,
        "calls/create.html",
        form=FormState(values={"max_rate": "80", "silence_months": "2"}),
        funders=[
            (str(f["id"]), f["name"])
            for f in await services.funders(funders_for(request.user, "manage_calls"))
        ],
    )


def _form_state(data: dict[str, str], errors: dict[str, DomainError]) -> FormState:
    form = FormState(values={k: (data.get(k) or "").strip() for k in services.SETTINGS_FIELDS})
    for name, error in errors.items():
        form.refuse(error, name)
    return form


@post(CREATE, name="calls:create-post")
async def create(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    # Only for a funder the officer works for (the list offers no other).
    funders = await services.funders(funders_for(request.user, "manage_calls"))
    cleaned, errors = services.clean_settings(data, {f["id"] for f in funders})
    if errors:
        return render(
            request,
            "calls/create.html",
            status_code=422,
            form=_form_state(data, errors),
            funders=[(str(f["id"]), f["name"]) for f in funders],
        )
    call_id = await services.create_call(cleaned, actor=actor)
    flash(
        request,
        _("The call is created as a draft. Add its eligibility questions, documents and form."),
    )
    return Redirect(path_to(EDIT, call_id=call_id), status_code=303)


@get(EDIT, name="calls:edit")
async def edit_page(request: Request, call_id: FromPath[int]) -> Template:
    return await _edit_page(request, await _call(call_id))


@post(EDIT, name="calls:edit-post")
async def edit(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    # A call is moved only to a funder the officer works for.
    funders = await services.funders(funders_for(request.user, "manage_calls"))
    cleaned, errors = services.clean_settings(data, {f["id"] for f in funders})
    if not errors:
        try:
            await services.update_settings(call_id, cleaned, actor=actor)
        except CallError as exc:
            errors = {exc.field or "title": exc}
    if errors:
        return await _edit_page(request, call, form=_form_state(data, errors), status_code=422)
    flash(request, _("The changes are saved."))
    return Redirect(path_to(EDIT, call_id=call_id), status_code=303)


@post(TRANSITION, name="calls:transition")
async def transition(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await _call(call_id)
    action = data.get("action", "")
    return await act(
        request,
        services.transition(call_id, action, actor=actor),
        back=path_to(PUBLISH if action == "publish" else EDIT, call_id=call_id),
        done=_("The status of the call is updated."),
    )


@get(PUBLISH, name="calls:publish")
async def publish_page(request: Request, call_id: FromPath[int]) -> Template:
    """The checklist before publication, each item with where to fix it; the button
    that publishes comes only when nothing blocks (the service checks again)."""
    call = await _call(call_id)
    items = await services.publication_checklist(call)
    return render(
        request,
        "calls/publish.html",
        call=call,
        items=items,
        ready="publish" in call["stage"].actions and all(i.ok for i in items if i.blocking),
        status_labels=states.LABELS,
    )


@post(DUPLICATE, name="calls:duplicate")
async def duplicate(
    request: Request, call_id: FromPath[int], actor: NamedDependency[Actor]
) -> Redirect:
    await _call(call_id)
    new_id = await services.duplicate(call_id, actor=actor)
    flash(request, _("The call is copied as a draft, one year later. Check its dates and amounts."))
    return Redirect(path_to(EDIT, call_id=new_id), status_code=303)


@post(ELIGIBILITY_ADD, name="calls:eligibility-add")
async def eligibility_add(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    return await act_on_form(
        request,
        services.add_eligibility_question(call_id, data, actor=actor),
        FormState(values=dict(data), prefix="question"),
        field="label",
        page=lambda form: _edit_page(request, call, status_code=422, question_form=form),
        back=path_to(EDIT, call_id=call_id) + "#eligibility",
        done=_("The question is added."),
    )


def _item(items: list[dict], key: str) -> dict:
    item = next((i for i in items if i["key"] == key), None)
    if item is None:
        raise NotFoundException()
    return item


async def _item_page(
    request: Request, call: dict, heading: str, anchor: str, status_code: int = 200, **form
) -> Template:
    return render(
        request,
        "calls/setup_item_edit.html",
        status_code=status_code,
        call=call,
        heading=heading,
        anchor=anchor,
        kind_labels=KIND_LABELS,
        **{"question_form": None, "document_form": None, "criterion_form": None, **form},
    )


QUESTION_HEADING = N_("Edit an eligibility question")
DOCUMENT_HEADING = N_("Edit a document to provide")
CRITERION_HEADING = N_("Edit a criterion")


@get(ELIGIBILITY_EDIT, name="calls:eligibility-edit")
async def eligibility_edit_page(
    request: Request, call_id: FromPath[int], key: FromPath[str]
) -> Template:
    call = await _call(call_id)
    question = _item(call["eligibility"], key)
    form = FormState(values={k: question[k] for k in ("label", "blocking", "explanation")})
    form.prefix = "question"
    return await _item_page(request, call, QUESTION_HEADING, "eligibility", question_form=form)


@post(ELIGIBILITY_EDIT, name="calls:eligibility-edit-post")
async def eligibility_edit(
    request: Request,
    call_id: FromPath[int],
    key: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    _item(call["eligibility"], key)
    return await act_on_form(
        request,
        services.edit_eligibility_question(call_id, key, data, actor=actor),
        FormState(values=dict(data), prefix="question"),
        field="label",
        page=lambda form: _item_page(
            request, call, QUESTION_HEADING, "eligibility", 422, question_form=form
        ),
        back=path_to(EDIT, call_id=call_id) + "#eligibility",
        done=_("The question is saved."),
    )


@post(ELIGIBILITY_REMOVE, name="calls:eligibility-remove")
async def eligibility_remove(
    request: Request, call_id: FromPath[int], key: FromPath[str], actor: NamedDependency[Actor]
) -> Redirect:
    await _call(call_id)
    return await act(
        request,
        services.remove_eligibility_question(call_id, key, actor=actor),
        back=path_to(EDIT, call_id=call_id),
        done=_("The question is removed."),
    )


@post(DOCUMENT_ADD, name="calls:document-add")
async def document_add(
    request: Request, call_id: FromPath[int], actor: NamedDependency[Actor]
) -> Template | Redirect:
    call = await _call(call_id)
    values, form = await _document_values(request)
    return await act_on_form(
        request,
        services.add_document(call_id, values, actor=actor),
        form,
        field="label",
        page=lambda form: _edit_page(request, call, status_code=422, document_form=form),
        back=path_to(EDIT, call_id=call_id) + "#documents",
        done=_("The document is added."),
    )


async def _document_values(request: Request) -> tuple[dict, FormState]:
    data = await request.form()
    values = {
        "label": data.get("label", ""),
        "required": data.get("required", ""),
        "about_organisation": data.get("about_organisation", ""),
        "max_mb": data.get("max_mb", ""),
        "kinds": data.getall("kinds", []),
    }
    form = FormState(values={k: v for k, v in values.items() if k != "kinds"}, prefix="document")
    form.values["kinds"] = values["kinds"]
    return values, form


@get(DOCUMENT_EDIT, name="calls:document-edit")
async def document_edit_page(
    request: Request, call_id: FromPath[int], key: FromPath[str]
) -> Template:
    call = await _call(call_id)
    document = _item(call["documents"], key)
    form = FormState(
        values={
            "label": document["label"],
            "required": "yes" if document["required"] else "",
            "about_organisation": "yes" if document.get("about_organisation") else "",
            "max_mb": str(document["max_mb"]),
        },
        prefix="document",
    )
    form.values["kinds"] = list(document["kinds"])
    return await _item_page(request, call, DOCUMENT_HEADING, "documents", document_form=form)


@post(DOCUMENT_EDIT, name="calls:document-edit-post")
async def document_edit(
    request: Request, call_id: FromPath[int], key: FromPath[str], actor: NamedDependency[Actor]
) -> Template | Redirect:
    call = await _call(call_id)
    _item(call["documents"], key)
    values, form = await _document_values(request)
    return await act_on_form(
        request,
        services.edit_document(call_id, key, values, actor=actor),
        form,
        field="label",
        page=lambda form: _item_page(
            request, call, DOCUMENT_HEADING, "documents", 422, document_form=form
        ),
        back=path_to(EDIT, call_id=call_id) + "#documents",
        done=_("The document is saved."),
    )


@post(DOCUMENT_REMOVE, name="calls:document-remove")
async def document_remove(
    request: Request, call_id: FromPath[int], key: FromPath[str], actor: NamedDependency[Actor]
) -> Redirect:
    await _call(call_id)
    return await act(
        request,
        services.remove_document(call_id, key, actor=actor),
        back=path_to(EDIT, call_id=call_id),
        done=_("The document is removed."),
    )


@post(CRITERION_ADD, name="calls:criterion-add")
async def criterion_add(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    return await act_on_form(
        request,
        services.add_criterion(call_id, data, actor=actor),
        FormState(values=dict(data), prefix="criterion"),
        field="title",
        page=lambda form: _edit_page(request, call, status_code=422, criterion_form=form),
        back=path_to(EDIT, call_id=call_id) + "#rubric",
        done=_("The criterion is added."),
    )


@get(CRITERION_EDIT, name="calls:criterion-edit")
async def criterion_edit_page(
    request: Request, call_id: FromPath[int], key: FromPath[str]
) -> Template:
    call = await _call(call_id)
    criterion = _item(call["rubric"], key)
    form = FormState(
        values={
            "title": criterion["title"],
            "guidance": criterion.get("guidance", ""),
            "weight": str(criterion["weight"]),
            "scale": str(criterion["scale"]),
        },
        prefix="criterion",
    )
    return await _item_page(request, call, CRITERION_HEADING, "rubric", criterion_form=form)


@post(CRITERION_EDIT, name="calls:criterion-edit-post")
async def criterion_edit(
    request: Request,
    call_id: FromPath[int],
    key: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    _item(call["rubric"], key)
    return await act_on_form(
        request,
        services.edit_criterion(call_id, key, data, actor=actor),
        FormState(values=dict(data), prefix="criterion"),
        field="title",
        page=lambda form: _item_page(
            request, call, CRITERION_HEADING, "rubric", 422, criterion_form=form
        ),
        back=path_to(EDIT, call_id=call_id) + "#rubric",
        done=_("The criterion is saved."),
    )


@post(CRITERION_REMOVE, name="calls:criterion-remove")
async def criterion_remove(
    request: Request, call_id: FromPath[int], key: FromPath[str], actor: NamedDependency[Actor]
) -> Redirect:
    await _call(call_id)
    return await act(
        request,
        services.remove_criterion(call_id, key, actor=actor),
        back=path_to(EDIT, call_id=call_id),
        done=_("The criterion is removed."),
    )


# --- Form builder ------------------------------------------------------------------------------


def _builder(
    request: Request,
    call: dict,
    *,
    field_form: FormState | None = None,
    status_code: int = 200,
    section_form: FormState | None = None,
) -> Template:
    fields = formspec.fields_of(call["form"])
    return render(
        request,
        "calls/form_builder.html",
        status_code=status_code,
        call=call,
        type_labels=FIELD_TYPE_LABELS,
        status_labels=states.LABELS,
        condition_fields=[f for f in fields if f["type"] in (*formspec.CHOICE_TYPES, "yes_no")],
        field_form=field_form or FormState(values={"type": "short_text"}),
        section_form=section_form or FormState(),
        condition_text=lambda field: formspec.condition_text(call["form"], field),
    )


def _field_values(data) -> dict:
    values = {
        k: (data.get(k) or "")
        for k in ("type", "label", "help", "required", "max_length", "choices", "section")
    }
    values["condition"] = data.get("condition") or ""
    return values


def _refused_field(values: dict, exc: DomainError) -> FormState:
    """The field's form again with its message; a refused condition shows on the
    builder's one « Show only if… » select."""
    form = FormState(values=values)
    name = exc.field if exc.field in values else "label"
    if exc.field in ("condition_field", "condition_value"):
        name = "condition"
    form.error(name, exc.text())
    return form


@get(FORM, name="calls:form")
async def form_page(request: Request, call_id: FromPath[int]) -> Template:
    return _builder(request, await _call(call_id))


@post(SECTION_ADD, name="calls:section-add")
async def section_add(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    title = data.get("title", "")
    try:
        await services.change_form(
            call_id, lambda form: formspec.add_section(form, title), actor=actor
        )
    except (CallError, FormError) as exc:
        section_form = FormState(values={"title": title})
        section_form.error("title", exc.text())
        return _builder(request, call, section_form=section_form, status_code=422)
    flash(request, _("The section is added."))
    return Redirect(path_to(FORM, call_id=call_id), status_code=303)


@post(FIELD_ADD, name="calls:field-add")
async def field_add(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    values = _field_values(data)

    def change(form: dict) -> dict:
        field = formspec.clean_field(formspec.condition_choice(values), form)
        return formspec.add_field(form, values["section"], field)

    try:
        await services.change_form(call_id, change, actor=actor)
    except (CallError, FormError) as exc:
        return _builder(request, call, field_form=_refused_field(values, exc), status_code=422)
    flash(request, _("The field is added."))
    return Redirect(path_to(FORM, call_id=call_id) + "#add-field", status_code=303)


@get(FIELD_EDIT, name="calls:field-edit")
async def field_edit_page(request: Request, call_id: FromPath[int], key: FromPath[str]) -> Template:
    call = await _call(call_id)
    field = formspec.field_by_key(call["form"], key)
    if field is None:
        raise NotFoundException()
    values = {
        **{k: field.get(k) or "" for k in ("type", "label", "help")},
        "required": "yes" if field["required"] else "",
        "max_length": str(field.get("max_length") or ""),
        "choices": "\n".join(field.get("choices") or []),
        "condition": "{field}={equals}".format(**field["condition"])
        if field.get("condition")
        else "",
    }
    return _field_page(request, call, field, FormState(values=values))


def _field_page(request, call, field, form, status_code=200) -> Template:
    fields = formspec.fields_of(call["form"])
    return render(
        request,
        "calls/field_edit.html",
        status_code=status_code,
        call=call,
        field=field,
        field_form=form,
        type_labels=FIELD_TYPE_LABELS,
        condition_fields=[
            f
            for f in fields
            if f["type"] in (*formspec.CHOICE_TYPES, "yes_no") and f["key"] != field["key"]
        ],
    )


@post(FIELD_EDIT, name="calls:field-edit-post")
async def field_edit(
    request: Request,
    call_id: FromPath[int],
    key: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    field = formspec.field_by_key(call["form"], key)
    if field is None:
        raise NotFoundException()
    values = _field_values(data)

    def change(form: dict) -> dict:
        cleaned = formspec.clean_field(formspec.condition_choice(values), form, key=key)
        return formspec.replace_field(form, cleaned)

    try:
        await services.change_form(call_id, change, actor=actor)
    except (CallError, FormError) as exc:
        return _field_page(request, call, field, _refused_field(values, exc), status_code=422)
    flash(request, _("The field is saved."))
    return Redirect(path_to(FORM, call_id=call_id), status_code=303)


@post(FIELD_REMOVE, name="calls:field-remove")
async def field_remove(
    request: Request, call_id: FromPath[int], key: FromPath[str], actor: NamedDependency[Actor]
) -> Redirect:
    await _call(call_id)
    return await act(
        request,
        services.change_form(call_id, lambda form: formspec.remove_field(form, key), actor=actor),
        back=path_to(FORM, call_id=call_id),
        done=_("The field is removed."),
    )


@post(FIELD_MOVE, name="calls:field-move")
async def field_move(
    request: Request,
    call_id: FromPath[int],
    key: FromPath[str],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    offset = -1 if data.get("direction") == "up" else 1
    await _call(call_id)
    return await act(
        request,
        services.change_form(
            call_id, lambda form: formspec.move_field(form, key, offset), actor=actor
        ),
        back=path_to(FORM, call_id=call_id) + f"#field-{key}",
        done=_("The field is moved."),
    )


# --- Preview -------------------------------------------------------------------------------------


@get(PREVIEW, name="calls:preview")
async def preview(request: Request, call_id: FromPath[int]) -> Template:
    """The call as an applicant will see it — its public page, the eligibility
    questions and the form with its conditional questions and documents — read-only,
    with the applicants' own templates; nothing is created or saved."""
    call = await _call(call_id)
    as_published = {**call, "status": "published"}
    return render(
        request,
        "calls/preview.html",
        call=call,
        is_open=services.is_open(as_published),
        opens_later=services.opens_later(as_published),
        now=services.now(),
        kind_labels=KIND_LABELS,
        form=FormState(),
        editable=False,
        attachments={},
        condition_text=lambda field: formspec.condition_text(call["form"], field),
    )


# --- Public pages ----------------------------------------------------------------------------------


@get(PUBLIC_LIST, name="calls:public-list")
async def public_list(request: Request) -> Template:
    return render(
        request, "calls/public_list.html", calls=await services.open_calls(), now=services.now()
    )


@get(PUBLIC_DETAIL, name="calls:public-detail")
async def public_detail(request: Request, call_id: FromPath[int]) -> Template:
    call = await services.public_call(call_id)
    if call is None:
        raise NotFoundException()
    return render(
        request,
        "calls/public_detail.html",
        call=call,
        is_open=services.is_open(call),
        opens_later=services.opens_later(call),
        now=services.now(),
        kind_labels=KIND_LABELS,
    )


staff_router = Router(
    path="/",
    route_handlers=[
        staff_list,
        create_page,
        create,
        edit_page,
        edit,
        transition,
        publish_page,
        preview,
        duplicate,
        eligibility_add,
        eligibility_edit_page,
        eligibility_edit,
        eligibility_remove,
        document_add,
        document_edit_page,
        document_edit,
        document_remove,
        criterion_add,
        criterion_edit_page,
        criterion_edit,
        criterion_remove,
        form_page,
        section_add,
        field_add,
        field_edit_page,
        field_edit,
        field_remove,
        field_move,
    ],
    guards=[requires("manage_calls")],
    include_in_schema=False,
)
public_router = Router(
    path="/", route_handlers=[public_list, public_detail], opt=PUBLIC, include_in_schema=False
)

ROUTES = [staff_router, public_router]
