from enum import StrEnum

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User
from app.applications.tables import Application
from app.calls.tables import Call
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
    # The signed agreement (convention), when the call asks for one.
    agreement_file = Varchar(length=64, null=True, default=None)
    agreement_name = Varchar(length=255, default="")
    agreement_sha256 = Varchar(length=64, default="")
    agreement_uploaded_at = Timestamptz(null=True, default=None)


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
