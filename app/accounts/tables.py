from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class StaffRole(StrEnum):
    """Roles granted by an admin. Applicants act through organisation membership."""

    reviewer = "reviewer"
    officer = "officer"
    finance = "finance"
    admin = "admin"


class User(Table, tablename="guichet_user"):
    email = Varchar(length=254, unique=True, index=True)
    full_name = Varchar(length=200)
    # None until an invited person sets a password.
    password_hash = Varchar(length=255, null=True, default=None)
    language = Varchar(length=2, default="fr")
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class RoleGrant(Table, tablename="role_grant"):
    # A person's roles go with the person; deleting a person is pseudonymisation
    # (see the README), so the cascade only runs for accounts that hold no records.
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=20, choices=StaffRole)
    granted_at = Timestamptz(default=TimestamptzNow())
