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


class ScheduleError(ValueError):
    """A schedule that cannot be used; ``code`` names the rule, ``row`` the line (1-based)."""

    def __init__(self, code: str, row: int | None = None):
        super().__init__(code)
        self.code = code
        self.row = row


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


def check(schedule: dict) -> None:
    """Refuse a malformed schedule: unknown mode or trigger, a dated instalment without
    its date, percentages not adding up to 100, a non-positive share."""
    mode = schedule.get("mode")
    items = schedule.get("items") or []
    if mode not in ("percent", "amount"):
        raise ScheduleError("mode")
    if not items:
        raise ScheduleError("empty")
    if len(items) > MAX_ITEMS:
        raise ScheduleError("too_many")
    for n, item in enumerate(items, start=1):
        if item.get("trigger") not in TRIGGERS:
            raise ScheduleError("trigger", n)
        if item["trigger"] == "date":
            try:
                date.fromisoformat(item.get("date") or "")
            except ValueError:
                raise ScheduleError("date", n) from None
        elif item.get("date"):
            raise ScheduleError("date_not_wanted", n)
        if mode == "percent":
            try:
                value = Decimal(str(item["value"]))
            except (InvalidOperation, KeyError):
                raise ScheduleError("percent", n) from None
            if not value.is_finite() or value <= 0 or value > 100 or value != round(value, 2):
                raise ScheduleError("percent", n)
        elif not isinstance(item.get("value"), int) or item["value"] <= 0:
            raise ScheduleError("amount", n)
    if mode == "percent" and sum(Decimal(str(i["value"])) for i in items) != 100:
        raise ScheduleError("percent_total")


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
            raise ScheduleError("amount_total")
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
        raise ScheduleError("preset")
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
                raise ScheduleError("percent", n) from None
        else:
            try:
                value = parse_amount(raw)
            except AmountError:
                raise ScheduleError("amount", n) from None
        items.append({"value": value, "trigger": trigger, "date": when or None})
    schedule = {"mode": mode, "items": items}
    check(schedule)
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
