"""The application form of a call, as data: sections of typed fields with optional
visibility conditions. Pure functions, no database: define, change compatibly,
validate answers.

A form is ``{"sections": [{"key", "title", "fields": [field, ...]}]}`` and a field is
``{"key", "type", "label", "help", "required", "max_length", "choices", "condition"}``
where ``condition`` is ``None`` or ``{"field": key, "equals": value}`` (« afficher si
X = valeur »).
"""

from __future__ import annotations

import re
import secrets
from copy import deepcopy
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from app.core.domain import DomainError
from app.core.i18n import gettext
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, parse_amount
from app.core.numbers import NumberError, parse_decimal, whole_number

FIELD_TYPES = (
    "short_text",
    "long_text",
    "number",
    "money",
    "date",
    "single_choice",
    "multiple_choice",
    "yes_no",
    "email",
    "url",
    "file",
)
CHOICE_TYPES = ("single_choice", "multiple_choice")
SHORT_TEXT_MAX = 300
LONG_TEXT_MAX = 20_000
MAX_FIELDS = 200


class FormError(DomainError):
    """A change to a form, or an answer, is not acceptable: ``code`` says why, the
    message says it to the person, ``field`` is the form field (or the form's field
    key) it is about."""


TOO_LONG = N_("This is too long.")
NUMBER = N_("Enter a number, e.g. 10 or 2,5.")
DATE = N_("Enter a date, e.g. 17/03/2017.")
CHOICE = N_("Choose an option from the list.")
REQUIRED = N_("This field is required.")
LABEL_REQUIRED = N_("Enter a label.")
FIELD_NOT_FOUND = N_("This field does not exist.")

# Why an amount typed is not one (``core.money.AmountError``'s codes).
AMOUNT_MESSAGES = {
    "empty": REQUIRED,
    "invalid": N_("Enter an amount like 200 000 or 1 250,50."),
    "ambiguous": N_("Is it thousands or decimals? Write 1250 or 1 250,00."),
    "negative": N_("The amount cannot be negative."),
    "too_large": N_("This amount is too large."),
}


def amount_refused(exc: AmountError, field: str | None = None) -> FormError:
    """An amount typed wrong, as the refusal shown on its field."""
    return FormError("money_" + exc.code, AMOUNT_MESSAGES[exc.code], field=field)


def new_key() -> str:
    return "f" + secrets.token_hex(4)


def empty_form() -> dict:
    return {"sections": []}


def fields_of(form: dict) -> list[dict]:
    return [field for section in form.get("sections", []) for field in section.get("fields", [])]


def field_by_key(form: dict, key: str) -> dict | None:
    return next((f for f in fields_of(form) if f["key"] == key), None)


def condition_text(form: dict, field: dict) -> str:
    """A conditional question's condition, in words: « Only if you answered Yes to
    “Do you employ staff?” » (the applicant's form, its preview and the builder)."""
    condition = field.get("condition")
    if not condition:
        return ""
    target = field_by_key(form, condition["field"]) or {}
    value = condition["equals"]
    shown = gettext("Yes") if value == "yes" else gettext("No") if value == "no" else value
    if target.get("type") == "multiple_choice":
        message = gettext("Only if you ticked « %(value)s » in « %(field)s ».")
    else:
        message = gettext("Only if you answered « %(value)s » to « %(field)s ».")
    return message % {"value": shown, "field": target.get("label", "")}


def condition_choice(values: dict[str, Any]) -> dict[str, Any]:
    """The builder's one « Show only if… » select (``condition``: ``key=answer``, its
    options the controlling question's own answers) as ``condition_field`` and
    ``condition_value`` for ``clean_field``; keys never hold « = », answers may."""
    if "condition" not in values:
        return values
    key, _sep, answer = (values.get("condition") or "").partition("=")
    return {**values, "condition_field": key, "condition_value": answer}


