"""One typed settings object, read once from the environment.

A bad or missing value raises ``ConfigError`` with one line naming the variable;
the CLI prints that line and exits, so nothing starts half-configured.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from app.core.numbers import is_digits

BASE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = BASE_DIR / "templates"
STATIC_DIR = BASE_DIR / "static"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"

ENVIRONMENTS = ("development", "production", "test")
STAFF_MFA_CHOICES = ("required", "optional")
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "[::1]", "testserver.local")
MB = 1024 * 1024
# The message route accepts bodies up to this size; MESSAGE_FILE_MAX_MB stays below it.
MESSAGE_FILE_CEILING_MB = 50


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    env: str
    database_url: str
    data_dir: Path
    secret_key: str
    redis_url: str | None
    smtp_url: str | None
    allowed_hosts: tuple[str, ...]
    max_body_bytes: int
    base_url: str
    email_from: str  # empty: ne-pas-repondre@<host of base_url> (see core.outbox)
    # After a crash: an e-mail claim older than this is settled (core.outbox), a letter
    # batch whose heartbeat is older is resumed (decisions.jobs). Lowered in tests only.
    outbox_lease_s: int
    letter_stale_after_s: int
    # The audit chain's HMAC key (core.audit), never stored in the database: AUDIT_KEY,
    # or derived from SECRET_KEY when unset. Changing it leaves older entries unverifiable.
    audit_key: bytes = field(repr=False)
    audit_key_source: str  # "AUDIT_KEY" or "SECRET_KEY"
    # Storage quotas and upload rate (docs/security.md): bytes stored per application
    # (every version of its documents, its messages' files) and per organisation (its
    # applications and its grant reports' files), versions of one document, a message's
    # file; superseded draft-only versions kept before their bytes are pruned; uploads
    # per person.
    application_quota_bytes: int
    organisation_quota_bytes: int
    document_versions_max: int
    message_file_max_bytes: int
    kept_draft_versions: int
    uploads_per_minute: int
    uploads_per_hour: int
    # "required": every staff role sets up two-step verification before anything else
    # (default in production); "optional": only where the admin setting asks it.
    staff_mfa: str
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; empty: nobody's, the peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    # Database connections kept by each server process: PostgreSQL's pool (at most),
    # SQLite's readers (core/db.py).
    db_pool_size: int = 10

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def staff_mfa_required(self) -> bool:
        return self.staff_mfa == "required"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        """The database file for a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
        path = Path(self.database_url.removeprefix("sqlite:///"))
        return path if path.is_absolute() else BASE_DIR / path

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def sessions_dir(self) -> Path:
        return self.data_dir / "sessions"

    @property
    def audit_checkpoints_path(self) -> Path:
        """Where the audit chain's signed heads are appended (core.audit_checkpoints)."""
        return self.data_dir / "audit" / "checkpoints.jsonl"


