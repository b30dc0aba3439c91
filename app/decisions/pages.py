"""What the decision pages share: the labels of outcomes, what they read of other
domains' answers (``applications``' file, ``grants``' grant and refusals), a letter's
download, a published decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Response
from litestar.exceptions import NotFoundException

from app.applications import states as application_states
from app.calls import services as calls
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.storage import FileStorage
from app.decisions import jobs, services
from app.grants.schedule import ScheduleError
from app.grants.tables import GrantStatus

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


# --- What these pages read of other domains' answers --------------------------------------------


def read(record: Any, name: str) -> Any:
    """A field of another domain's read model (``applications``' file, ``grants``' grant):
    a dict on some branches, a frozen dataclass on others; read here only."""
    return record[name] if isinstance(record, Mapping) else getattr(record, name)


@dataclass(frozen=True, slots=True)
class FileRef:
    id: int
    call_id: int
    reference: str


def file_of(app: Any) -> FileRef:
    return FileRef(id=read(app, "id"), call_id=read(app, "call"), reference=read(app, "reference"))


@dataclass(frozen=True, slots=True)
class GrantRef:
    id: int
    active: bool
    agreement_required: bool
    agreement_file: str | None
    agreement_name: str


def grant_of(grant: Any) -> GrantRef:
    return GrantRef(
        id=read(grant, "id"),
        active=read(grant, "status") == GrantStatus.active,
        agreement_required=read(grant, "agreement_required"),
        agreement_file=read(grant, "agreement_file"),
        agreement_name=read(grant, "agreement_name"),
    )


# Until ``GrantError`` and ``ScheduleError`` carry their messages (the grants domain's
# part of this change: then every refusal is a ``DomainError`` and this table goes).
GRANTS_WORDING = {
    "preset": N_("Choose a payment schedule."),
    "mode": N_("Choose percentages or amounts."),
    "empty": N_("Enter at least one instalment."),
    "too_many": N_("At most six instalments."),
    "trigger": N_("Instalment %(row)s: choose when it is paid."),
    "date": N_("Enter a date, e.g. 17/05/2017."),
    "date_not_wanted": N_("Instalment %(row)s: a date is only for an instalment paid on a date."),
    "percent": N_("Instalment %(row)s: enter a percentage above 0 and at most 100, e.g. 30."),
    "amount": N_("Enter an amount in euros, e.g. 200 000,00."),
    "percent_total": N_("The percentages must add up to 100 %."),
    "amount_total": N_("The instalments must add up exactly to the amount awarded."),
    "already_accepted": N_("This grant is already accepted."),
    "agreement_exists": N_(
        "The signed agreement is already received. To replace it, write to the reviewing "
        "department from your file's messages."
    ),
    "not_found": N_("Not found."),
}


def refusal(exc: Exception) -> tuple[str, str | None]:
    """A refusal of the grants domain's rules: its message and its field."""
    if isinstance(exc, DomainError):
        return exc.text(), exc.field
    code, row = getattr(exc, "code", ""), getattr(exc, "row", None)
    text = _(GRANTS_WORDING[code])
    return (text % {"row": row} if "%(row)" in text else text), None


def refuse_schedule(form: FormState, exc: ScheduleError) -> None:
    text, field = refusal(exc)
    if field is None:
        if exc.row:
            field = f"schedule_value_{exc.row}"
        elif exc.code in ("percent_total", "amount_total", "empty"):
            field = "schedule_value_1"
        else:
            field = "schedule_preset"
    form.error(field, text)


async def call_or_404(call_id: int) -> dict:
    call = await calls.get_call(call_id)
    if call is None:
        raise NotFoundException()
    return call


async def letter_download(files: FileStorage, app_id: int, letter_id: int) -> Response:
    letter = await jobs.letter_of(app_id, letter_id)
    if letter is None:
        raise NotFoundException()
    return files.download(
        letter.storage_id, filename=letter.filename, content_type="application/pdf"
    )


async def published(app_id: int) -> services.CommitteeDecision:
    decision = await services.decision_of(app_id)
    if decision is None or decision.published_at is None:
        raise NotFoundException()
    return decision