def clean_field(values: dict[str, Any], form: dict, *, key: str | None = None) -> dict:
    """A field definition from the builder's form; raises ``FormError``."""
    kind = values.get("type", "")
    if kind not in FIELD_TYPES:
        raise FormError("field_type", N_("Choose a field type."), "type")
    label = (values.get("label") or "").strip()
    if not label:
        raise FormError("label_required", LABEL_REQUIRED, "label")
    if len(label) > 300:
        raise FormError("too_long", TOO_LONG, "label")
    choices: list[str] = []
    if kind in CHOICE_TYPES:
        raw = values.get("choices") or ""
        choices = [
            c.strip() for c in (raw.splitlines() if isinstance(raw, str) else raw) if c.strip()
        ]
        if len(choices) < 2:
            raise FormError(
                "choices_required", N_("Enter at least two choices, one per line."), "choices"
            )
        if len(set(choices)) != len(choices):
            raise FormError("choices_unique", N_("Each choice must be different."), "choices")
    max_length = None
    if kind == "long_text":
        raw_max = str(values.get("max_length") or "").strip()
        if raw_max:
            max_length = whole_number(raw_max)
            if max_length is None or not 1 <= max_length <= LONG_TEXT_MAX:
                raise FormError(
                    "max_length",
                    N_("Enter a number of characters between 1 and 20 000."),
                    "max_length",
                )
    condition = None
    condition_field = (values.get("condition_field") or "").strip()
    if condition_field:
        target = field_by_key(form, condition_field)
        if target is None or target["key"] == key:
            raise FormError(
                "condition_field", N_("Choose a field of this form."), "condition_field"
            )
        if target["type"] not in (*CHOICE_TYPES, "yes_no"):
            raise FormError(
                "condition_type",
                N_("A condition can only depend on a choice or yes/no field."),
                "condition_field",
            )
        expected = (values.get("condition_value") or "").strip()
        if target["type"] == "yes_no":
            # Typed in the officer's language: oui/non, yes/no.
            expected = {"oui": "yes", "non": "no"}.get(expected.lower(), expected.lower())
        allowed = target["choices"] if target["type"] in CHOICE_TYPES else ["yes", "no"]
        if expected not in allowed:
            raise FormError(
                "condition_value", N_("Choose one of the answers of that field."), "condition_value"
            )
        condition = {"field": condition_field, "equals": expected}
    return {
        "key": key or new_key(),
        "type": kind,
        "label": label,
        "help": (values.get("help") or "").strip()[:1000],
        "required": values.get("required") in (True, "yes", "on", "1"),
        "max_length": max_length,
        "choices": choices,
        "condition": condition,
    }


def add_section(form: dict, title: str) -> dict:
    title = title.strip()
    if not title:
        raise FormError("label_required", LABEL_REQUIRED, "title")
    form = deepcopy(form)
    form["sections"].append({"key": "s" + secrets.token_hex(4), "title": title[:200], "fields": []})
    return form


def add_field(form: dict, section_key: str, field: dict) -> dict:
    form = deepcopy(form)
    if len(fields_of(form)) >= MAX_FIELDS:
        raise FormError("too_many_fields", N_("A form has at most 200 fields."))
    section = next((s for s in form["sections"] if s["key"] == section_key), None)
    if section is None:
        raise FormError("section_not_found", N_("Choose a section."), "section")
    section["fields"].append(field)
    return form


def replace_field(form: dict, field: dict) -> dict:
    form = deepcopy(form)
    for section in form["sections"]:
        for i, existing in enumerate(section["fields"]):
            if existing["key"] == field["key"]:
                section["fields"][i] = field
                return form
    raise FormError("field_not_found", FIELD_NOT_FOUND)


def remove_field(form: dict, key: str) -> dict:
    if any((f.get("condition") or {}).get("field") == key for f in fields_of(form)):
        raise FormError(
            "field_used_in_condition",
            N_("Another field is shown depending on this one: change that condition first."),
        )
    form = deepcopy(form)
    for section in form["sections"]:
        section["fields"] = [f for f in section["fields"] if f["key"] != key]
    return form


def move_field(form: dict, key: str, offset: int) -> dict:
    """Move a field up (-1) or down (+1) within its section, or into the next one."""
    form = deepcopy(form)
    flat = [
        (si, fi)
        for si, s in enumerate(form["sections"])
        for fi, f in enumerate(s["fields"])
        if f["key"] == key
    ]
    if not flat:
        raise FormError("field_not_found", FIELD_NOT_FOUND)
    si, fi = flat[0]
    fields = form["sections"][si]["fields"]
    target = fi + offset
    if 0 <= target < len(fields):
        fields[fi], fields[target] = fields[target], fields[fi]
    elif target < 0 and si > 0:
        form["sections"][si - 1]["fields"].append(fields.pop(fi))
    elif target >= len(fields) and si < len(form["sections"]) - 1:
        form["sections"][si + 1]["fields"].insert(0, fields.pop(fi))
    return form


