"""What the decision pages share: the labels of outcomes, the grants domain's
refusals, a letter's download, a published decision."""

from __future__ import annotations

from litestar import Response
from litestar.exceptions import NotFoundException

from app.calls import services as calls
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.storage import FileStorage
from app.decisions import jobs, services
from app.grants import schedule as schedules
from app.grants.schedule import ScheduleError


def schedule_context() -> dict:
    """The schedule fields' choices (``_schedule_fields.html``), translated."""
    return {
        "presets": [(k, _(v)) for k, v in schedules.PRESET_LABELS.items()],
        "triggers": [(k, _(v)) for k, v in schedules.TRIGGERS.items()],
        "schedule_rows": range(1, schedules.MAX_ITEMS + 1),
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
