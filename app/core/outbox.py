"""The e-mail outbox: messages written in the caller's transaction, sent by a worker.

``enqueue_email`` renders a message and inserts it in the transaction that causes it,
so an e-mail goes out if and only if the change commits. ``OutboxSender`` delivers
due messages by SMTP (``SMTP_URL``) or, without it, as ``.eml`` files in the data dir.

No message is sent twice, after a crash or with several workers:

1. Claim: one transaction marks a batch ``sending`` (claimed_by, claimed_at) and writes
   a ``DeliveryAttempt`` per message, and commits before any SMTP traffic. PostgreSQL
   claims with ``FOR UPDATE SKIP LOCKED``; SQLite's IMMEDIATE transaction serialises.
2. Send, then mark ``sent`` (or back to ``pending`` with exponential backoff on a
   refusal, ``failed`` on a permanent refusal or after ``max_attempts``).
3. A claim older than the lease (``OUTBOX_LEASE_S``, 10 minutes) means a sender
   stopped mid-send. By SMTP the message may have gone out: it becomes ``uncertain``
   and is never resent automatically (``requeue`` is a person's decision). An ``.eml``
   is written atomically under a name fixed by the Message-ID, so it can be completed:
   the file exists → ``sent``; otherwise → ``pending`` again.

By SMTP, a connection lost while the server holds the message data (no reply yet) is
also ``uncertain``: it may have been accepted. Bodies are blanked once a message is
sent: they may carry sign-in links, which the database otherwise keeps only hashed.
Logs name outbox ids, Message-IDs, templates and outcomes — never addresses or bodies.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.errors import MessageError
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiosmtplib

from app.core.db import is_sqlite, write_transaction
from app.core.mail import (
    build_message,
    check_address,
    eml_name,
    new_message_id,
    parse_smtp_url,
    render_email,
    write_eml,
)
from app.core.periodic import Job
from app.core.tables import DeliveryAttempt, OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from app.settings import Settings

logger = logging.getLogger("guichet.outbox")

LEASE = timedelta(minutes=10)
SMTP_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 8  # 1 + 2 + 4 + ... + 64 minutes: about two hours of retries
BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
POLL_INTERVAL_S = 5.0
BATCH_SIZE = 50
DEFAULT_FROM = "Guichet <ne-pas-repondre@guichet.invalid>"


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` tries: 1 min, 2, 4 ... capped at 6 h."""
    return min(BASE_DELAY * 2 ** max(0, attempts - 1), MAX_DELAY)


# --- Enqueueing ------------------------------------------------------------------------


async def enqueue_email(*, to: str, template: str, language: str, context: dict) -> int:
    """Render the message in ``language`` and put it in the outbox; return its id.

    Call it inside the ``write_transaction()`` of the change that causes the e-mail,
    so the message exists only if that change commits; without an active transaction
    it opens its own."""
    to = check_address(to)
    rendered = render_email(template, language, context)
    async with write_transaction():
        rows = await OutboxMessage.insert(
            OutboxMessage(
                template=template,
                to_address=to,
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                message_id=new_message_id(),
                status=OutboxStatus.pending.value,
                attempts=0,
                next_attempt_at=datetime.now(UTC),
            )
        ).returning(OutboxMessage.id)
    return rows[0]["id"]


ERASED_ADDRESS = "effacee@guichet.invalid"


async def forget_address(address: str) -> int:
    """A person was erased: drop their address and the bodies of messages to them;
    those not sent yet are never sent. Returns how many messages changed."""
    async with write_transaction():
        await OutboxMessage.update(
            {
                OutboxMessage.status: OutboxStatus.failed,
                OutboxMessage.last_error: "recipient erased",
            }
        ).where(
            (OutboxMessage.to_address == address)
            & OutboxMessage.status.is_in([OutboxStatus.pending, OutboxStatus.sending])
        )
        changed = (
            await OutboxMessage.update(
                {
                    OutboxMessage.to_address: ERASED_ADDRESS,
                    OutboxMessage.body_text: "",
                    OutboxMessage.body_html: "",
                    OutboxMessage.subject: "",
                }
            )
            .where(OutboxMessage.to_address == address)
            .returning(OutboxMessage.id)
        )
    return len(changed)


async def requeue(outbox_id: int) -> bool:
    """Send an ``uncertain`` or ``failed`` message again (a person decided to)."""
    async with write_transaction():
        rows = (
            await OutboxMessage.update(
                {
                    OutboxMessage.status: OutboxStatus.pending.value,
                    OutboxMessage.next_attempt_at: datetime.now(UTC),
                    OutboxMessage.attempts: 0,
                }
            )
            .where(
                OutboxMessage.id == outbox_id,
                OutboxMessage.status.is_in(
                    [OutboxStatus.uncertain.value, OutboxStatus.failed.value]
                ),
            )
            .returning(OutboxMessage.id)
        )
    return bool(rows)


