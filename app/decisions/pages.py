"""What the decision pages share: the labels of outcomes, the grants domain's
refusals, a letter's download, a published decision."""

from __future__ import annotations

from litestar import Response
from litestar.exceptions import NotFoundException

from app.applications import states as application_states
from app.calls import services as calls
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext_noop as N_
from app.core.storage import FileStorage
from app.decisions import jobs, services
from app.grants.schedule import ScheduleError

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


def refusal(exc: DomainError) -> tuple[str, str | None]:
    """A refusal of the grants domain's rules: its message and its field."""
    return exc.text(), exc.field


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
