"""Calls for projects: settings, eligibility, documents, the form and its versions,
publication. No HTTP here; every change is audited."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.calls import dependants, formspec, states
from app.calls.tables import Call, CallStatus, FormVersion
from app.core import audit
from app.core.audit import Actor
from app.core.db import Prepared, for_update, within, write_transaction
from app.core.domain import DomainError
from app.core.forms import parse_date
from app.core.i18n import gettext
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, format_amount, parse_amount
from app.core.numbers import NumberError, parse_percentage, whole_number
from app.core.time import PARIS, TimeError, format_paris, paris_date, parse_paris
from app.funders.tables import Funder

DOCUMENT_KINDS = ("pdf", "image", "office", "opendocument")
MAX_DOCUMENT_MB = 50

SETTINGS_FIELDS = (
    "funder",
    "title",
    "reference_prefix",
    "summary",
    "body",
    "envelope",
    "min_award",
    "max_award",
    "max_rate",
    "opens_at",
    "closes_at",
    "decision_expected_on",
    "silence_months",
)
DEFAULT_SILENCE_MONTHS = 2


class CallError(DomainError):
    """A rule of calls said no; the message says which, ``field`` where."""


REQUIRED, TOO_LONG, CHOICE = formspec.REQUIRED, formspec.TOO_LONG, formspec.CHOICE
NOT_FOUND = N_("This page does not exist, or you do not have access to it.")
CLOSED_LOCKED = N_("The call is closed: its form can no longer change.")
DATETIME_MESSAGES = {
    "datetime": N_("Enter a date and time, e.g. 17/03/2017 12:00."),
    "datetime_gap": N_(
        "This time does not exist in Paris (the clocks go forward): choose another."
    ),
}


def now() -> datetime:
    return datetime.now(UTC)


def paris_datetime(text: str, field: str | None = None) -> datetime:
    """``core.time.parse_paris``, refused as a ``CallError`` with the same code."""
    try:
        return parse_paris(text)
    except TimeError as exc:
        raise CallError(exc.code, DATETIME_MESSAGES[exc.code], field=field) from None


def _required_or_too_long(text: str, limit: int, field: str) -> None:
    if not text:
        raise CallError("required", REQUIRED, field=field)
    if len(text) > limit:
        raise CallError("too_long", TOO_LONG, field=field)


def clean_settings(
    values: dict[str, str], funder_ids: set[int]
) -> tuple[dict, dict[str, CallError]]:
    """Check the settings form of a call; return the stored values and the refusal of
    each field typed wrong."""
    errors: dict[str, CallError] = {}
    cleaned: dict[str, Any] = {}
    raw = {k: (values.get(k) or "").strip() for k in SETTINGS_FIELDS}
    funder = whole_number(raw["funder"])
    if funder in funder_ids:
        cleaned["funder"] = funder
    else:
        errors["funder"] = CallError("choice", CHOICE, field="funder")
    for name, limit in (("title", 250), ("summary", 2000), ("body", 50_000)):
        if name == "title" and not raw[name]:
            errors[name] = CallError("required", REQUIRED, field=name)
        elif len(raw[name]) > limit:
            errors[name] = CallError("too_long", TOO_LONG, field=name)
        cleaned[name] = raw[name]
    prefix = raw["reference_prefix"].upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{1,18}", prefix):
        errors["reference_prefix"] = CallError(
            "reference_prefix",
            N_("Use 2 to 19 capital letters, digits or dashes, e.g. IDF-2017."),
            field="reference_prefix",
        )
    cleaned["reference_prefix"] = prefix
    for name in ("envelope", "min_award", "max_award"):
        try:
            cleaned[f"{name}_cents"] = parse_amount(raw[name])
        except AmountError as exc:
            errors[name] = formspec.amount_refused(exc, name)
    if not errors.keys() & {"min_award", "max_award", "envelope"}:
        if cleaned["min_award_cents"] > cleaned["max_award_cents"]:
            errors["max_award"] = CallError(
                "max_below_min", N_("The maximum award is below the minimum."), field="max_award"
            )
        elif cleaned["max_award_cents"] > cleaned["envelope_cents"]:
            errors["max_award"] = CallError(
                "max_above_envelope",
                N_("The maximum award is above the envelope."),
                field="max_award",
            )
    try:
        rate = parse_percentage(raw["max_rate"])
        if not Decimal(0) < rate <= Decimal(100):
            raise NumberError(raw["max_rate"])
        cleaned["max_rate_bp"] = int(rate * 100)
    except NumberError:
        errors["max_rate"] = CallError(
            "rate", N_("Enter a percentage between 0 and 100, e.g. 80."), field="max_rate"
        )
    # Left empty: two months, the rule for grants (CRPA L231-4, décret 2014-1273).
    silence = (
        whole_number(raw["silence_months"]) if raw["silence_months"] else DEFAULT_SILENCE_MONTHS
    )
    if silence is None or not 1 <= silence <= 12:
        errors["silence_months"] = CallError(
            "silence_months",
            N_("Enter a number of months between 1 and 12, e.g. 2."),
            field="silence_months",
        )
    else:
        cleaned["silence_months"] = silence
    for name in ("opens_at", "closes_at"):
        if not raw[name]:
            errors[name] = CallError("required", REQUIRED, field=name)
            continue
        try:
            cleaned[name] = paris_datetime(raw[name], field=name)
        except CallError as exc:
            errors[name] = exc
    if (
        "opens_at" in cleaned
        and "closes_at" in cleaned
        and cleaned["closes_at"] <= cleaned["opens_at"]
    ):
        errors["closes_at"] = CallError(
            "closes_before_opens",
            N_("The closing date must come after the opening date."),
            field="closes_at",
        )
    cleaned["decision_expected_on"] = None
    if raw["decision_expected_on"]:
        try:
            cleaned["decision_expected_on"] = parse_date(raw["decision_expected_on"])
        except ValueError:
            errors["decision_expected_on"] = CallError(
                "date",
                N_("Enter a date, e.g. 17/03/2017."),
                field="decision_expected_on",
            )
        else:
            closes = cleaned.get("closes_at")
            if closes is not None and cleaned["decision_expected_on"] < paris_date(closes):
                errors["decision_expected_on"] = CallError(
                    "decision_before_close",
                    N_("The decision cannot be expected before the call closes."),
                    field="decision_expected_on",
                )
    return cleaned, errors


def _columns(cleaned: dict) -> dict:
    return {getattr(Call, k): v for k, v in cleaned.items()}


async def funders(among: frozenset[int] | None = None) -> list[dict]:
    """The funders a call may be created for: those of ``among`` (None: all)."""
    query = within(Funder.select(Funder.id, Funder.name), Funder.id, among)
    return await query.order_by(Funder.name)


async def create_call(cleaned: dict, *, actor: Actor) -> int:
    async with write_transaction():
        rows = await Call.insert(Call(**cleaned, created_by=actor.user_id)).returning(Call.id)
        call_id = rows[0]["id"]
        await _audit("calls.created", actor, call_id, title=cleaned["title"])
    return call_id


async def update_settings(call_id: int, cleaned: dict, *, actor: Actor) -> None:
    async with write_transaction():
        call = await _locked(call_id)
        if call["status"] not in states.SETTINGS_OPEN:
            raise CallError("archived", N_("The call is archived."), field="title")
        if cleaned["envelope_cents"] < call["envelope_cents"]:
            committed = await dependants.committed_cents(call_id)
            if cleaned["envelope_cents"] < committed:
                raise CallError(
                    "envelope_below_committed",
                    N_(
                        "The envelope cannot be lower than the %(committed)s the committee"
                        " has already awarded on this call."
                    ),
                    field="envelope",
                    committed=format_amount(committed),
                )
        changed = sorted(k for k, v in cleaned.items() if call.get(k) != v)
        await Call.update({**_columns(cleaned), Call.updated_at: now()}).where(Call.id == call_id)
        await _audit("calls.settings_changed", actor, call_id, changed=changed)


async def _locked(call_id: int) -> dict:
    call = await for_update(Call.select().where(Call.id == call_id).output(load_json=True)).first()
    if call is None:
        raise CallError("not_found", NOT_FOUND)
    return call


async def _audit(action: str, actor: Actor, call_id: int, **summary: Any) -> None:
    await audit.record_by(actor, action, "call", call_id, **summary)


@dataclass(frozen=True, slots=True)
class CallStage:
    """What the call's status (and its rubric's lock) leaves open: its pages read this
    instead of comparing status strings."""

    public: bool  # anyone may read it
    setup_open: bool  # eligibility questions and documents may change
    form_open: bool  # the form may change…
    form_compatible_only: bool  # …keeping every answer given valid
    rubric_open: bool  # criteria may be added or removed
    actions: tuple[str, ...]  # the steps of its life officers may take now

    @classmethod
    def of(cls, call: dict) -> CallStage:
        status = call["status"]
        allowed = states.CALL.allowed(status, "officer")
        return cls(
            public=status in states.PUBLIC,
            setup_open=status in states.SETUP_OPEN,
            form_open=status in states.FORM_OPEN,
            form_compatible_only=status in states.FORM_COMPATIBLE_ONLY,
            rubric_open=status in states.RUBRIC_OPEN and call["rubric_locked_at"] is None,
            actions=tuple(a for a in states.ACTION_LABELS if a in allowed),
        )


# Built once (core.db.Prepared): every page of a call reads it.
_CALL = Prepared(
    lambda call_id: (
        Call.select(
            *Call.all_columns(),
            Call.funder.name.as_alias("funder_name"),
            Call.funder.address.as_alias("funder_address"),
        )
        .where(Call.id == call_id)
        .output(load_json=True)
        .limit(1)
    )
)


async def get_call(call_id: int) -> dict | None:
    """The call, its JSON decoded, with its funder's name and address and its
    ``stage`` (``CallStage``)."""
    call = await _CALL.first(call_id=call_id)
    if call:
        call["stage"] = CallStage.of(call)
    return call


async def staff_calls(funders: frozenset[int] | None = None) -> list[dict]:
    """Every call of ``funders`` (None: every funder), the latest deadline first."""
    return await within(
        Call.select(
            Call.id,
            Call.title,
            Call.status,
            Call.opens_at,
            Call.closes_at,
            Call.envelope_cents,
            Call.funder.name.as_alias("funder_name"),
        ),
        Call.funder,
        funders,
    ).order_by(Call.closes_at, ascending=False)


async def open_calls(at: datetime | None = None) -> list[dict]:
    """Published calls open now (between their dates), soonest deadline first."""
    at = at or now()
    return (
        await Call.select(
            Call.id,
            Call.title,
            Call.summary,
            Call.closes_at,
            Call.opens_at,
            Call.min_award_cents,
            Call.max_award_cents,
            Call.funder.name.as_alias("funder_name"),
        )
        .where(
            (Call.status == CallStatus.published) & (Call.opens_at <= at) & (Call.closes_at > at)
        )
        .order_by(Call.closes_at)
    )


async def public_call(call_id: int) -> dict | None:
    """A call anyone may read: published, closed or archived (never a draft)."""
    call = await get_call(call_id)
    if call is None or not call["stage"].public:
        return None
    return call


def is_open(call: dict, at: datetime | None = None) -> bool:
    """Published and between its dates: applicants may start and submit files."""
    at = at or now()
    return call["status"] == CallStatus.published and call["opens_at"] <= at < call["closes_at"]


def opens_later(call: dict, at: datetime | None = None) -> bool:
    """Published, but its opening date is still to come."""
    return call["status"] == CallStatus.published and (at or now()) < call["opens_at"]


# --- Eligibility and documents ------------------------------------------------------------


def _clean_question(values: dict[str, str]) -> dict:
    label = (values.get("label") or "").strip()
    blocking = values.get("blocking") or ""
    explanation = (values.get("explanation") or "").strip()
    _required_or_too_long(label, 300, "label")
    if blocking not in ("yes", "no"):
        raise CallError("choice", CHOICE, field="blocking")
    if not explanation:
        raise CallError("required", REQUIRED, field="explanation")
    return {"label": label, "blocking": blocking, "explanation": explanation[:1000]}


async def add_eligibility_question(call_id: int, values: dict[str, str], *, actor: Actor) -> None:
    question = _clean_question(values)
    async with write_transaction():
        call = await _locked(call_id)
        _editable(call)
        questions = [*call["eligibility"], {"key": "q" + secrets.token_hex(4), **question}]
        await Call.update({Call.eligibility: json.dumps(questions)}).where(Call.id == call_id)
        await _audit("calls.eligibility_changed", actor, call_id, count=len(questions))


async def edit_eligibility_question(
    call_id: int, key: str, values: dict[str, str], *, actor: Actor
) -> None:
    """Change a question's wording, blocking answer or explanation while nothing
    depends on it (``dependants``: no application yet)."""
    question = _clean_question(values)
    async with write_transaction():
        call = await _locked(call_id)
        await _setup_unused(call)
        questions = _replaced(call["eligibility"], key, question)
        await Call.update({Call.eligibility: json.dumps(questions)}).where(Call.id == call_id)
        await _audit("calls.eligibility_changed", actor, call_id, edited=key)


async def remove_eligibility_question(call_id: int, key: str, *, actor: Actor) -> None:
    async with write_transaction():
        call = await _locked(call_id)
        _editable(call)
        questions = [q for q in call["eligibility"] if q["key"] != key]
        await Call.update({Call.eligibility: json.dumps(questions)}).where(Call.id == call_id)
        await _audit("calls.eligibility_changed", actor, call_id, count=len(questions))


def _editable(call: dict) -> None:
    """Eligibility and documents are fixed once applicants may have answered."""
    if call["status"] not in states.SETUP_OPEN:
        raise CallError(
            "published_locked",
            N_("The call is published: eligibility and documents can no longer change."),
        )


async def _setup_unused(call: dict) -> None:
    """An eligibility question or a document may be edited (not added or removed)
    until the call closes, while no application depends on it."""
    if call["status"] not in states.FORM_OPEN:
        raise CallError("closed_locked", CLOSED_LOCKED)
    if await dependants.has_applications(call["id"]):
        raise CallError(
            "in_use",
            N_(
                "Applications have been started on this call: its eligibility questions"
                " and documents can no longer change."
            ),
        )


@dataclass(frozen=True, slots=True)
class SetupUse:
    """What depends on a call's setup now (``dependants``): its pages offer « Edit »
    only where the services would accept it."""

    applications: bool  # eligibility questions and documents are fixed
    scored: frozenset[str]  # these criteria are fixed

    def question_editable(self, call: dict) -> bool:
        return call["stage"].form_open and not self.applications

    def criterion_editable(self, call: dict, key: str) -> bool:
        return call["stage"].rubric_open and key not in self.scored


async def setup_use(call_id: int) -> SetupUse:
    return SetupUse(
        applications=await dependants.has_applications(call_id),
        scored=frozenset(await dependants.scored_criteria(call_id)),
    )


def _replaced(items: list[dict], key: str, values: dict) -> list[dict]:
    if not any(item["key"] == key for item in items):
        raise CallError("not_found", NOT_FOUND)
    return [{**item, **values} if item["key"] == key else item for item in items]


def _clean_document(values: dict[str, Any]) -> dict:
    label = (values.get("label") or "").strip()
    kinds = [k for k in values.get("kinds", []) if k in DOCUMENT_KINDS]
    _required_or_too_long(label, 200, "label")
    if not kinds:
        raise CallError("kinds", N_("Choose at least one kind of file."), field="kinds")
    max_mb = whole_number(str(values.get("max_mb") or ""))
    if max_mb is None or not 1 <= max_mb <= MAX_DOCUMENT_MB:
        raise CallError("max_mb", N_("Enter a size in megabytes between 1 and 50."), field="max_mb")
    return {
        "label": label,
        "required": values.get("required") == "yes",
        "kinds": kinds,
        "max_mb": max_mb,
        # The organisation's own papers (statutes, bank details…): a blind review
        # never shows them (``reviews.scoring.review_documents``).
        "about_organisation": values.get("about_organisation") == "yes",
    }


async def add_document(call_id: int, values: dict[str, Any], *, actor: Actor) -> None:
    document = {"key": "d" + secrets.token_hex(4), **_clean_document(values)}
    async with write_transaction():
        call = await _locked(call_id)
        _editable(call)
        await Call.update({Call.documents: json.dumps([*call["documents"], document])}).where(
            Call.id == call_id
        )
        await _audit("calls.documents_changed", actor, call_id, added=document["label"])


async def edit_document(call_id: int, key: str, values: dict[str, Any], *, actor: Actor) -> None:
    """Change a document's label, kinds, size limit or « required » while nothing
    depends on it (no application yet); once published, the change makes a new form
    version, which the next applications are filled against."""
    document = _clean_document(values)
    async with write_transaction():
        call = await _locked(call_id)
        await _setup_unused(call)
        documents = _replaced(call["documents"], key, document)
        await Call.update({Call.documents: json.dumps(documents), Call.updated_at: now()}).where(
            Call.id == call_id
        )
        if call["status"] in states.FORM_COMPATIBLE_ONLY:
            await _new_version(call_id, call["form"], documents)
        await _audit("calls.documents_changed", actor, call_id, edited=key)


async def remove_document(call_id: int, key: str, *, actor: Actor) -> None:
    async with write_transaction():
        call = await _locked(call_id)
        _editable(call)
        documents = [d for d in call["documents"] if d["key"] != key]
        await Call.update({Call.documents: json.dumps(documents)}).where(Call.id == call_id)
        await _audit("calls.documents_changed", actor, call_id, removed=key)


# --- Scoring rubric -------------------------------------------------------------------------

MAX_SCALE = 100


def _clean_criterion(values: dict[str, str]) -> dict:
    title = (values.get("title") or "").strip()
    _required_or_too_long(title, 200, "title")
    weight, scale = whole_number(values.get("weight")), whole_number(values.get("scale"))
    if weight is None or not 1 <= weight <= 100:
        raise CallError("weight", N_("Enter a weight between 1 and 100."), field="weight")
    if scale is None or not 1 <= scale <= MAX_SCALE:
        raise CallError(
            "scale", N_("Enter the highest mark, between 1 and 100 (e.g. 5 or 20)."), field="scale"
        )
    return {
        "title": title,
        "guidance": (values.get("guidance") or "").strip()[:2000],
        "weight": weight,
        "scale": scale,
    }


async def add_criterion(call_id: int, values: dict[str, str], *, actor: Actor) -> None:
    """A criterion of the rubric: title, guidance, weight (1–100) and scale (0 to N)."""
    criterion = {"key": "c" + secrets.token_hex(4), **_clean_criterion(values)}
    async with write_transaction():
        call = await _rubric_open(call_id)
        await Call.update({Call.rubric: json.dumps([*call["rubric"], criterion])}).where(
            Call.id == call_id
        )
        await _audit("calls.rubric_changed", actor, call_id, added=criterion["title"])


async def edit_criterion(call_id: int, key: str, values: dict[str, str], *, actor: Actor) -> None:
    """Change a criterion while no review (draft or submitted) has marked it: a mark
    given on a scale of 5 must not be read on a scale of 20."""
    criterion = _clean_criterion(values)
    async with write_transaction():
        call = await _rubric_open(call_id)
        if key in await dependants.scored_criteria(call_id):
            raise CallError(
                "criterion_in_use",
                N_("A reviewer has already marked this criterion: it can no longer change."),
            )
        rubric = _replaced(call["rubric"], key, criterion)
        await Call.update({Call.rubric: json.dumps(rubric)}).where(Call.id == call_id)
        await _audit("calls.rubric_changed", actor, call_id, edited=key)


async def remove_criterion(call_id: int, key: str, *, actor: Actor) -> None:
    async with write_transaction():
        call = await _rubric_open(call_id)
        rubric = [c for c in call["rubric"] if c["key"] != key]
        await Call.update({Call.rubric: json.dumps(rubric)}).where(Call.id == call_id)
        await _audit("calls.rubric_changed", actor, call_id, removed=key)


async def _rubric_open(call_id: int) -> dict:
    """The call, locked, if its rubric may still change: not once the call is closed,
    nor once a review has been scored against it (``lock_rubric``)."""
    call = await _locked(call_id)
    if call["status"] not in states.RUBRIC_OPEN:
        raise CallError("closed_locked", CLOSED_LOCKED)
    if call["rubric_locked_at"] is not None:
        raise CallError(
            "rubric_locked",
            N_(
                "Reviews have been submitted against this rubric: its criteria can no longer change."
            ),
        )
    return call


async def lock_rubric(call_id: int) -> None:
    """The review calls this in the transaction that submits a review: from then on
    the criteria stay those the reviews were scored against (a review could not be
    marked against other ones)."""
    await Call.update({Call.rubric_locked_at: datetime.now(UTC)}).where(
        (Call.id == call_id) & Call.rubric_locked_at.is_null()
    )


# --- The form --------------------------------------------------------------------------------


async def change_form(call_id: int, change, *, actor: Actor) -> None:
    """Apply ``change(form) -> form``. Once published, only changes that keep every
    existing answer valid are accepted, and each makes a new form version."""
    async with write_transaction():
        call = await _locked(call_id)
        if call["status"] not in states.FORM_OPEN:
            raise CallError("closed_locked", CLOSED_LOCKED)
        new_form = change(call["form"])
        compatible_only = call["status"] in states.FORM_COMPATIBLE_ONLY
        if compatible_only:
            formspec.check_compatible(call["form"], new_form)
        await Call.update({Call.form: json.dumps(new_form), Call.updated_at: now()}).where(
            Call.id == call_id
        )
        if compatible_only:
            await _new_version(call_id, new_form, call["documents"])
        await _audit("calls.form_changed", actor, call_id, fields=len(formspec.fields_of(new_form)))


async def _new_version(call_id: int, form: dict, documents: list) -> int:
    last = (
        await FormVersion.select(FormVersion.number)
        .where(FormVersion.call == call_id)
        .order_by(FormVersion.number, ascending=False)
        .first()
    )
    number = (last["number"] if last else 0) + 1
    rows = await FormVersion.insert(
        FormVersion(
            call=call_id, number=number, form=json.dumps(form), documents=json.dumps(documents)
        )
    ).returning(FormVersion.id)
    return rows[0]["id"]


async def current_form_version(call_id: int) -> dict | None:
    return (
        await FormVersion.select()
        .where(FormVersion.call == call_id)
        .order_by(FormVersion.number, ascending=False)
        .output(load_json=True)
        .first()
    )


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One line of the checklist before publication: ``ok``, or what to fix and where
    (``fix``: ``settings`` with the field, ``eligibility``, ``documents``, ``rubric``,
    ``form``); a ``blocking`` item not ok refuses the publication."""

    code: str
    ok: bool
    blocking: bool
    message: str  # marked with N_, ``%(name)s`` filled from ``params`` when shown
    fix: str
    field: str = ""
    params: tuple[tuple[str, Any], ...] = ()

    def values(self) -> dict[str, Any]:
        """The placeholders' values as shown: dates in Paris, amounts in euros."""
        return {
            name: format_paris(value, "day")
            if isinstance(value, datetime)
            else format_amount(value)
            if name.endswith("_cents")
            else value
            for name, value in self.params
        }

    def text(self) -> str:
        message = gettext(self.message)
        return message % self.values() if self.params else message


