from enum import StrEnum

from piccolo.columns import JSON, BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.calls.tables import Call, FormVersion
from app.organisations.tables import Organisation


class ApplicationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    to_complete = "to_complete"
    eligible = "eligible"
    ineligible = "ineligible"
    in_review = "in_review"
    reviewed = "reviewed"
    awarded = "awarded"
    rejected = "rejected"
    waitlisted = "waitlisted"
    withdrawn = "withdrawn"


class Application(Table):
    """A file (dossier de candidature) of one organisation to one call. Never deleted:
    calls, organisations and form versions it points to are kept (RESTRICT)."""

    call = ForeignKey(Call, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    form_version = ForeignKey(FormVersion, on_delete=OnDelete.restrict)
    status = Varchar(
        length=12, choices=ApplicationStatus, default=ApplicationStatus.draft, index=True
    )
    reference = Varchar(length=30, null=True, default=None, unique=True)
    title = Varchar(length=250, default="")
    requested_cents = BigInt(default=0, index=True)
    answers = JSON(default="{}")
    budget = JSON(default="{}")
    # Optimistic concurrency: a save names the version it started from.
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None, index=True)
    content_sha256 = Varchar(length=64, null=True, default=None)
    receipt_file = Varchar(length=64, null=True, default=None)
    # The ineligibility decision's PDF, stored once at screening (``ineligibility``).
    ineligibility_file = Varchar(length=64, null=True, default=None)
    # Sent back « à compléter »: the officer's message and the response deadline.
    completion_message = Text(default="")
    complete_by = Timestamptz(null=True, default=None)
    # Screening (recevabilité): when ineligible, the reason sent to the applicant.
    screened_at = Timestamptz(null=True, default=None)
    screening_reason = Text(default="")
    # The sworn statement of the person who submitted (CERFA 12156 « Je soussigné(e)…
    # certifie exactes les informations… »): their name and capacity, as typed.
    declarant_name = Varchar(length=200, default="")
    declarant_capacity = Varchar(length=100, default="")


class Message(Table):
    """The thread of an application, between its organisation and the staff."""

    application = ForeignKey(Application, on_delete=OnDelete.restrict, index=True)
    author = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    from_staff = Boolean(default=False)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class Attachment(Table):
    """A document of an application (or of one of its messages); replacing one keeps
    the previous version. A superseded version that was never part of a submitted file
    may have its bytes pruned (``pruned_at``): the row keeps its name, size and SHA-256."""

    application = ForeignKey(Application, on_delete=OnDelete.restrict, index=True)
    message = ForeignKey(Message, on_delete=OnDelete.restrict, null=True, default=None)
    document_key = Varchar(length=20)
    storage_id = Varchar(length=64, unique=True)
    original_name = Varchar(length=255)
    size = BigInt()
    sha256 = Varchar(length=64)
    kind = Varchar(length=20)
    content_type = Varchar(length=100)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    uploaded_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    superseded_at = Timestamptz(null=True, default=None)
    pruned_at = Timestamptz(null=True, default=None)


class ThreadRead(Table, tablename="thread_read"):
    """How far a person has read a file's messages: the last message they saw (the
    staff's later ones are « unread » on « Mon espace » and « Mes dossiers »)."""

    application = ForeignKey(Application, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    last_message = Integer(default=0)
