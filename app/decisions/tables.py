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


class DecisionSettings(Table, tablename="decision_settings"):
    """How a call's committee decides and writes: deliberation, signatory, default
    schedule, letter wording (empty: the default wording)."""

    call = ForeignKey(Call, on_delete=OnDelete.restrict, unique=True)
    deliberation_reference = Varchar(length=120, default="")
    deliberation_date = Date(null=True, default=None)
    place = Varchar(length=100, default="")
    signatory_name = Varchar(length=200, default="")
    signatory_title = Varchar(length=200, default="")
    default_schedule = JSON(default="{}")
    share_reviews = Boolean(default=False)  # reviewers' comments in rejection letters
    agreement_required = Boolean(default=False)  # a signed convention is uploaded
    conditions = Text(default="")
    award_template = Text(default="")
    rejection_template = Text(default="")


class Outcome(StrEnum):
    award = "award"
    reject = "reject"
    waitlist = "waitlist"


class LetterJob(Table, tablename="letter_batch"):
    """A batch of letters to write after a publication, worked off the request path.
    A worker claims it by its heartbeat; a stale heartbeat means the worker died."""

    call = ForeignKey(Call, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=10, default="pending", index=True)  # pending|running|done|failed
    total = Integer(default=0)
    done = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    heartbeat_at = Timestamptz(null=True, default=None)
    worker = Varchar(length=32, default="")  # who holds the claim (a random id per claim)
    finished_at = Timestamptz(null=True, default=None)
    error = Text(default="")


class Decision(Table):
    """The committee's decision on one file: private until ``published_at``."""

    application = ForeignKey(Application, on_delete=OnDelete.restrict, unique=True)
    call = ForeignKey(Call, on_delete=OnDelete.restrict, index=True)
    outcome = Varchar(length=10, choices=Outcome)
    amount_cents = BigInt(default=0)
    reason = Text(default="")
    deliberation_reference = Varchar(length=120, default="")
    deliberation_date = Date(null=True, default=None)
    schedule = JSON(default="{}")  # {}: the call's default schedule
    decided_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None, index=True)
    # The batch that writes (or last rewrote) this decision's letter.
    letter_job = ForeignKey(LetterJob, on_delete=OnDelete.restrict, null=True, default=None)


class Letter(Table):
    """A letter as sent: immutable, with its fingerprint; a correction is a new version."""

    application = ForeignKey(Application, on_delete=OnDelete.restrict, index=True)
    job = ForeignKey(LetterJob, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    kind = Varchar(length=10)  # award | rejection
    version = Integer(default=1)
    storage_id = Varchar(length=64, unique=True)
    filename = Varchar(length=200)
    size = BigInt()
    sha256 = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
