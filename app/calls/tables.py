from enum import StrEnum

from piccolo.columns import JSON, BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.funders.tables import Funder


class CallStatus(StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"
    archived = "archived"


class Call(Table):
    """A call for projects (appel à projets). Amounts in cents; the co-financing cap
    in basis points (8 000 = 80 %)."""

    # A funder with calls cannot be deleted: the calls are public records.
    funder = ForeignKey(Funder, on_delete=OnDelete.restrict, index=True)
    title = Varchar(length=250)
    reference_prefix = Varchar(length=20)  # e.g. IDF-2017 → IDF-2017-0042
    summary = Text(default="")
    body = Text(default="")  # Markdown, rendered without HTML
    envelope_cents = BigInt(default=0)
    min_award_cents = BigInt(default=0)
    max_award_cents = BigInt(default=0)
    max_rate_bp = Integer(default=10_000)
    # The funder's silence on a complete file for this long means rejection (CRPA
    # L231-4 for grants): the receipt says so, with the appeal routes.
    silence_months = Integer(default=2)
    opens_at = Timestamptz()
    closes_at = Timestamptz()
    # When the funder expects to decide (told to applicants after they submit); optional.
    decision_expected_on = Date(null=True, default=None)
    status = Varchar(length=12, choices=CallStatus, default=CallStatus.draft, index=True)
    # Yes/no eligibility questions: [{key, label, blocking: "yes"|"no", explanation}]
    eligibility = JSON(default="[]")
    # The form being edited: {"sections": [{key, title, fields: [...]}]}
    form = JSON(default='{"sections": []}')
    # Documents to provide: [{key, label, required, kinds: [...], max_mb}]
    documents = JSON(default="[]")
    # Scoring rubric (used by the review): [{key, title, guidance, weight, scale}]
    rubric = JSON(default="[]")
    # Set when the first review is submitted: the rubric then stays as it was scored.
    rubric_locked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class FormVersion(Table, tablename="form_version"):
    """A frozen copy of a call's form; each application keeps the one it was filled
    against. A new version is taken at publication and at every later change."""

    call = ForeignKey(Call, on_delete=OnDelete.restrict, index=True)
    number = Integer()
    form = JSON()
    documents = JSON()
    created_at = Timestamptz(default=TimestamptzNow())