def checklist(call: dict, *, review_planned: bool, at: datetime | None = None) -> list[CheckItem]:
    """What must hold before a call is published: its closing date to come, an
    envelope, the form with at least one question, the documents to provide, and —
    once its review is set up — the rubric's criteria. A pure rule, tested as such."""
    at = at or now()
    items = []
    closes_ok = call["closes_at"] > at
    items.append(
        CheckItem(
            "closes_at",
            closes_ok,
            True,
            N_("Closing date: %(date)s.")
            if closes_ok
            else N_("The closing date, %(date)s, has passed: set a date to come."),
            "settings",
            "closes_at",
            (("date", call["closes_at"]),),
        )
    )
    opens_later = call["opens_at"] > at
    items.append(
        CheckItem(
            "opens_at",
            True,
            False,
            N_("Applications open on %(date)s.")
            if opens_later
            else N_("Applications open as soon as the call is published."),
            "settings",
            "opens_at",
            (("date", call["opens_at"]),) if opens_later else (),
        )
    )
    envelope_ok = call["envelope_cents"] > 0
    items.append(
        CheckItem(
            "envelope",
            envelope_ok,
            True,
            N_("Envelope: %(envelope_cents)s.")
            if envelope_ok
            else N_("Set the envelope: the total the call may award."),
            "settings",
            "envelope",
            (("envelope_cents", call["envelope_cents"]),) if envelope_ok else (),
        )
    )
    questions = len(formspec.fields_of(call["form"]))
    items.append(
        CheckItem(
            "form",
            questions > 0,
            True,
            N_("Questions in the form: %(n)d.")
            if questions
            else N_("Add at least one field to the form before publishing."),
            "form",
            params=(("n", questions),) if questions else (),
        )
    )
    documents = len(call["documents"])
    items.append(
        CheckItem(
            "documents",
            documents > 0,
            True,
            N_("Documents to provide: %(n)d.")
            if documents
            else N_("List the documents applicants must provide (statutes, bank details…)."),
            "documents",
            params=(("n", documents),) if documents else (),
        )
    )
    criteria = len(call["rubric"])
    items.append(
        CheckItem(
            "rubric",
            criteria > 0,
            review_planned,
            N_("Criteria in the rubric: %(n)d.")
            if criteria
            else N_("The review of this call is set up: add at least one criterion to its rubric.")
            if review_planned
            else N_("No rubric yet: add its criteria before the review starts."),
            "rubric",
            params=(("n", criteria),) if criteria else (),
        )
    )
    return items