# --- Sending ---------------------------------------------------------------------------


class _Retry(Exception):
    """Refused for now or not reached: nothing was accepted; try again later."""


class _Permanent(Exception):
    """Refused for good (5xx): trying again will not help."""


class _Uncertain(Exception):
    """The server may have accepted the message: never resend automatically."""


@dataclass(slots=True)
class _Claimed:
    id: int
    message_id: str
    template: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    created_at: datetime
    attempts: int
    attempt_id: int = 0


def _short(exc: BaseException) -> str:
    """An error for the database and the logs: type and server reply, nothing else."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def _worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


def _default_from(settings: Any) -> str:
    configured = getattr(settings, "email_from", None)
    if configured:
        return configured
    host = urlsplit(getattr(settings, "base_url", "") or "").hostname or ""
    return f"Guichet <ne-pas-repondre@{host}>" if "." in host else DEFAULT_FROM


class OutboxSender:
    """Delivers due outbox messages; several senders may run at once."""

    def __init__(
        self,
        *,
        outbox_dir: Path,
        smtp_url: str | None = None,
        from_address: str = DEFAULT_FROM,
        worker_id: str | None = None,
        lease: timedelta = LEASE,
        max_attempts: int = MAX_ATTEMPTS,
        batch_size: int = BATCH_SIZE,
        poll_interval: float = POLL_INTERVAL_S,
        smtp_timeout: float = SMTP_TIMEOUT_S,
        clock: Callable[[], datetime] | None = None,
    ):
        self.outbox_dir = Path(outbox_dir)
        self.smtp = parse_smtp_url(smtp_url) if smtp_url else None
        self.from_address = from_address
        self.envelope_from = parseaddr(from_address)[1] or from_address
        self.worker_id = (worker_id or _worker_id())[:100]
        self.lease = lease
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.smtp_timeout = smtp_timeout
        self.clock = clock or (lambda: datetime.now(UTC))
        self._claimed_last_round = 0

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> OutboxSender:
        options.setdefault("from_address", _default_from(settings))
        lease_s = getattr(settings, "outbox_lease_s", None)
        if lease_s:
            options.setdefault("lease", timedelta(seconds=lease_s))
        return cls(outbox_dir=settings.outbox_dir, smtp_url=settings.smtp_url, **options)

    @property
    def transport(self) -> str:
        return "smtp" if self.smtp else "eml"

    # -- the round ---------------------------------------------------------------------

    async def deliver_due(self, limit: int = BATCH_SIZE) -> int:
        """Settle expired claims, claim up to ``limit`` due messages, deliver them.
        Returns how many were sent."""
        now = self.clock()
        await self._settle_expired_claims(now)
        batch = await self._claim(now, limit)
        self._claimed_last_round = len(batch)
        if not batch:
            return 0
        if self.smtp:
            return await self._deliver_smtp(batch, claimed_at=now)
        return await self._deliver_files(batch)

    async def round(self) -> bool:
        """One round of the background job: deliver what is due; ``True`` when the
        batch came back full (more is waiting: the next round starts at once)."""
        await self.deliver_due(self.batch_size)
        return self._claimed_last_round >= self.batch_size

    # -- claims ------------------------------------------------------------------------

    async def _claim(self, now: datetime, limit: int) -> list[_Claimed]:
        async with write_transaction():
            query = (
                OutboxMessage.select(
                    OutboxMessage.id,
                    OutboxMessage.message_id,
                    OutboxMessage.template,
                    OutboxMessage.to_address,
                    OutboxMessage.subject,
                    OutboxMessage.body_text,
                    OutboxMessage.body_html,
                    OutboxMessage.created_at,
                    OutboxMessage.attempts,
                )
                .where(
                    OutboxMessage.status == OutboxStatus.pending.value,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
            if not is_sqlite():
                query = query.lock_rows(skip_locked=True)
            rows = await query
            if not rows:
                return []
            # Still pending: should a claimer ever run without the row locks, it takes
            # only what nobody took first.
            claimed = await (
                OutboxMessage.update(
                    {
                        OutboxMessage.status: OutboxStatus.sending.value,
                        OutboxMessage.claimed_by: self.worker_id,
                        OutboxMessage.claimed_at: now,
                        OutboxMessage.attempts: OutboxMessage.attempts + 1,
                    }
                )
                .where(
                    OutboxMessage.id.is_in([row["id"] for row in rows]),
                    OutboxMessage.status == OutboxStatus.pending.value,
                )
                .returning(OutboxMessage.id)
            )
            taken = {row["id"] for row in claimed}
            batch = [_Claimed(**row) for row in rows if row["id"] in taken]
            if not batch:
                return []
            for message in batch:
                message.attempts += 1
            ids = [m.id for m in batch]
            attempts = await DeliveryAttempt.insert(
                *[DeliveryAttempt(message=i, started_at=now, worker=self.worker_id) for i in ids]
            ).returning(DeliveryAttempt.id, DeliveryAttempt.message)
        by_message = {a["message"]: a["id"] for a in attempts}
        for message in batch:
            message.attempt_id = by_message[message.id]
        return batch

    async def _settle_expired_claims(self, now: datetime) -> None:
        """Claims older than the lease: their sender stopped mid-send (see module doc)."""
        async with write_transaction():
            query = OutboxMessage.select(OutboxMessage.id, OutboxMessage.message_id).where(
                OutboxMessage.status == OutboxStatus.sending.value,
                OutboxMessage.claimed_at < now - self.lease,
            )
            if not is_sqlite():
                query = query.lock_rows(skip_locked=True)
            expired = await query
            for row in expired:
                if self.smtp:
                    status, outcome = OutboxStatus.uncertain, "uncertain"
                    error = "claim expired: the sender stopped mid-send; not resent"
                elif (self.outbox_dir / eml_name(row["message_id"])).exists():
                    status, outcome, error = OutboxStatus.sent, "sent", None
                else:
                    status, outcome = OutboxStatus.pending, "released"
                    error = "claim expired before the file was written"
                values: dict = {OutboxMessage.status: status.value}
                if status is OutboxStatus.sent:
                    values.update(_sent_values(now))
                elif status is OutboxStatus.pending:
                    values[OutboxMessage.next_attempt_at] = now
                else:
                    values[OutboxMessage.last_error] = error
                await OutboxMessage.update(values).where(
                    OutboxMessage.id == row["id"],
                    OutboxMessage.status == OutboxStatus.sending.value,
                )
                await DeliveryAttempt.update(
                    {
                        DeliveryAttempt.finished_at: now,
                        DeliveryAttempt.outcome: outcome,
                        DeliveryAttempt.error: error,
                    }
                ).where(DeliveryAttempt.message == row["id"], DeliveryAttempt.finished_at.is_null())
                log = logger.warning if status is OutboxStatus.uncertain else logger.info
                log(
                    "outbox claim expired",
                    extra={
                        "outbox_id": row["id"],
                        "message_id": row["message_id"],
                        "outcome": outcome,
                    },
                )

    async def _finish(self, message: _Claimed, outcome: str, error: str | None = None) -> None:
        now = self.clock()
        mine = (OutboxMessage.id == message.id, OutboxMessage.claimed_by == self.worker_id)
        sending = OutboxMessage.status == OutboxStatus.sending.value
        async with write_transaction():
            if outcome == "sent":
                # Also from ``uncertain``: a slow send whose claim expired did go out.
                await OutboxMessage.update(_sent_values(now)).where(
                    *mine,
                    OutboxMessage.status.is_in(
                        [OutboxStatus.sending.value, OutboxStatus.uncertain.value]
                    ),
                )
            elif outcome == "released":
                await OutboxMessage.update(
                    {
                        OutboxMessage.status: OutboxStatus.pending.value,
                        OutboxMessage.attempts: OutboxMessage.attempts - 1,
                        OutboxMessage.next_attempt_at: now,
                    }
                ).where(*mine, sending)
            else:
                if outcome == "retry" and message.attempts >= self.max_attempts:
                    outcome = "failed"
                values: dict = {OutboxMessage.last_error: error}
                if outcome == "retry":
                    values[OutboxMessage.status] = OutboxStatus.pending.value
                    values[OutboxMessage.next_attempt_at] = now + backoff(message.attempts)
                else:
                    values[OutboxMessage.status] = OutboxStatus(outcome).value
                await OutboxMessage.update(values).where(*mine, sending)
            await DeliveryAttempt.update(
                {
                    DeliveryAttempt.finished_at: now,
                    DeliveryAttempt.outcome: outcome,
                    DeliveryAttempt.error: error,
                }
            ).where(DeliveryAttempt.id == message.attempt_id)
        extra = {
            "outbox_id": message.id,
            "message_id": message.message_id,
            "template": message.template,
            "attempt": message.attempts,
            "outcome": outcome,
            "transport": self.transport,
        }
        if error:
            extra["error"] = error
        if outcome in ("sent", "released"):
            logger.info("email %s", outcome, extra=extra)
        else:
            logger.warning("email not sent", extra=extra)

    # -- transports --------------------------------------------------------------------

    def _message_bytes(self, message: _Claimed, *, utf8: bool = False) -> bytes:
        try:
            return build_message(
                message_id=message.message_id,
                from_address=self.from_address,
                to=message.to_address,
                subject=message.subject,
                text=message.body_text,
                html=message.body_html,
                created_at=message.created_at,
            ).as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
        except (ValueError, TypeError, MessageError) as exc:
            raise _Permanent(f"cannot build the message: {_short(exc)}") from None

    async def _deliver_files(self, batch: list[_Claimed]) -> int:
        sent = 0
        for message in batch:
            try:
                data = self._message_bytes(message, utf8=not message.to_address.isascii())
                await asyncio.to_thread(write_eml, self.outbox_dir, message.message_id, data)
            except _Permanent as exc:
                await self._finish(message, "failed", str(exc))
                continue
            except OSError as exc:
                await self._finish(message, "retry", _short(exc))
                continue
            await self._finish(message, "sent")
            sent += 1
        return sent

    async def _deliver_smtp(self, batch: list[_Claimed], *, claimed_at: datetime) -> int:
        sent = 0
        client: aiosmtplib.SMTP | None = None
        connect_error: str | None = None
        try:
            for message in batch:
                # Never start a send the lease may not cover (see _settle_expired_claims).
                if self.clock() - claimed_at > self.lease / 2:
                    await self._finish(message, "released")
                    continue
                if connect_error:
                    await self._finish(message, "retry", connect_error)
                    continue
                if client is None or not client.is_connected:
                    client = self._smtp_client()
                    try:
                        await client.connect()
                    except (aiosmtplib.SMTPException, OSError) as exc:
                        connect_error = _short(exc)
                        await self._finish(message, "retry", connect_error)
                        continue
                try:
                    await self._send_one(client, message)
                except _Retry as exc:
                    await self._finish(message, "retry", str(exc))
                except _Permanent as exc:
                    await self._finish(message, "failed", str(exc))
                except _Uncertain as exc:
                    await self._finish(message, "uncertain", str(exc))
                else:
                    await self._finish(message, "sent")
                    sent += 1
        finally:
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        return sent

    def _smtp_client(self) -> aiosmtplib.SMTP:
        if self.smtp is None:
            raise RuntimeError("no SMTP configured: the sender writes .eml files")
        return aiosmtplib.SMTP(
            hostname=self.smtp.hostname,
            port=self.smtp.port,
            use_tls=self.smtp.use_tls,
            username=self.smtp.username,
            password=self.smtp.password,
            timeout=self.smtp_timeout,
        )

    async def _send_one(self, client: aiosmtplib.SMTP, message: _Claimed) -> None:
        """MAIL, RCPT, DATA — classifying each failure by what the server may hold."""
        utf8 = not (message.to_address.isascii() and self.envelope_from.isascii())
        data = self._message_bytes(message, utf8=utf8)
        try:
            if utf8:
                if client.is_ehlo_or_helo_needed:
                    await client.ehlo()
                if not client.supports_extension("smtputf8"):
                    raise _Permanent("non-ASCII address and the server lacks SMTPUTF8")
            options, encoding = (["SMTPUTF8"], "utf-8") if utf8 else ([], "ascii")
            await client.mail(self.envelope_from, options=options, encoding=encoding)
            await client.rcpt(message.to_address, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(client)
            raise (_Permanent if exc.code >= 500 else _Retry)(_short(exc)) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise _Retry(_short(exc)) from None
        try:
            await client.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            # The server answered: it did not take the message.
            await _reset(client)
            raise (_Permanent if exc.code >= 500 else _Retry)(_short(exc)) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise _Uncertain(f"no reply after the data was sent: {_short(exc)}") from None


def _sent_values(now: datetime) -> dict:
    return {
        OutboxMessage.status: OutboxStatus.sent.value,
        OutboxMessage.sent_at: now,
        OutboxMessage.last_error: None,
        OutboxMessage.body_text: "",
        OutboxMessage.body_html: "",
    }


async def _reset(client: aiosmtplib.SMTP) -> None:
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


# --- Running inside the web application ------------------------------------------------


def outbox_job(settings: Settings, **options: Any) -> Job:
    """The outbox's sender, for the background runner (``core.periodic``): a round
    every ``poll_interval`` seconds, at once while batches come back full; at shutdown
    the round under way may take an SMTP timeout to finish (a cancelled send later
    shows as ``uncertain``)."""
    sender = OutboxSender.from_settings(settings, **options)
    return Job("outbox", sender.round, every_s=sender.poll_interval, grace_s=SMTP_TIMEOUT_S + 5)
