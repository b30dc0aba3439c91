"""What the applications services return and raise: typed read models (frozen, their
JSON decoded once, when the row is read) and the domain's refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.applications import budget as budgets
from app.applications import states
from app.core import i18n
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_

# A file someone may not see, or one that went away meanwhile: answered like a page
# that does not exist (routes turn it into a 404 where they can).
NOT_FOUND = N_("This page does not exist, or you do not have access to it.")


class ApplicationError(DomainError):
    """A rule of the applications domain said no; the message says which."""


class Conflict(ApplicationError):
    """Someone else saved the draft since this person loaded it: ``current`` is the
    version they saved, shown beside what this person typed."""

    def __init__(self, current: ApplicationView):
        super().__init__(
            "conflict", N_("Someone else saved this file while you were typing"), field="title"
        )
        self.current = current


class Incomplete(ApplicationError):
    """Submission refused: ``problems`` says everything missing, with where to fix it."""

    def __init__(self, problems: list[Problem]):
        super().__init__("incomplete", N_("Before you can submit"))
        self.problems = problems


class Undeclared(ApplicationError):
    """Submission refused: the sworn statement is not made; ``errors`` per field
    (``declarant_name``, ``declarant_capacity``, ``certify``)."""

    def __init__(self, errors: dict[str, ApplicationError]):
        super().__init__("undeclared", N_("Make the sworn statement before you submit"))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Ineligible(Exception):
    """A blocking eligibility answer: nothing is created."""

    question: dict


@dataclass(frozen=True, slots=True)
class Problem:
    """Something missing or wrong that stops submission, and where to fix it."""

    code: str
    anchor: str  # the id of the field to fix
    message: str  # English (N_), ``%(label)s`` filled with ``label``
    label: str = ""

    def text(self) -> str:
        message = i18n.gettext(self.message)
        return message % {"label": self.label} if "%(label)s" in message else message


# --- The file -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicationView:
    """One application as its pages read it: the file, its call's dates, limits and
    status, its organisation and funder, and the form version it is filled against."""

    id: int
    call: int
    organisation: int
    form_version: int
    status: str
    reference: str | None
    title: str
    requested_cents: int
    answers: dict[str, Any]
    budget: dict[str, Any]
    version: int
    created_at: datetime
    created_by: int | None
    updated_at: datetime
    updated_by: int | None
    submitted_at: datetime | None
    content_sha256: str | None
    receipt_file: str | None
    completion_message: str
    complete_by: datetime | None
    screened_at: datetime | None
    screening_reason: str
    ineligibility_file: str | None  # the decision's PDF, stored at screening
    # The sworn statement of the person who submitted it
    declarant_name: str
    declarant_capacity: str
    # Its call
    call_title: str
    call_status: str
    call_opens_at: datetime
    call_closes_at: datetime
    call_min_award_cents: int
    call_max_award_cents: int
    call_max_rate_bp: int
    call_decision_expected_on: date | None
    funder_id: int
    funder_name: str
    funder_address: str
    funder_website: str
    # Its organisation
    organisation_name: str
    organisation_street: str
    organisation_postcode: str
    organisation_city: str
    # The form version it is filled against
    form: dict[str, Any]
    documents: list[dict[str, Any]]

    @property
    def forecast(self) -> budgets.Budget:
        """The forecast budget, the requested amount on this call's funder's line."""
        return budgets.from_json(self.budget, self.requested_cents)

    @property
    def applicant_status(self) -> str:
        """The status the organisation sees (``states.applicant_status``)."""
        return states.applicant_status(self.status)

    def actions(self, side: str) -> frozenset[str]:
        """What this side (``applicant``, ``officer``) may do with the file now."""
        return states.APPLICATION.allowed(self.status, side)

    @property
    def in_draft(self) -> bool:
        return self.status in states.DRAFTING

    @property
    def sent_back(self) -> bool:
        return self.status in states.SENT_BACK

    @property
    def screened_out(self) -> bool:
        return self.status in states.SCREENED_OUT

    @property
    def decided(self) -> bool:
        """The committee's decision on it is published (awarded, rejected, waiting list)."""
        return self.status in states.DECIDED

    @property
    def before_the_committee(self) -> bool:
        """Screened eligible: its decision page exists for the staff."""
        return self.status in states.DECIDABLE | states.DECIDED


@dataclass(frozen=True, slots=True)
class ApplicationSummary:
    """A line of « my applications » (and of « Mon espace »)."""

    id: int
    reference: str | None
    title: str
    status: str
    updated_at: datetime
    call_title: str
    call_closes_at: datetime
    organisation_name: str
    complete_by: datetime | None = None
    unread: int = 0  # the staff's messages this person has not seen yet

    @property
    def applicant_status(self) -> str:
        return states.applicant_status(self.status)

    @property
    def in_progress(self) -> bool:
        """A draft, or a file sent back to complete: the organisation has work to do."""
        return self.status in states.DRAFTING | states.SENT_BACK

    @property
    def deadline(self) -> datetime | None:
        """The date by which the organisation must act: the call's closing for a draft,
        the officer's response deadline for a file sent back; None once submitted."""
        if self.status in states.DRAFTING:
            return self.call_closes_at
        if self.status in states.SENT_BACK:
            return self.complete_by
        return None

    def overdue(self, at: datetime) -> bool:
        deadline = self.deadline
        return deadline is not None and at >= deadline


@dataclass(frozen=True, slots=True)
class StaffRow:
    """A line of the staff's table of a call's applications (and of its exports)."""

    id: int
    reference: str | None
    title: str
    status: str
    requested_cents: int
    submitted_at: datetime | None
    updated_at: datetime
    organisation_name: str
    siret: str = ""


# --- Documents and messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttachmentView:
    """A document of the file as it stands (its latest version)."""

    id: int
    document_key: str
    original_name: str
    size: int
    sha256: str
    kind: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class AttachmentVersion:
    """Any version of a document, replaced or current; ``pruned_at``: its bytes are gone."""

    id: int
    document_key: str
    original_name: str
    size: int
    sha256: str
    uploaded_at: datetime
    superseded_at: datetime | None
    pruned_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file just stored (``core.storage``), as the services record it."""

    storage_id: str
    original_name: str
    size: int
    sha256: str
    kind: str
    content_type: str

    @classmethod
    def of(cls, stored: Any) -> NewFile:
        """From a ``core.storage.StoredFile``."""
        return cls(
            storage_id=stored.storage_id,
            original_name=stored.filename,
            size=stored.size,
            sha256=stored.sha256,
            kind=stored.kind,
            content_type=stored.content_type,
        )


@dataclass(frozen=True, slots=True)
class MessageFile:
    id: int
    original_name: str
    size: int


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    body: str
    created_at: datetime
    from_staff: bool
    author_name: str | None
    files: tuple[MessageFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Declaration:
    """The sworn statement typed on « Vérifier et déposer » (CERFA 12156): the person
    certifies the file exact, with their name and capacity."""

    name: str
    capacity: str
    certified: bool


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A line of the file's history, from the audit trail."""

    created_at: datetime
    action: str
    actor_label: str
    label: str | None  # English (N_), None for an action without a label: shown as is


@dataclass(frozen=True, slots=True)
class Saved:
    version: int
    at: datetime
    # Answers not saved, each with its refusal: they keep their stored value.
    errors: dict[str, DomainError]
