"""Cross-cutting tables: the audit trail and the e-mail outbox.

Neither cascades from a person: audit entries outlive the accounts they name (the
actor link is nulled, the snapshot ``actor_ref`` stays), and outbox rows hold no link
to a person at all (only the address the message went to).
"""

from enum import StrEnum

from piccolo.columns import (
    JSON,
    BigInt,
    BigSerial,
    ForeignKey,
    Integer,
    LazyTableReference,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

# The person an audit entry names, by Piccolo app and table name rather than by import:
# core knows no domain. Piccolo resolves it through the app registry (piccolo_conf.py)
# when a query first needs it; the schema is the one the migrations made (a foreign key
# to guichet_user, ON DELETE SET NULL), so nothing changes in the database.
USER = LazyTableReference("User", app_name="accounts")


class AuditEntry(Table, tablename="audit_entry"):
    """One link of the append-only, hash-chained audit trail (see ``core.audit``)."""

    id = BigSerial(primary_key=True)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    # Nulled when the account is deleted; ``actor_ref`` keeps the id the hash covers.
    actor = ForeignKey(USER, on_delete=OnDelete.set_null, null=True, default=None, index=True)
    actor_ref = Integer(null=True, default=None, index=True)
    # Personal data, erasable: covered by the salted ``actor_digest``, not by ``hash``.
    actor_label = Varchar(length=254, default="")
    ip = Varchar(length=45, null=True, default=None)
    actor_salt = Varchar(length=32, null=True, default=None)
    actor_digest = Varchar(length=64)
    action = Varchar(length=80, index=True)
    object_type = Varchar(length=50, default="", index=True)
    object_id = Varchar(length=64, default="", index=True)
    summary = JSON(default="{}")
    # Unique: two appenders that were not serialised fail loudly instead of forking.
    prev_hash = Varchar(length=64, unique=True)
    hash = Varchar(length=64, unique=True)
    # How ``hash`` was made: 1 = unkeyed SHA-256 (entries written before the key),
    # 2 = HMAC-SHA256 with the audit key. ``core.audit.record`` writes 2.
    hash_version = Integer(default=1)


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    # Claimed, then the sender stopped mid-send: it may or may not have gone out,
    # so it is never resent automatically (someone decides).
    uncertain = "uncertain"


class OutboxMessage(Table, tablename="outbox_message"):
    """An e-mail written in the same transaction as the change that causes it."""

    id = BigSerial(primary_key=True)
    created_at = Timestamptz(default=TimestamptzNow())
    template = Varchar(length=80, default="")
    to_address = Varchar(length=254)
    subject = Varchar(length=255)
    body_text = Text()
    body_html = Text(default="")
    message_id = Varchar(length=200, unique=True)
    status = Varchar(length=12, choices=OutboxStatus, default=OutboxStatus.pending, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    last_error = Varchar(length=300, null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    claimed_by = Varchar(length=100, null=True, default=None)
    claimed_at = Timestamptz(null=True, default=None)


class DeliveryAttempt(Table, tablename="delivery_attempt"):
    """One try at delivering a message, written when the message is claimed."""

    id = BigSerial(primary_key=True)
    # Attempts are the message's own history: they go when the message is purged.
    message = ForeignKey(OutboxMessage, on_delete=OnDelete.cascade, index=True)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    worker = Varchar(length=100, default="")
    # sending, sent, retry, failed, uncertain, released
    outcome = Varchar(length=12, default="sending")
    error = Varchar(length=300, null=True, default=None)


class DataVersion(Table, tablename="data_version"):
    """A counter moved by triggers in the same transaction as the writes it follows
    (``core.versions``): one row per version name, made at its first move."""

    name = Varchar(length=80, primary_key=True)
    version = BigInt(default=0)
