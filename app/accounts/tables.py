from enum import StrEnum

from piccolo.columns import JSON, BigInt, Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class StaffRole(StrEnum):
    """Roles granted by an admin. Applicants act through organisation membership."""

    reviewer = "reviewer"
    officer = "officer"
    finance = "finance"
    admin = "admin"


class TokenPurpose(StrEnum):
    verify_email = "verify_email"
    reset_password = "reset_password"  # nosec B105  # a token purpose
    staff_invitation = "staff_invitation"


class User(Table, tablename="guichet_user"):
    email = Varchar(length=254, unique=True, index=True)
    full_name = Varchar(length=200)
    # None until an invited person sets a password.
    password_hash = Varchar(length=255, null=True, default=None, secret=True)
    language = Varchar(length=2, default="fr")
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)
    email_verified_at = Timestamptz(null=True, default=None)
    # Bumped on password change, disabling and role changes: every session that
    # carries an older value ends at its next request.
    session_version = Integer(default=1)
    totp_secret = Varchar(length=64, null=True, default=None, secret=True)
    totp_enabled_at = Timestamptz(null=True, default=None)
    # The last time step whose code was accepted: a code works once.
    totp_last_step = BigInt(default=0)
    # Set when the person asked for erasure and records had to be kept.
    pseudonymised_at = Timestamptz(null=True, default=None)


class RoleGrant(Table, tablename="role_grant"):
    # Roles go with the person (a deleted account holds no records: see the README).
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=20, choices=StaffRole)
    granted_at = Timestamptz(default=TimestamptzNow())
    # The funder this grant is limited to; NULL = every funder (admins always). A plain
    # id, not a foreign key: funders come after accounts (their table is created later
    # by the migrations), and an id that names no funder opens nothing.
    funder_id = Integer(null=True, default=None)


class AccountToken(Table, tablename="account_token"):
    """Single-use e-mailed tokens; only their SHA-256 is stored."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=30, choices=TokenPurpose)
    token_hash = Varchar(length=64, unique=True, index=True, secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class RecoveryCode(Table, tablename="recovery_code"):
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    code_hash = Varchar(length=64, secret=True)
    used_at = Timestamptz(null=True, default=None)


class SiteSetting(Table, tablename="site_setting"):
    """Settings an admin changes at run time (e.g. mandatory two-factor)."""

    key = Varchar(length=80, unique=True)
    value = JSON(default="null")
    updated_at = Timestamptz(default=TimestamptzNow())
    updated_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class ApiToken(Table, tablename="api_token"):
    """A personal, read-only token for the JSON API: shown once, stored as its SHA-256,
    revocable. ``prefix`` (the first characters) lets its owner recognise it."""

    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    prefix = Varchar(length=12)
    token_hash = Varchar(length=64, unique=True, secret=True)
    scope = Varchar(length=10, default="read")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
