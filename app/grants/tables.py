from enum import StrEnum

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.applications.tables import Application
from app.calls.tables import Call
from app.funders.tables import Funder
from app.organisations.tables import Organisation


class GrantStatus(StrEnum):
    awaiting_acceptance = "awaiting_acceptance"  # published, not yet accepted
    active = "active"  # accepted: follow-up (reports, payments) under way


class Grant(Table):
    """A subsidy awarded by a published decision. Amounts in cents. Never deleted."""

    application = ForeignKey(Application, on_delete=OnDelete.restrict, unique=True)
    call = ForeignKey(Call, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    amount_cents = BigInt()
    status = Varchar(length=20, choices=GrantStatus, default=GrantStatus.awaiting_acceptance)
    created_at = Timestamptz(default=TimestamptzNow())
    # The online acceptance: who signed, in what capacity, when, from where.
    accepted_at = Timestamptz(null=True, default=None)
    accepted_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    signatory_name = Varchar(length=200, default="")
    signatory_capacity = Varchar(length=200, default="")
    accepted_ip = Varchar(length=45, default="")
    # The signed agreement (convention): asked by the call, or by law above 23 000 €;
    # no payment before it is received.
    agreement_required = Boolean(default=False)
    agreement_file = Varchar(length=64, null=True, default=None)
    agreement_name = Varchar(length=255, default="")
    agreement_sha256 = Varchar(length=64, default="")
    agreement_uploaded_at = Timestamptz(null=True, default=None)
    # Follow-up: report deadlines (set by the officer), the proportional reduction
    # applied after the final report (the grant's amount due is amount - reduction).
    interim_report_due = Date(null=True, default=None)
    final_report_due = Date(null=True, default=None)
    reduction_cents = BigInt(default=0)
    internal_note = Text(default="")
    # The ledger's sums, kept in the ledger's write transaction (grants/totals.py):
    # payments - reversals, and recoveries.
    paid_cents = BigInt(default=0)
    recovered_cents = BigInt(default=0)


class InstalmentStatus(StrEnum):
    scheduled = "scheduled"
    due = "due"
    approved = "approved"
    paid = "paid"
    cancelled = "cancelled"


class Instalment(Table):
    """One part of a grant's payment schedule (échéance), with what makes it due."""

    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    position = Integer()
    amount_cents = BigInt()
    trigger = Varchar(length=20)  # acceptance | interim_report | final_report | date
    due_on = Date(null=True, default=None)
    status = Varchar(length=12, choices=InstalmentStatus, default=InstalmentStatus.scheduled)
    created_at = Timestamptz(default=TimestamptzNow())
    note = Text(default="")
    due_at = Timestamptz(null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    approved_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)


class AmendmentKind(StrEnum):
    amendment = "amendment"  # an avenant typed by an officer (amounts moved, total kept)
    reduction = "reduction"  # the proportional reduction after the final report (once)


class ScheduleAmendment(Table, tablename="schedule_amendment"):
    """An amendment (avenant) of a grant's schedule: both versions kept, as JSON lists
    of {position, amount_cents, trigger, due_on, status}."""

    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    # Decided on, never the reason's free text (« Réduction… » typed by an officer as
    # the reason of an avenant once blocked the real reduction).
    kind = Varchar(length=10, choices=AmendmentKind, default=AmendmentKind.amendment)
    before = JSON()
    after = JSON()
    reason = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class Recovery(Table):
    """Money the grantee must pay back (reversement), followed until received."""

    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    amount_cents = BigInt()
    reason = Text()
    status = Varchar(length=10, default="open")  # open | received
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    received_at = Timestamptz(null=True, default=None)


class LedgerKind(StrEnum):
    payment = "payment"  # a payment (versement, mandat) against an approved instalment
    reversal = "reversal"  # cancels a mistaken payment (never edited or deleted)
    recovery = "recovery"  # money paid back by the grantee (reversement received)


class LedgerEntry(Table, tablename="ledger_entry"):
    """The append-only ledger of a grant: amounts in cents, always positive; the kind
    says which way the money went. Net paid = payments - reversals - recoveries."""

    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    instalment = ForeignKey(Instalment, on_delete=OnDelete.restrict, null=True, default=None)
    kind = Varchar(length=10, choices=LedgerKind)
    amount_cents = BigInt()
    value_date = Date()
    reference = Varchar(length=60)  # mandate number, recovery order (titre de recette)
    bank_reference = Varchar(length=100, default="")
    reverses = ForeignKey("self", on_delete=OnDelete.restrict, null=True, default=None)
    recovery = ForeignKey(Recovery, on_delete=OnDelete.restrict, null=True, default=None)
    # One form, one entry: a double click or a replayed request records nothing more.
    idempotency_key = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class Report(Table):
    """An interim or final report (bilan) with its financial statement (compte rendu
    financier): actual amounts per budget line beside the forecast."""

    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=10)  # interim | final
    status = Varchar(length=10, default="draft")  # draft | submitted | approved | returned
    narrative = Text(default="")
    actuals = JSON(default="{}")  # {"charges": {line: cents}, "produits": {line: cents}}
    submitted_at = Timestamptz(null=True, default=None)
    submitted_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    reviewed_at = Timestamptz(null=True, default=None)
    reviewed_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    message = Text(default="")  # the officer's message when sending it back
    reminded_before_at = Timestamptz(null=True, default=None)
    reminded_after_at = Timestamptz(null=True, default=None)
    # The acknowledgement of receipt (PDF) written after submission: its storage id.
    receipt_file = Varchar(length=64, null=True, default=None)