def check_compatible(old: dict, new: dict) -> None:
    """After publication, a change must keep every existing answer valid: no field
    removed, no type changed, no field newly required, no choice removed, no
    shorter limit. Labels, help, order and new optional fields are fine."""
    new_fields = {f["key"]: f for f in fields_of(new)}
    for before in fields_of(old):
        after = new_fields.get(before["key"])
        if after is None:
            raise FormError(
                "published_remove",
                N_("The call is published: a field cannot be removed (answers depend on it)."),
                before["key"],
            )
        if after["type"] != before["type"]:
            raise FormError(
                "published_type",
                N_("The call is published: the type of a field cannot change."),
                before["key"],
            )
        if after["required"] and not before["required"]:
            raise FormError(
                "published_required",
                N_("The call is published: a field cannot become required."),
                before["key"],
            )
        if set(before.get("choices") or []) - set(after.get("choices") or []):
            raise FormError(
                "published_choices",
                N_("The call is published: a choice cannot be removed."),
                before["key"],
            )
        if after.get("max_length") and (
            not before.get("max_length") or after["max_length"] < before["max_length"]
        ):
            raise FormError(
                "published_max_length",
                N_("The call is published: the character limit cannot be lowered."),
                before["key"],
            )
        if after.get("condition") != before.get("condition"):
            raise FormError(
                "published_condition",
                N_("The call is published: the condition of a field cannot change."),
                before["key"],
            )
    old_keys = {f["key"] for f in fields_of(old)}
    for key, after in new_fields.items():
        if key not in old_keys and after["required"]:
            raise FormError(
                "published_new_required",
                N_("The call is published: a new field must be optional."),
                key,
            )


# --- Answers --------------------------------------------------------------------------


def is_visible(field: dict, answers: dict[str, Any]) -> bool:
    condition = field.get("condition")
    if not condition:
        return True
    value = answers.get(condition["field"])
    if isinstance(value, list):
        return condition["equals"] in value
    return value == condition["equals"]


def clean_answer(field: dict, raw: Any) -> Any:
    """The stored form of one answer (None when empty); raises ``FormError``."""
    kind = field["type"]
    if kind == "multiple_choice":
        values = [v for v in (raw if isinstance(raw, list) else [raw] if raw else []) if v]
        if any(v not in field["choices"] for v in values):
            raise FormError("choice", CHOICE, field["key"])
        return [c for c in field["choices"] if c in values] or None
    text = (raw or "").strip() if isinstance(raw, str) else ""
    if not text:
        return None
    if kind == "short_text":
        if len(text) > SHORT_TEXT_MAX:
            raise FormError("too_long", TOO_LONG, field["key"])
        return text
    if kind == "long_text":
        limit = field.get("max_length") or LONG_TEXT_MAX
        if len(text) > limit:
            raise FormError("too_long", TOO_LONG, field["key"])
        return text
    if kind == "number":
        try:
            number = parse_decimal(text)
        except NumberError:
            raise FormError("number", NUMBER, field["key"]) from None
        if abs(number) > Decimal(10) ** 12:
            raise FormError("number", NUMBER, field["key"])
        return str(number.normalize()) if number != number.to_integral() else str(int(number))
    if kind == "money":
        try:
            return parse_amount(text)
        except AmountError as exc:
            raise amount_refused(exc, field["key"]) from None
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise FormError("date", DATE, field["key"]) from None
    if kind == "single_choice":
        if text not in field["choices"]:
            raise FormError("choice", CHOICE, field["key"])
        return text
    if kind == "yes_no":
        if text not in ("yes", "no"):
            raise FormError("choice", CHOICE, field["key"])
        return text
    if kind == "email":
        if len(text) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
            raise FormError(
                "email", N_("Enter an email address like nom@exemple.fr."), field["key"]
            )
        return text
    if kind == "url":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 2000:
            raise FormError("url", N_("Enter a web address starting with https://"), field["key"])
        return text
    if kind == "file":
        return None  # files are attachments, not answers
    raise FormError("field_type", N_("Choose a field type."), field["key"])


def clean_answers(form: dict, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, FormError]]:
    """Every answer the form knows, cleaned; and the refusal of each wrong one. Hidden
    fields (condition not met) keep nothing. Missing required answers are not errors
    here: a draft may be incomplete (see ``missing_answers``)."""
    answers: dict[str, Any] = {}
    errors: dict[str, FormError] = {}
    for field in fields_of(form):
        if field["type"] == "file":
            continue
        try:
            value = clean_answer(field, raw.get(field["key"]))
        except FormError as exc:
            errors[field["key"]] = exc
            value = None
        if value is not None:
            answers[field["key"]] = value
    # Conditions are evaluated on the cleaned answers, in order.
    for field in fields_of(form):
        if not is_visible(field, answers):
            answers.pop(field["key"], None)
            errors.pop(field["key"], None)
    return answers, errors


def missing_answers(form: dict, answers: dict[str, Any], files: set[str]) -> list[dict]:
    """The required, visible fields without an answer (or without a file)."""
    missing = []
    for field in fields_of(form):
        if not field["required"] or not is_visible(field, answers):
            continue
        present = (
            field["key"] in files
            if field["type"] == "file"
            else answers.get(field["key"]) not in (None, [], "")
        )
        if not present:
            missing.append(field)
    return missing


# The kinds of file a document or a file question accepts, as the builder names them.
KIND_LABELS = {
    "pdf": N_("PDF"),
    "image": N_("Image (JPEG, PNG)"),
    "office": N_("Word, Excel, PowerPoint"),
    "opendocument": N_("OpenDocument (LibreOffice)"),
}
