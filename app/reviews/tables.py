from enum import StrEnum

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.applications.tables import Application
from app.calls.tables import Call
from app.organisations.tables import Organisation


class Visibility(StrEnum):
    never = "never"
    after_own = "after_own"
    always = "always"


class ReviewSettings(Table, tablename="review_settings"):
    """How a call's files are reviewed."""

    call = ForeignKey(Call, on_delete=OnDelete.restrict, unique=True)
    reviews_wanted = Integer(default=2)
    due_at = Timestamptz(null=True, default=None)
    blind = Boolean(default=False)
    visibility = Varchar(length=10, choices=Visibility, default=Visibility.after_own)
    rank_by = Varchar(length=6, default="mean")  # mean | median
    # Disagreement when reviewers' marks /20 differ by more than this (hundredths).
    threshold_hundredths = Integer(default=400)


class PoolMember(Table, tablename="review_pool_member"):
    call = ForeignKey(Call, on_delete=OnDelete.restrict, index=True)
    reviewer = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    added_at = Timestamptz(default=TimestamptzNow())


class Conflict(Table, tablename="review_conflict"):
    """A reviewer's link to an organisation: never assigned to, never shown its files."""

    reviewer = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    reason = Text(default="")
    declared_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Assignment(Table, tablename="review_assignment"):
    application = ForeignKey(Application, on_delete=OnDelete.restrict, index=True)
    reviewer = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    assigned_at = Timestamptz(default=TimestamptzNow())
    assigned_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    # A review, saved as a draft then submitted: {criterion key: mark}.
    scores = JSON(default="{}")
    opinion = Varchar(length=12, default="")  # favourable | reserved | unfavourable
    comment_staff = Text(default="")
    comment_applicant = Text(default="")
    submitted_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    # Reminders by e-mail, each sent once: before and after the due date.
    reminded_before_at = Timestamptz(null=True, default=None)
    reminded_after_at = Timestamptz(null=True, default=None)


class FileMark(Table, tablename="review_file_mark"):
    """What a file's submitted reviews say together, kept so that the ranking of a call
    of thousands of files does not read every review: written when a review is
    submitted or reopened, and by the ranking for files without one or whose ``basis``
    (the call's rubric and ranking settings it was computed with) has changed since.
    Marks are hundredths of a mark out of 20."""

    application = ForeignKey(Application, on_delete=OnDelete.cascade, unique=True)
    basis = Varchar(length=16)
    reviews = Integer(default=0)
    mean = Integer(null=True, default=None)
    median = Integer(null=True, default=None)
    spread = Integer(null=True, default=None)
    ranking = Integer(null=True, default=None)
    disagreement = Boolean(default=False)


class Decline(Table, tablename="review_decline"):
    """A reviewer gave a file back for a conflict of interest: the assignment goes, this
    stays, so that officers see the review missing and the reviewer's progress counts it."""

    application = ForeignKey(Application, on_delete=OnDelete.restrict, index=True)
    reviewer = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    reason = Text(default="")
    declined_at = Timestamptz(default=TimestamptzNow())