class ReportAttachment(Table, tablename="report_attachment"):
    report = ForeignKey(Report, on_delete=OnDelete.restrict, index=True)
    # Which of the report's documents it is (``reports.DOCUMENTS``): activity, expenses…
    document = Varchar(length=20, default="other")
    storage_id = Varchar(length=64, unique=True)
    original_name = Varchar(length=255)
    size = BigInt()
    sha256 = Varchar(length=64)
    content_type = Varchar(length=100)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    uploaded_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class GrantNotice(Table, tablename="grant_notice"):
    """A notice sent to the grantee about an unfavourable change — the reduction of its
    grant and what it must pay back (avis de réduction et de reversement): the PDF as
    sent, immutable, with its fingerprint; each later notice is a new row."""

    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=20, default="reduction")
    reduction_cents = BigInt(default=0)
    recovery_cents = BigInt(default=0)  # what is to be paid back (0: nothing)
    repay_by = Date(null=True, default=None)
    storage_id = Varchar(length=64, unique=True)
    filename = Varchar(length=200)
    sha256 = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class CallTotals(Table, tablename="grant_call_totals"):
    """A call's grants summed, for the finance dashboard: kept by every write that
    changes a grant's amount, reduction or ledger, in its transaction
    (``grants.totals.follow``); ``guichet finance check-totals`` compares them with the
    ledger. Amounts in cents; to_pay and to_recover are summed grant by grant."""

    call = ForeignKey(Call, on_delete=OnDelete.restrict, unique=True)
    grants = Integer(default=0)
    committed_cents = BigInt(default=0)
    reduced_cents = BigInt(default=0)
    paid_cents = BigInt(default=0)
    recovered_cents = BigInt(default=0)
    to_pay_cents = BigInt(default=0)
    to_recover_cents = BigInt(default=0)


class Agreement(Table, tablename="grant_agreement"):
    """One version of a grant's written agreement (convention): generated here and
    signed online by both parties (``method`` online), or a printed-and-scanned copy
    uploaded by the organisation and checked by an officer (``method`` upload). Its
    status changes through ``states.AGREEMENT``. Every stored PDF is written once and
    kept with its SHA-256; the grant's ``agreement_file`` names the one in force."""

    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=12, default="agreement")  # agreement | amendment (avenant)
    # An avenant's schedule amendment (its before and after).
    amendment = ForeignKey(ScheduleAmendment, on_delete=OnDelete.restrict, null=True, default=None)
    method = Varchar(length=8, default="online")  # online | upload
    status = Varchar(length=24)
    # The document to sign (generated), or the scan received: its exact bytes' SHA-256.
    document_file = Varchar(length=64, null=True, default=None)
    document_name = Varchar(length=255, default="")
    document_sha256 = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    # The one-time code e-mailed to the signer: its hash, expiry and failed attempts.
    code_hash = Varchar(length=64, default="", secret=True)
    code_user = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    code_expires_at = Timestamptz(null=True, default=None)
    code_attempts = Integer(default=0)
    # The organisation's legal representative's signature.
    signer = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    signer_name = Varchar(length=200, default="")
    signer_capacity = Varchar(length=200, default="")
    signer_email = Varchar(length=254, default="")
    signer_ip = Varchar(length=45, default="")
    signer_method = Varchar(length=12, default="")  # email_code | totp
    signed_at = Timestamptz(null=True, default=None)
    # The funder's countersignature, by staff holding the signing delegation.
    countersigner = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    countersigner_name = Varchar(length=200, default="")
    countersigner_capacity = Varchar(length=200, default="")
    countersigner_email = Varchar(length=254, default="")
    countersigner_ip = Varchar(length=45, default="")
    countersigned_at = Timestamptz(null=True, default=None)
    # The signed PDF: the document and its evidence page, written once.
    signed_file = Varchar(length=64, null=True, default=None)
    signed_sha256 = Varchar(length=64, default="")
    # An uploaded scan's check by an officer.
    checked_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    checked_at = Timestamptz(null=True, default=None)
    refusal_reason = Text(default="")


class AgreementTemplate(Table, tablename="agreement_template"):
    """The articles of a funder's agreements (``call`` null), or of one call's: text
    with placeholders (``agreement_text.PLACEHOLDERS``), « # » opening an article."""

    funder = ForeignKey(Funder, on_delete=OnDelete.cascade, null=True, default=None, unique=True)
    call = ForeignKey(Call, on_delete=OnDelete.cascade, null=True, default=None, unique=True)
    body = Text()
    updated_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class PaymentBatch(Table, tablename="payment_batch"):
    """A payment batch (lot de mandatement): approved instalments finance selected,
    exported for the accounting system (again as often as needed), then marked paid
    once the mandate is issued — each line a ledger payment (``grants.batches``)."""

    status = Varchar(length=10, default="open")  # open | paid
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    exported_at = Timestamptz(null=True, default=None)  # the last export
    mandate_reference = Varchar(length=60, default="")  # one number for the batch
    value_date = Date(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    paid_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class PaymentBatchLine(Table, tablename="payment_batch_line"):
    """An instalment of a batch: what was left to pay on it when the batch was made,
    its mandate number (else the batch's), and once marked the ledger entry that paid
    it — or why it was skipped (already paid otherwise)."""

    batch = ForeignKey(PaymentBatch, on_delete=OnDelete.restrict, index=True)
    instalment = ForeignKey(Instalment, on_delete=OnDelete.restrict, index=True)
    grant = ForeignKey(Grant, on_delete=OnDelete.restrict, index=True)
    amount_cents = BigInt()
    mandate_reference = Varchar(length=60, default="")
    entry = ForeignKey(LedgerEntry, on_delete=OnDelete.restrict, null=True, default=None)
    outcome = Varchar(length=10, default="")  # "" (to pay) | paid | skipped
