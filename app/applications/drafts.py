"""Starting an application (eligibility first) and saving its draft without lost
updates: every valid answer is kept, a wrong one keeps its stored value."""

from __future__ import annotations

import json
from typing import Any

from app.accounts.services import CurrentUser
from app.applications import budget as budgets
from app.applications import states
from app.applications.models import NOT_FOUND, ApplicationError, Conflict, Ineligible, Saved
from app.applications.reading import application_for, is_editable, now
from app.applications.tables import Application, ApplicationStatus
from app.calls import formspec
from app.calls import services as calls
from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.numbers import whole_number
from app.organisations.tables import Membership

NOT_EDITABLE = N_("This file can no longer be changed.")
NOT_MEMBER = N_("Choose one of your organisations.")
TITLE_MAX = 250


def check_eligibility(
    questions: list[dict], answers: dict[str, str], organisation_ids: set[int]
) -> dict[str, DomainError]:
    """The refusal of each thing missing from the apply form: an organisation of the
    person's, an answer to each question. Raises ``Ineligible`` on a blocking answer."""
    errors = {}
    if whole_number(answers.get("organisation")) not in organisation_ids:
        errors["organisation"] = ApplicationError("not_member", NOT_MEMBER, field="organisation")
    for question in questions:
        answer = answers.get(question["key"])
        if answer not in ("yes", "no"):
            errors[question["key"]] = DomainError(
                "choice", N_("Answer yes or no."), field=question["key"]
            )
        elif answer == question["blocking"]:
            raise Ineligible(question)
    return errors


async def start_application(
    call_id: int, organisation_id: int, *, user: CurrentUser, actor: Actor
) -> int:
    """Create the organisation's draft for this call (or return the one it has)."""
    async with write_transaction():
        call = await calls.get_call(call_id)
        if call is None or not calls.is_open(call):
            raise ApplicationError(
                "call_closed", N_("This call is not open."), field="organisation"
            )
        if not await Membership.exists().where(
            (Membership.organisation == organisation_id) & (Membership.user == user.id)
        ):
            raise ApplicationError("not_member", NOT_MEMBER, field="organisation")
        existing = (
            await Application.select(Application.id)
            .where(
                (Application.call == call_id)
                & (Application.organisation == organisation_id)
                & (Application.status != ApplicationStatus.withdrawn)
            )
            .first()
        )
        if existing:
            return existing["id"]
        version = await calls.current_form_version(call_id)
        rows = await Application.insert(
            Application(
                call=call_id,
                organisation=organisation_id,
                form_version=version["id"],
                created_by=user.id,
                updated_by=user.id,
            )
        ).returning(Application.id)
        app_id = rows[0]["id"]
        await audit.record_by(
            actor,
            "applications.started",
            "application",
            app_id,
            call=call_id,
            organisation=organisation_id,
        )
    return app_id


def _cleaned(app, raw: dict[str, Any]) -> tuple[dict, budgets.Budget, str, dict]:
    """The answers, budget and title to store from a posted form, each wrong one
    replaced by its stored value, and the refusal of each wrong one."""
    answers, errors = formspec.clean_answers(app.form, raw)
    errors: dict[str, DomainError] = dict(errors)
    answers.update({k: app.answers[k] for k in errors if k in app.answers})
    budget, budget_errors = budgets.parse(raw)
    if budget_errors:
        budget = budgets.keep_stored(budget, app.forecast, budget_errors)
    errors.update(budget_errors)
    title = (raw.get("title") or "").strip()
    if len(title) > TITLE_MAX:
        errors["title"] = DomainError("too_long", formspec.TOO_LONG, field="title")
        title = app.title
    return answers, budget, title, errors


def answer_errors(app, raw: dict[str, Any]) -> dict[str, DomainError]:
    """What is wrong in answers typed but not saved (shown again on the page)."""
    return _cleaned(app, raw)[3]


async def save_draft(
    app_id: int, *, user: CurrentUser, version: int, raw: dict[str, Any], actor: Actor
) -> Saved:
    """Save answers, title and budget: every valid one, so that one wrong answer does
    not lose the others; a wrong one keeps its stored value and comes back in
    ``Saved.errors``.

    ``version`` is the one the person started from: if someone saved since, the save
    is refused with ``Conflict`` (carrying the other version), never overwritten."""
    app = await application_for(user, app_id)
    if app is None:
        raise ApplicationError("not_found", NOT_FOUND)
    if not is_editable(app):
        raise ApplicationError("not_editable", NOT_EDITABLE, field="title")
    answers, budget, title, errors = _cleaned(app, raw)
    if (
        version != app.version
        and answers == app.answers
        and budget == app.forecast
        and title == app.title
    ):
        # What is stored already (an autosave of the same answers went first): nothing
        # to write, and nothing to refuse.
        return Saved(version=app.version, at=app.updated_at, errors=errors)
    at = now()
    async with write_transaction():
        updated = (
            await Application.update(
                {
                    Application.answers: json.dumps(answers),
                    Application.budget: json.dumps(budget.as_json()),
                    Application.requested_cents: budget.requested,
                    Application.title: title,
                    Application.version: Application.version + 1,
                    Application.updated_at: at,
                    Application.updated_by: user.id,
                }
            )
            .where(
                (Application.id == app_id)
                & (Application.version == version)
                & Application.status.is_in(list(states.EDITABLE))
            )
            .returning(Application.version)
        )
        if not updated:
            current = await application_for(user, app_id)
            raise Conflict(current)
    return Saved(version=updated[0]["version"], at=at, errors=errors)
