"""What the grants' services return: frozen read models, JSON columns decoded once (by
the query, ``output(load_json=True)``), the actions a status allows computed from the
state tables of ``states.py``. Pages read them; nothing here touches the database."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Self

from app.grants.states import AMENDABLE, INSTALMENT, RECOVERY, REPORT, REPORT_EDITABLE

# Every staff side: a page shows each action its own permission allows (``can()``).
STAFF_SIDES = ("officer", "finance")


class Record:
    """A read model built from a query's row: its fields are picked by name (the row
    may hold more columns)."""

    __slots__ = ()

    @classmethod
    def of(cls, row: dict[str, Any], **more: Any) -> Self:
        values = {**row, **more}
        return cls(**{f.name: values[f.name] for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class GrantRecord(Record):
    """A grant with its file, call and organisation."""

    id: int
    application: int
    call: int
    organisation: int
    amount_cents: int
    reduction_cents: int
    status: str
    created_at: datetime
    accepted_at: datetime | None
    signatory_name: str
    signatory_capacity: str
    agreement_required: bool
    agreement_file: str | None
    agreement_name: str
    agreement_uploaded_at: datetime | None  # when the agreement came into force
    interim_report_due: date | None
    final_report_due: date | None
    reference: str | None
    title: str
    budget: dict  # the application's forecast budget (decoded)
    requested_cents: int
    call_title: str
    funder_name: str
    organisation_name: str
    funder_address: str = ""  # the funder's service: signs the e-mails and receipts
    funder_id: int = 0  # whose staff may act on it (``app.permissions``: roles per funder)
    agreement_sha256: str = ""  # the agreement in force's fingerprint (checked when served)

    @property
    def accepted(self) -> bool:
        """Accepted by the organisation: the follow-up (reports, payments) is under way."""
        return self.status == "active"

    @property
    def due_cents(self) -> int:
        return self.amount_cents - self.reduction_cents

    def report_due(self, kind: str) -> date | None:
        return self.interim_report_due if kind == "interim" else self.final_report_due


@dataclass(frozen=True, slots=True)
class InstalmentRecord(Record):
    """One part of the schedule, with what was paid on it (payments - reversals)."""

    id: int
    grant: int
    position: int
    amount_cents: int
    trigger: str
    due_on: date | None
    status: str
    note: str
    approved_at: datetime | None
    cancelled_at: datetime | None
    paid_cents: int = 0

    @property
    def left_cents(self) -> int:
        return self.amount_cents - self.paid_cents

    @property
    def actions(self) -> frozenset[str]:
        """What staff may do with it now (each side as its permission allows)."""
        return INSTALMENT.allowed(self.status, STAFF_SIDES)

    @property
    def payable(self) -> bool:
        """Payments may be recorded against it (approved for payment)."""
        return "pay" in self.actions

    @property
    def amendable(self) -> bool:
        """An amendment (avenant) may still change its amount."""
        return self.status in AMENDABLE


@dataclass(frozen=True, slots=True)
class SchedulePart(Record):
    """An instalment as an amendment recorded it (before or after)."""

    position: int
    amount_cents: int
    trigger: str
    due_on: str | None
    status: str


@dataclass(frozen=True, slots=True)
class AmendmentRecord:
    id: int
    kind: str  # amendment | reduction
    reason: str
    created_at: datetime
    before: tuple[SchedulePart, ...]
    after: tuple[SchedulePart, ...]

    @classmethod
    def of(cls, row: dict[str, Any]) -> AmendmentRecord:
        return cls(
            id=row["id"],
            kind=row["kind"],
            reason=row["reason"],
            created_at=row["created_at"],
            before=tuple(SchedulePart.of(p) for p in row["before"] or ()),
            after=tuple(SchedulePart.of(p) for p in row["after"] or ()),
        )


@dataclass(frozen=True, slots=True)
class EntryRecord(Record):
    """A line of the ledger; ``reversible``: a payment not yet cancelled."""

    id: int
    grant: int
    instalment: int | None
    instalment_position: int | None
    kind: str  # payment | reversal | recovery
    amount_cents: int
    value_date: date
    reference: str
    bank_reference: str
    reverses: int | None
    created_at: datetime
    reversible: bool = False


@dataclass(frozen=True, slots=True)
class RecoveryRecord(Record):
    id: int
    grant: int
    amount_cents: int
    reason: str
    status: str
    created_at: datetime
    received_at: datetime | None
    received_cents: int = 0  # paid back so far

    @property
    def left_cents(self) -> int:
        return self.amount_cents - self.received_cents

    @property
    def actions(self) -> frozenset[str]:
        return RECOVERY.allowed(self.status, "finance")


@dataclass(frozen=True, slots=True)
class ReportRecord(Record):
    """An interim or final report; ``actuals`` decoded: {"charges": {line: cents},
    "produits": {line: cents}}."""

    id: int
    grant: int
    kind: str
    status: str
    narrative: str
    actuals: dict
    submitted_at: datetime | None
    reviewed_at: datetime | None
    message: str
    receipt_file: str | None = None

    @property
    def actions(self) -> frozenset[str]:
        return REPORT.allowed(self.status, ("applicant", "officer"))

    @property
    def editable(self) -> bool:
        """Still in its organisation's hands (a draft, or sent back)."""
        return self.status in REPORT_EDITABLE

    @property
    def sent_back_message(self) -> str:
        """The officer's message while the report waits for its corrections."""
        return self.message if self.status == "returned" else ""


@dataclass(frozen=True, slots=True)
class AttachmentRecord(Record):
    """A report's supporting document, with the grant it belongs to."""

    id: int
    report: int
    grant: int
    storage_id: str
    original_name: str
    content_type: str
    size: int
    document: str = "other"
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class ReductionResult:
    reduction_cents: int
    recovery_cents: int  # paid beyond what is now due: a recovery opened