async def publication_checklist(call: dict) -> list[CheckItem]:
    return checklist(call, review_planned=await dependants.review_planned(call["id"]))


# --- Life cycle --------------------------------------------------------------------------------


async def transition(call_id: int, action: str, *, actor: Actor) -> str:
    """Publish, close or archive, as the state table (``states.CALL``) allows; a call is
    published only when its checklist (``checklist``) has no blocking item left."""
    not_now = CallError("transition", N_("This change of status is not possible now."))
    if action not in states.CALL.transitions:
        raise not_now
    async with write_transaction():
        call = await _locked(call_id)
        if not states.CALL.can(action, call["status"], "officer"):
            raise not_now
        target = states.CALL.fire(action, call["status"], "officer")
        if action == "publish":
            for item in await publication_checklist(call):
                if item.blocking and not item.ok:
                    raise CallError(
                        item.code,
                        item.message,
                        field=item.field or None,
                        **item.values(),
                    )
            await _new_version(call_id, call["form"], call["documents"])
        await Call.update({Call.status: target, Call.updated_at: now()}).where(Call.id == call_id)
        await _audit(f"calls.{target}", actor, call_id)
    return target


async def duplicate(call_id: int, *, actor: Actor) -> int:
    """Next year's edition: same settings, texts, eligibility, documents, form and
    rubric, one year later, as a draft."""
    async with write_transaction():
        call = await _locked(call_id)
        copy = {
            "funder": call["funder"],
            "title": f"{call['title']} (copie)"[:250],
            "reference_prefix": _next_prefix(call["reference_prefix"]),
            "summary": call["summary"],
            "body": call["body"],
            "envelope_cents": call["envelope_cents"],
            "min_award_cents": call["min_award_cents"],
            "max_award_cents": call["max_award_cents"],
            "max_rate_bp": call["max_rate_bp"],
            "silence_months": call["silence_months"],
            "opens_at": _plus_one_year(call["opens_at"]),
            "closes_at": _plus_one_year(call["closes_at"]),
            "eligibility": json.dumps(call["eligibility"]),
            "form": json.dumps(call["form"]),
            "documents": json.dumps(call["documents"]),
            "rubric": json.dumps(call["rubric"]),
        }
        rows = await Call.insert(Call(**copy, created_by=actor.user_id)).returning(Call.id)
        new_id = rows[0]["id"]
        await _audit("calls.duplicated", actor, new_id, source=call_id)
    return new_id


def _plus_one_year(value: datetime) -> datetime:
    local = value.astimezone(PARIS)
    try:
        shifted = local.replace(year=local.year + 1)
    except ValueError:  # 29 February
        shifted = local.replace(year=local.year + 1, day=28)
    # Same wall-clock time in Paris, whatever the summer-time offset that day.
    return shifted.replace(tzinfo=None).replace(tzinfo=PARIS).astimezone(UTC)


def _next_prefix(prefix: str) -> str:
    match = re.search(r"(\d{4})$", prefix)
    return prefix[: match.start()] + str(int(match.group(1)) + 1) if match else prefix