def _database_url(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme == "sqlite":
        if not value.startswith("sqlite:///") or value == "sqlite:///":
            raise ConfigError(
                "DATABASE_URL: a SQLite URL reads sqlite:///relative/path.sqlite3 "
                "or sqlite:////absolute/path.sqlite3"
            )
        return value
    if scheme in ("postgresql", "postgres"):
        if not urlsplit(value).hostname and "host=" not in value:
            raise ConfigError("DATABASE_URL: the PostgreSQL URL has no host")
        return value
    raise ConfigError(
        f"DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///... or postgresql://..."
    )


def _optional_url(name: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{name}: expected a URL like {schemes[0]}://host:port, got {value!r}")
    return value


def _secret_key(env: str, value: str | None, data_dir: Path) -> str:
    if value:
        if len(value) < 32:
            raise ConfigError("SECRET_KEY: must be at least 32 characters long")
        return value
    if env == "production":
        raise ConfigError("SECRET_KEY: required when GUICHET_ENV=production")
    # Development convenience: one random key kept in the data dir, created on first run.
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _audit_key(value: str | None, secret_key: str) -> tuple[bytes, str]:
    if value:
        if len(value) < 32:
            raise ConfigError("AUDIT_KEY: must be at least 32 characters long")
        return value.encode(), "AUDIT_KEY"
    # Its own key, so the audit trail never shares a MAC key with sessions or CSRF tokens.
    # In hex: the very value an operator sets as AUDIT_KEY before rotating SECRET_KEY.
    derived = hmac.new(secret_key.encode(), b"guichet.audit", hashlib.sha256).hexdigest()
    return derived.encode(), "SECRET_KEY"


def _seconds(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default)).strip()
    if not is_digits(raw) or int(raw) < 1:
        raise ConfigError(f"{name}: expected a whole number of seconds, at least 1")
    return int(raw)


def _trusted_proxies(value: str) -> tuple[str, ...]:
    proxies = tuple(p.strip() for p in value.split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"TRUSTED_PROXIES: {proxy!r} is not an IP address or network "
                "(e.g. 127.0.0.1,10.0.0.0/8)"
            ) from None
    return proxies


def _whole_number(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int, unit: str
) -> int:
    raw = environ.get(name, str(default)).strip()
    if not is_digits(raw) or not minimum <= int(raw) <= maximum:
        raise ConfigError(f"{name}: expected a whole number of {unit} from {minimum} to {maximum}")
    return int(raw)


def _storage_limits(environ: Mapping[str, str]) -> dict[str, int]:
    """Quotas and upload rates (docs/security.md, « Storage quotas and upload rate »)."""
    many = 1_000_000
    application_mb = _whole_number(
        environ, "APPLICATION_QUOTA_MB", 100, minimum=1, maximum=many, unit="MB"
    )
    organisation_mb = _whole_number(
        environ, "ORGANISATION_QUOTA_MB", 500, minimum=application_mb, maximum=many, unit="MB"
    )
    per_minute = _whole_number(
        environ, "UPLOADS_PER_MINUTE", 10, minimum=1, maximum=many, unit="uploads"
    )
    return {
        "application_quota_bytes": application_mb * MB,
        "organisation_quota_bytes": organisation_mb * MB,
        "document_versions_max": _whole_number(
            environ, "DOCUMENT_VERSIONS_MAX", 20, minimum=2, maximum=many, unit="versions"
        ),
        "message_file_max_bytes": MB
        * _whole_number(
            environ,
            "MESSAGE_FILE_MAX_MB",
            10,
            minimum=1,
            maximum=MESSAGE_FILE_CEILING_MB,
            unit="MB",
        ),
        "kept_draft_versions": _whole_number(
            environ, "KEPT_DRAFT_VERSIONS", 2, minimum=0, maximum=many, unit="versions"
        ),
        "uploads_per_minute": per_minute,
        "uploads_per_hour": _whole_number(
            environ, "UPLOADS_PER_HOUR", 100, minimum=per_minute, maximum=many, unit="uploads"
        ),
    }


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise ``ConfigError`` naming the first bad variable."""
    environ = os.environ if environ is None else environ
    env = environ.get("GUICHET_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"GUICHET_ENV: expected one of {', '.join(ENVIRONMENTS)}, got {env!r}")

    database_url = _database_url(environ.get("DATABASE_URL", "sqlite:///var/guichet.sqlite3"))

    data_dir = Path(environ.get("GUICHET_DATA_DIR", "var"))
    if not data_dir.is_absolute():
        data_dir = BASE_DIR / data_dir
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"GUICHET_DATA_DIR: {data_dir} exists and is not a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"GUICHET_DATA_DIR: cannot create {data_dir}: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK):
        raise ConfigError(f"GUICHET_DATA_DIR: {data_dir} is not writable")

    hosts_value = environ.get("ALLOWED_HOSTS", "")
    if hosts_value:
        allowed_hosts = tuple(h.strip() for h in hosts_value.split(",") if h.strip())
    elif env == "production":
        raise ConfigError(
            "ALLOWED_HOSTS: required when GUICHET_ENV=production (e.g. guichet.example.fr)"
        )
    else:
        allowed_hosts = DEFAULT_HOSTS

    raw_limit = environ.get("MAX_BODY_BYTES", str(1024 * 1024))
    if not is_digits(raw_limit) or int(raw_limit) < 1024:
        raise ConfigError("MAX_BODY_BYTES: expected a whole number of bytes, at least 1024")

    secret_key = _secret_key(env, environ.get("SECRET_KEY"), data_dir)
    audit_key, audit_key_source = _audit_key(environ.get("AUDIT_KEY"), secret_key)

    base_url = environ.get("GUICHET_BASE_URL", "").rstrip("/")
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ConfigError(
                "GUICHET_BASE_URL: expected the site's address, like https://guichet.example.fr"
            )
    elif env == "production":
        raise ConfigError(
            "GUICHET_BASE_URL: required when GUICHET_ENV=production (links in e-mails)"
        )
    else:
        base_url = f"http://{environ.get('HOST', '127.0.0.1')}:{environ.get('PORT', '8000')}"

    email_from = environ.get("EMAIL_FROM", "").strip()
    if email_from and ("@" not in email_from or any(c.isspace() for c in email_from)):
        raise ConfigError("EMAIL_FROM: expected an address like ne-pas-repondre@guichet.example.fr")

    outbox_lease_s = _seconds(environ, "OUTBOX_LEASE_S", 600)
    letter_stale_after_s = _seconds(environ, "LETTER_STALE_AFTER_S", 60)

    staff_mfa = environ.get("STAFF_MFA", "").strip().lower()
    if not staff_mfa:
        staff_mfa = "required" if env == "production" else "optional"
    elif staff_mfa not in STAFF_MFA_CHOICES:
        raise ConfigError(
            f"STAFF_MFA: expected one of {', '.join(STAFF_MFA_CHOICES)}, "
            f"got {environ['STAFF_MFA']!r}"
        )

    return Settings(
        env=env,
        database_url=database_url,
        data_dir=data_dir,
        secret_key=secret_key,
        redis_url=_optional_url("REDIS_URL", environ.get("REDIS_URL"), ("redis", "rediss")),
        smtp_url=_optional_url("SMTP_URL", environ.get("SMTP_URL"), ("smtp", "smtps")),
        allowed_hosts=allowed_hosts,
        max_body_bytes=int(raw_limit),
        base_url=base_url,
        email_from=email_from,
        outbox_lease_s=outbox_lease_s,
        letter_stale_after_s=letter_stale_after_s,
        audit_key=audit_key,
        audit_key_source=audit_key_source,
        trusted_proxies=_trusted_proxies(environ.get("TRUSTED_PROXIES", "")),
        db_pool_size=_whole_number(
            environ, "DB_POOL_SIZE", 10, minimum=1, maximum=100, unit="connections"
        ),
        **_storage_limits(environ),
        staff_mfa=staff_mfa,
    )
