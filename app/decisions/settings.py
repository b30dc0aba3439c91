"""A call's committee settings: the deliberation, the signatory, the default
schedule, the letters' options and their wording."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from app.core import audit, forms
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.i18n import gettext_noop as N_
from app.decisions.errors import TOO_LONG, DecisionError
from app.decisions.letters import DEFAULT_AWARD, DEFAULT_REJECTION, check_template
from app.decisions.tables import DecisionSettings
from app.grants import schedule as schedules


def parse_date(text: str) -> date:
    """A date as typed (see ``core.forms.parse_date``), or ``DecisionError``."""
    try:
        return forms.parse_date(text)
    except ValueError:
        raise DecisionError(
            "date", N_("Enter a date, e.g. 17/05/2017."), field="deliberation_date"
        ) from None


@dataclass(frozen=True, slots=True)
class CommitteeSettings:
    """How a call's committee decides and writes: the deliberation, the signatory, the
    default schedule, the letters' options and wording (the default wording when the
    call has none of its own)."""

    call_id: int
    deliberation_reference: str = ""
    deliberation_date: date | None = None
    place: str = ""
    signatory_name: str = ""
    signatory_title: str = ""
    default_schedule: Mapping[str, Any] = field(default_factory=lambda: schedules.PRESETS["single"])
    share_reviews: bool = False
    agreement_required: bool = False
    conditions: str = ""
    award_template: str = DEFAULT_AWARD
    rejection_template: str = DEFAULT_REJECTION

    def template(self, kind: str) -> str:
        """The wording of an ``award`` or ``rejection`` letter."""
        return self.award_template if kind == "award" else self.rejection_template

    def with_template(self, kind: str, text: str) -> CommitteeSettings:
        """These settings with another wording for ``kind`` (a preview)."""
        return replace(self, **{f"{'award' if kind == 'award' else 'rejection'}_template": text})


async def settings_for(call_id: int) -> CommitteeSettings:
    """The call's decision settings; the letter templates filled with the default
    wording when the call has none of its own."""
    row = await (
        DecisionSettings.select().where(DecisionSettings.call == call_id).output(load_json=True)
    ).first()
    if row is None:
        return CommitteeSettings(call_id=call_id)
    return CommitteeSettings(
        call_id=call_id,
        deliberation_reference=row["deliberation_reference"],
        deliberation_date=row["deliberation_date"],
        place=row["place"],
        signatory_name=row["signatory_name"],
        signatory_title=row["signatory_title"],
        default_schedule=row["default_schedule"] or schedules.PRESETS["single"],
        share_reviews=row["share_reviews"],
        agreement_required=row["agreement_required"],
        conditions=row["conditions"],
        award_template=row["award_template"] or DEFAULT_AWARD,
        rejection_template=row["rejection_template"] or DEFAULT_REJECTION,
    )


async def _upsert_settings(call_id: int, columns: dict) -> None:
    exists = await DecisionSettings.exists().where(DecisionSettings.call == call_id)
    if exists:
        await DecisionSettings.update(columns).where(DecisionSettings.call == call_id)
    else:
        await DecisionSettings.insert(DecisionSettings(call=call_id, **columns))


async def save_settings(call_id: int, values: Mapping[str, str], *, actor: Actor) -> None:
    """The committee's deliberation, the signatory, the default schedule and the
    letters' options. Raises ``DecisionError`` (nothing saved) or ``ScheduleError``."""
    reference = values.get("deliberation_reference", "").strip()
    if len(reference) > 120:
        raise DecisionError("too_long", TOO_LONG, field="deliberation_reference")
    when = values.get("deliberation_date", "").strip()
    deliberation_date = parse_date(when) if when else None
    default_schedule = schedules.parse_form(values)
    columns = {
        "deliberation_reference": reference,
        "deliberation_date": deliberation_date,
        "place": values.get("place", "").strip()[:100],
        "signatory_name": values.get("signatory_name", "").strip()[:200],
        "signatory_title": values.get("signatory_title", "").strip()[:200],
        "default_schedule": json.dumps(default_schedule),
        "share_reviews": values.get("share_reviews") == "yes",
        "agreement_required": values.get("agreement_required") == "yes",
        "conditions": values.get("conditions", "").strip()[:5000],
    }
    async with write_transaction():
        await _upsert_settings(call_id, columns)
        await audit.record_by(
            actor,
            "decisions.settings_saved",
            "call",
            call_id,
            deliberation=reference or None,
            schedule=schedules.preset_of(default_schedule),
        )


def check_letter_template(field: str, text: str) -> None:
    """A letter's wording: not empty, not huge, only known placeholders."""
    if not text.strip():
        raise DecisionError("template_empty", N_("Write the letter's text."), field=field)
    if len(text) > 20_000:
        raise DecisionError("too_long", TOO_LONG, field=field)
    check_template(text, field=field)


async def save_templates(call_id: int, award: str, rejection: str, *, actor: Actor) -> None:
    """The letters' wording. A template with an unknown placeholder or a stray brace is
    refused and neither is saved (the refusal names the field and the placeholders)."""
    for name, text in (("award_template", award), ("rejection_template", rejection)):
        check_letter_template(name, text)
    async with write_transaction():
        await _upsert_settings(
            call_id,
            {
                # The default wording is stored as "": later improvements reach it.
                "award_template": "" if award.strip() == DEFAULT_AWARD else award.strip(),
                "rejection_template": ""
                if rejection.strip() == DEFAULT_REJECTION
                else rejection.strip(),
            },
        )
        await audit.record_by(actor, "decisions.templates_saved", "call", call_id)
