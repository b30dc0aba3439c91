"""Instalment schedules (échéanciers de versement): how an award is paid, in parts.

A schedule is plain data, stored as JSON on the decision and the call's default:

    {"mode": "percent" | "amount",
     "items": [{"value": "50" | 10000000, "trigger": "acceptance", "date": None}, ...]}

Percentages become cents that add up exactly to the award, the remainder going to
the last instalment (``core.money.split_by_percentages``); amounts must add up to the
award exactly. No database, no HTTP: routes parse forms with ``parse_form``, services
call ``amounts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, amount_input, parse_amount, split_by_percentages
from app.core.numbers import NumberError, parse_percentage

TRIGGERS = {
    "acceptance": N_("on acceptance"),
    "interim_report": N_("on approval of the interim report"),
    "final_report": N_("on approval of the final report"),
    "date": N_("on a date"),
}

PRESETS: dict[str, dict] = {
    "single": {
        "mode": "percent",
        "items": [{"value": "100", "trigger": "acceptance", "date": None}],
    },
    "50-50": {
        "mode": "percent",
        "items": [
            {"value": "50", "trigger": "acceptance", "date": None},
            {"value": "50", "trigger": "final_report", "date": None},
        ],
    },
    "50-30-20": {
        "mode": "percent",
        "items": [
            {"value": "50", "trigger": "acceptance", "date": None},
            {"value": "30", "trigger": "interim_report", "date": None},
            {"value": "20", "trigger": "final_report", "date": None},
        ],
    },
}
PRESET_LABELS = {
    "single": N_("single payment"),
    "50-50": N_("50 % / 50 %"),
    "50-30-20": N_("50 % / 30 % / 20 %"),
    "custom": N_("custom"),
}
MAX_ITEMS = 6


class ScheduleError(DomainError):
    """A schedule that cannot be used; ``code`` names the rule, ``row`` the line (1-based).
    Its field is the row's value, else the first value (totals) or the preset, in the
    form whose fields start with ``prefix``."""

    def __init__(self, code: str, message: str, row: int | None = None, *, prefix: str):
        if row:
            field = f"{prefix}_value_{row}"
        elif code in ("percent_total", "amount_total", "empty"):
            field = f"{prefix}_value_1"
        else:
            field = f"{prefix}_preset"
        super().__init__(code, message, field, row=row)
        self.row = row


# The rules of a schedule: code -> its message (``%(row)s``: the instalment's line).
RULES = {
    "preset": N_("Choose a payment schedule."),
    "mode": N_("Choose percentages or amounts."),
    "empty": N_("Enter at least one instalment."),
    "too_many": N_("At most six instalments."),
    "trigger": N_("Instalment %(row)s: choose when it is paid."),
    "date": N_("Enter a date, e.g. 17/05/2017."),
    "date_not_wanted": N_("Instalment %(row)s: a date is only for an instalment paid on a date."),
    "percent": N_("Instalment %(row)s: enter a percentage above 0 and at most 100, e.g. 30."),
    "percent_total": N_("The percentages must add up to 100 %."),
    "amount": N_("Enter an amount in euros, e.g. 200 000,00."),
    "amount_total": N_("The instalments must add up exactly to the amount awarded."),
}


def refuse(code: str, row: int | None = None, prefix: str = "schedule") -> ScheduleError:
    return ScheduleError(code, RULES[code], row, prefix=prefix)


@dataclass(frozen=True, slots=True)
class Part:
    amount_cents: int
    trigger: str
    due_on: date | None
    percent: Decimal | None  # as typed, when the schedule is in percentages


def preset_of(schedule: dict) -> str:
    """The preset's name when the schedule is one, else ``custom``."""
    for name, preset in PRESETS.items():
        if normalised(schedule) == normalised(preset):
            return name
    return "custom"


def normalised(schedule: dict) -> dict:
    mode = schedule.get("mode")
    items = [
        {
            "value": str(Decimal(str(i["value"])).normalize()) if mode == "percent" else i["value"],
            "trigger": i["trigger"],
            "date": i.get("date"),
        }
        for i in schedule.get("items", [])
    ]
    return {"mode": mode, "items": items}


