from enum import StrEnum

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User


class LegalForm(StrEnum):
    association = "association"  # association loi 1901
    association_rup = "association_rup"  # reconnue d'utilité publique
    foundation = "foundation"
    scic = "scic"
    scop = "scop"
    company = "company"
    public_body = "public_body"
    other = "other"


class MemberRole(StrEnum):
    owner = "owner"
    member = "member"


class Organisation(Table):
    name = Varchar(length=200)
    legal_form = Varchar(length=30, choices=LegalForm)
    siret = Varchar(length=14, unique=True, index=True)
    rna = Varchar(length=10, null=True, default=None)
    street = Varchar(length=200)
    postcode = Varchar(length=10)
    city = Varchar(length=100)
    legal_rep_name = Varchar(length=200)
    legal_rep_title = Varchar(length=100)
    contact_email = Varchar(length=254)
    phone = Varchar(length=30)
    iban = Varchar(length=34, secret=True)
    bic = Varchar(length=11)
    description = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # Who created it; kept if that person's account is later erased.
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class Membership(Table):
    # An organisation's members go with it; a person's memberships stay while
    # their account is only pseudonymised (accounts are never deleted under records).
    organisation = ForeignKey(Organisation, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=10, choices=MemberRole)
    joined_at = Timestamptz(default=TimestamptzNow())


class MemberInvitation(Table, tablename="member_invitation"):
    organisation = ForeignKey(Organisation, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=254)
    role = Varchar(length=10, choices=MemberRole)
    token_hash = Varchar(length=64, unique=True, secret=True)
    invited_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)


class JoinStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    refused = "refused"
    withdrawn = "withdrawn"


class JoinRequest(Table, tablename="join_request"):
    """A person asks to join an organisation already registered (its SIRET was taken
    when they tried to create it); its owners accept or refuse."""

    organisation = ForeignKey(Organisation, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    status = Varchar(length=10, choices=JoinStatus, default=JoinStatus.pending.value)
    created_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