def check(schedule: dict, prefix: str = "schedule") -> None:
    """Refuse a malformed schedule: unknown mode or trigger, a dated instalment without
    its date, percentages not adding up to 100, a non-positive share."""
    mode = schedule.get("mode")
    items = schedule.get("items") or []
    if mode not in ("percent", "amount"):
        raise refuse("mode", prefix=prefix)
    if not items:
        raise refuse("empty", prefix=prefix)
    if len(items) > MAX_ITEMS:
        raise refuse("too_many", prefix=prefix)
    for n, item in enumerate(items, start=1):
        if item.get("trigger") not in TRIGGERS:
            raise refuse("trigger", n, prefix)
        if item["trigger"] == "date":
            try:
                date.fromisoformat(item.get("date") or "")
            except ValueError:
                raise refuse("date", n, prefix) from None
        elif item.get("date"):
            raise refuse("date_not_wanted", n, prefix)
        if mode == "percent":
            try:
                value = Decimal(str(item["value"]))
            except (InvalidOperation, KeyError):
                raise refuse("percent", n, prefix) from None
            if not value.is_finite() or value <= 0 or value > 100 or value != round(value, 2):
                raise refuse("percent", n, prefix)
        elif not isinstance(item.get("value"), int) or item["value"] <= 0:
            raise refuse("amount", n, prefix)
    if mode == "percent" and sum(Decimal(str(i["value"])) for i in items) != 100:
        raise refuse("percent_total", prefix=prefix)


def amounts(total_cents: int, schedule: dict) -> list[Part]:
    """The instalments of an award of ``total_cents``: cents that add up exactly to it.

    In percentages the remainder cent goes to the last instalment; in amounts the
    amounts must add up to the award (else ``amount_total``)."""
    check(schedule)
    items = schedule["items"]
    if schedule["mode"] == "percent":
        shares = [Decimal(str(i["value"])) for i in items]
        cents = split_by_percentages(total_cents, shares)
    else:
        shares = [None] * len(items)
        cents = [i["value"] for i in items]
        if sum(cents) != total_cents:
            raise refuse("amount_total")
    return [
        Part(
            amount_cents=c,
            trigger=i["trigger"],
            due_on=date.fromisoformat(i["date"]) if i.get("date") else None,
            percent=s,
        )
        for c, i, s in zip(cents, items, shares, strict=True)
    ]


def parse_form(values: dict[str, str], prefix: str = "schedule") -> dict:
    """The schedule typed in a form: a preset name, or for ``custom`` up to six rows of
    ``{prefix}_value_N``, ``{prefix}_trigger_N``, ``{prefix}_date_N`` in percentages or
    amounts (``{prefix}_mode``). Blank rows are skipped. Raises ``ScheduleError``."""
    preset = values.get(f"{prefix}_preset", "")
    if preset in PRESETS:
        return PRESETS[preset]
    if preset != "custom":
        raise refuse("preset", prefix=prefix)
    mode = values.get(f"{prefix}_mode", "percent")
    items = []
    for n in range(1, MAX_ITEMS + 1):
        raw = values.get(f"{prefix}_value_{n}", "").strip()
        trigger = values.get(f"{prefix}_trigger_{n}", "")
        when = values.get(f"{prefix}_date_{n}", "").strip()
        if not raw:
            continue
        if mode == "percent":
            try:
                value: str | int = str(parse_percentage(raw))
            except NumberError:
                raise refuse("percent", n, prefix) from None
        else:
            try:
                value = parse_amount(raw)
            except AmountError:
                raise refuse("amount", n, prefix) from None
        items.append({"value": value, "trigger": trigger, "date": when or None})
    schedule = {"mode": mode, "items": items}
    check(schedule, prefix)
    return schedule


def form_values(schedule: dict, prefix: str = "schedule") -> dict[str, str]:
    """The form fields showing ``schedule`` (inverse of ``parse_form``)."""
    preset = preset_of(schedule)
    values = {f"{prefix}_preset": preset, f"{prefix}_mode": schedule.get("mode", "percent")}
    for n, item in enumerate(schedule.get("items", []), start=1):
        value = item["value"]
        if schedule.get("mode") == "amount":
            values[f"{prefix}_value_{n}"] = amount_input(value)
        else:
            values[f"{prefix}_value_{n}"] = str(value).replace(".", ",")
        values[f"{prefix}_trigger_{n}"] = item["trigger"]
        values[f"{prefix}_date_{n}"] = item.get("date") or ""
    return values
