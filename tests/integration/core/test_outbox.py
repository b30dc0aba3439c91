"""The e-mail outbox on a real database, against a real SMTP server (aiosmtpd).

Each test starts from an empty outbox; senders run in the app's own event loop.
"""

import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from app.core import audit, i18n, mail, outbox
from app.core.db import write_transaction
from app.core.outbox import OutboxSender, enqueue_email, outbox_job
from app.core.periodic import background
from app.core.tables import DeliveryAttempt, OutboxMessage, OutboxStatus
from tests.conftest import make_settings
from tests.factories import run

REQUESTED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Boom(Exception):
    pass


class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; ``replies`` answer DATA first."""

    def __init__(self):
        self.received: list = []
        self.replies: list[str] = []
        self.delay_s = 0.0

    async def handle_DATA(self, server, session, envelope):
        if self.replies:
            return self.replies.pop(0)
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        if self.delay_s:  # queued, but the reply is slow to come
            await asyncio.sleep(self.delay_s)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.received]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield mailbox
    controller.stop()


@pytest.fixture(autouse=True)
def empty_outbox(client):
    run(client, OutboxMessage.delete(force=True).run)


class Clock:
    def __init__(self):
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


def enqueue(client, count: int = 1, language: str = "en", **context) -> list[int]:
    async def scenario():
        return [
            await enqueue_email(
                to=f"camille{n}@asso-exemple.fr",
                template="test_message",
                language=language,
                context={"name": f"Camille {n}", "requested_at": REQUESTED_AT, **context},
            )
            for n in range(count)
        ]

    return run(client, scenario)


def messages(client) -> list[dict]:
    return run(client, OutboxMessage.select().order_by(OutboxMessage.id).run)


def attempts(client, outbox_id: int) -> list[dict]:
    return run(
        client,
        DeliveryAttempt.select()
        .where(DeliveryAttempt.message == outbox_id)
        .order_by(DeliveryAttempt.id)
        .run,
    )


def set_stale_claim(client, outbox_id: int, *, age: timedelta = timedelta(hours=1)) -> None:
    """What a sender that died mid-send leaves behind."""

    async def scenario():
        claimed_at = datetime.now(UTC) - age
        async with write_transaction():
            await OutboxMessage.update(
                {
                    OutboxMessage.status: OutboxStatus.sending.value,
                    OutboxMessage.claimed_by: "dead-worker",
                    OutboxMessage.claimed_at: claimed_at,
                    OutboxMessage.attempts: 1,
                }
            ).where(OutboxMessage.id == outbox_id)
            await DeliveryAttempt.insert(
                DeliveryAttempt(message=outbox_id, started_at=claimed_at, worker="dead-worker")
            )

    run(client, scenario)


def test_message_exists_only_if_its_transaction_commits(client):
    async def scenario():
        with pytest.raises(Boom):
            async with write_transaction():
                await enqueue_email(
                    to="camille@asso-exemple.fr",
                    template="test_message",
                    language="fr",
                    context={"name": "Camille", "requested_at": REQUESTED_AT},
                )
                await audit.record("tests.emailed")
                raise Boom
        rolled_back = await OutboxMessage.count()
        async with write_transaction():
            outbox_id = await enqueue_email(
                to="camille@asso-exemple.fr",
                template="test_message",
                language="fr",
                context={"name": "Camille", "requested_at": REQUESTED_AT},
            )
            await audit.record("tests.emailed", object_type="outbox", object_id=outbox_id)
        entries = await audit.search(action="tests.emailed")
        return rolled_back, await OutboxMessage.count(), outbox_id, entries

    rolled_back, committed, outbox_id, (entries, total) = run(client, scenario)
    assert rolled_back == 0
    assert committed == 1
    assert total == 1 and entries[0]["object_id"] == str(outbox_id)


def test_enqueue_refuses_bad_input_before_writing(client):
    with pytest.raises(ValueError):
        run(
            client,
            enqueue_email,
            to="a@b.fr\r\nBcc: x@y.fr",
            template="test_message",
            language="fr",
            context={"name": "x", "requested_at": REQUESTED_AT},
        )
    assert messages(client) == []


def test_eml_transport_writes_one_file_per_message_in_its_language(client, tmp_path):
    french_id, english_id = enqueue(client, language="fr")[0], enqueue(client, language="en")[0]
    sender = OutboxSender(outbox_dir=tmp_path, from_address="Guichet <guichet@region.test>")
    assert run(client, sender.deliver_due) == 2
    assert run(client, sender.deliver_due) == 0  # nothing is written twice

    rows = {m["id"]: m for m in messages(client)}
    files = sorted(os.listdir(tmp_path))
    assert files == sorted(mail.eml_name(m["message_id"]) for m in rows.values())
    parsed = {
        outbox_id: message_from_bytes(
            (tmp_path / mail.eml_name(row["message_id"])).read_bytes(), policy=policy.default
        )
        for outbox_id, row in rows.items()
    }
    french, english = parsed[french_id], parsed[english_id]
    for outbox_id, email in parsed.items():
        assert email["Message-ID"] == rows[outbox_id]["message_id"]
        assert email["From"] == "Guichet <guichet@region.test>"
        assert email["To"] == "camille0@asso-exemple.fr"
        assert email["Date"] is not None
    with i18n.use_locale("fr"):
        assert french["Subject"] == i18n.gettext("Guichet test message")
    assert english["Subject"] == "Guichet test message"
    assert "26 nov. 2026" in french.get_body(("plain",)).get_content()
    assert "26 nov. 2026" in french.get_body(("html",)).get_content()
    assert "26 Nov 2026" in english.get_body(("plain",)).get_content()

    for row in rows.values():
        assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"]
        assert row["body_text"] == "" and row["body_html"] == ""  # links are not kept
        assert [a["outcome"] for a in attempts(client, row["id"])] == ["sent"]


def test_smtp_server_receives_exactly_one_copy_of_each_message(client, tmp_path, smtp_server):
    ids = enqueue(client, 3, language="fr")
    sender = OutboxSender(outbox_dir=tmp_path, smtp_url=smtp_server.url)
    assert run(client, sender.deliver_due) == 3
    assert run(client, sender.deliver_due) == 0

    rows = messages(client)
    assert sorted(smtp_server.message_ids()) == sorted(m["message_id"] for m in rows)
    assert {m["To"] for m in smtp_server.received} == {
        f"camille{n}@asso-exemple.fr" for n in range(3)
    }
    assert all(m["status"] == "sent" for m in rows)
    assert os.listdir(tmp_path) == []  # SMTP writes no files
    assert [a["outcome"] for a in attempts(client, ids[0])] == ["sent"]


def test_non_ascii_address_goes_out_with_smtputf8(client, tmp_path, smtp_server):
    run(
        client,
        enqueue_email,
        to="élise@asso-exemple.fr",
        template="test_message",
        language="fr",
        context={"name": "Élise", "requested_at": REQUESTED_AT},
    )
    sender = OutboxSender(outbox_dir=tmp_path, smtp_url=smtp_server.url)
    assert run(client, sender.deliver_due) == 1
    assert [m["To"] for m in smtp_server.received] == ["élise@asso-exemple.fr"]


def test_two_senders_at_once_deliver_each_message_once(client, tmp_path, smtp_server):
    enqueue(client, 12)
    senders = [
        OutboxSender(outbox_dir=tmp_path, smtp_url=smtp_server.url, worker_id=f"worker-{n}")
        for n in range(2)
    ]

    async def drain(sender: OutboxSender) -> int:
        total = 0
        while sent := await sender.deliver_due(limit=2):
            total += sent
        return total

    async def scenario():
        return await asyncio.gather(*(drain(s) for s in senders))

    counts = run(client, scenario)
    assert sum(counts) == 12
    ids = smtp_server.message_ids()
    assert len(ids) == 12 and len(set(ids)) == 12
    assert all(m["status"] == "sent" and m["attempts"] == 1 for m in messages(client))


def test_smtp_message_left_sending_after_a_crash_is_uncertain_not_resent(
    client, tmp_path, smtp_server
):
    (outbox_id,) = enqueue(client)
    set_stale_claim(client, outbox_id)
    fresh = enqueue(client)[0]
    set_stale_claim(client, fresh, age=timedelta(minutes=2))  # still within the lease
    sender = OutboxSender(outbox_dir=tmp_path, smtp_url=smtp_server.url)

    assert run(client, sender.deliver_due) == 0
    assert run(client, sender.deliver_due) == 0
    assert smtp_server.received == []
    rows = {m["id"]: m for m in messages(client)}
    assert rows[outbox_id]["status"] == "uncertain"
    assert "not resent" in rows[outbox_id]["last_error"]
    assert rows[fresh]["status"] == "sending"  # its sender may still be at work
    (attempt,) = attempts(client, outbox_id)
    assert attempt["outcome"] == "uncertain" and attempt["finished_at"]

    # A person checked that it never arrived and sends it again.
    assert run(client, outbox.requeue, outbox_id)
    assert run(client, sender.deliver_due) == 1
    assert smtp_server.message_ids() == [rows[outbox_id]["message_id"]]


def test_eml_message_left_sending_after_a_crash_is_completed_once(client, tmp_path):
    written, unwritten = enqueue(client, 2)
    set_stale_claim(client, written)
    set_stale_claim(client, unwritten)
    rows = {m["id"]: m for m in messages(client)}
    # The dead sender had written the first file, not the second.
    path = mail.write_eml(tmp_path, rows[written]["message_id"], b"as written before the crash")
    before = path.stat().st_mtime_ns

    sender = OutboxSender(outbox_dir=tmp_path)
    assert run(client, sender.deliver_due) == 1  # the unwritten one, written now
    assert run(client, sender.deliver_due) == 0

    assert sorted(os.listdir(tmp_path)) == sorted(
        mail.eml_name(rows[i]["message_id"]) for i in (written, unwritten)
    )
    assert path.read_bytes() == b"as written before the crash"
    assert path.stat().st_mtime_ns == before
    assert all(m["status"] == "sent" for m in messages(client))
    assert [a["outcome"] for a in attempts(client, written)] == ["sent"]
    assert [a["outcome"] for a in attempts(client, unwritten)] == ["released", "sent"]


def test_refusals_are_retried_with_backoff_and_every_attempt_recorded(
    client, tmp_path, smtp_server
):
    (outbox_id,) = enqueue(client)
    smtp_server.replies = ["451 4.3.0 Mailbox busy, try again later"]
    clock = Clock()
    sender = OutboxSender(outbox_dir=tmp_path, smtp_url=smtp_server.url, clock=clock)

    assert run(client, sender.deliver_due) == 0
    (row,) = messages(client)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["next_attempt_at"] == clock.now + timedelta(minutes=1)
    assert row["last_error"].startswith("451 ")

    clock.now += timedelta(seconds=30)
    assert run(client, sender.deliver_due) == 0  # not due yet
    assert smtp_server.received == []

    clock.now += timedelta(seconds=31)
    assert run(client, sender.deliver_due) == 1
    (row,) = messages(client)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    assert len(smtp_server.received) == 1
    outcomes = [(a["outcome"], (a["error"] or "")[:3]) for a in attempts(client, outbox_id)]
    assert outcomes == [("retry", "451"), ("sent", "")]


def test_permanent_refusals_and_too_many_tries_fail(client, tmp_path, smtp_server):
    rejected, busy = enqueue(client, 2)
    smtp_server.replies = ["550 5.1.1 No such mailbox", "451 4.3.0 Busy", "451 4.3.0 Busy"]
    clock = Clock()
    sender = OutboxSender(
        outbox_dir=tmp_path, smtp_url=smtp_server.url, clock=clock, max_attempts=2
    )
    assert run(client, sender.deliver_due) == 0
    clock.now += timedelta(minutes=2)
    assert run(client, sender.deliver_due) == 0
    clock.now += timedelta(hours=1)
    assert run(client, sender.deliver_due) == 0  # nothing left to try

    rows = {m["id"]: m for m in messages(client)}
    assert (rows[rejected]["status"], rows[rejected]["attempts"]) == ("failed", 1)
    assert (rows[busy]["status"], rows[busy]["attempts"]) == ("failed", 2)
    assert [a["outcome"] for a in attempts(client, rejected)] == ["failed"]
    assert [a["outcome"] for a in attempts(client, busy)] == ["retry", "failed"]
    assert smtp_server.received == []


def test_unreachable_server_means_retry(client, tmp_path):
    (outbox_id,) = enqueue(client)
    sender = OutboxSender(outbox_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    assert run(client, sender.deliver_due) == 0
    (row,) = messages(client)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert [a["outcome"] for a in attempts(client, outbox_id)] == ["retry"]


def test_no_reply_after_the_data_is_uncertain(client, tmp_path, smtp_server):
    (outbox_id,) = enqueue(client)
    smtp_server.delay_s = 1  # takes the message, answers after the sender gave up...
    sender = OutboxSender(outbox_dir=tmp_path, smtp_url=smtp_server.url, smtp_timeout=0.2)
    assert run(client, sender.deliver_due) == 0
    (row,) = messages(client)
    assert row["status"] == "uncertain"
    assert [a["outcome"] for a in attempts(client, outbox_id)] == ["uncertain"]
    smtp_server.delay_s = 0
    assert run(client, sender.deliver_due) == 0
    # ...so it was delivered once: resending would have made a duplicate.
    assert smtp_server.message_ids() == [row["message_id"]]


def test_lifespan_runs_the_sender_and_stops_it(client, settings, tmp_path):
    (outbox_id,) = enqueue(client)
    live = make_settings(settings.database_url, tmp_path)

    async def scenario():
        async with background(live, [outbox_job(live, poll_interval=0.05)], enabled=True)(None):
            for _ in range(100):
                row = await OutboxMessage.select(OutboxMessage.status).first()
                if row["status"] == "sent":
                    break
                await asyncio.sleep(0.02)
        tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("guichet-")]
        return row["status"], tasks

    status, tasks = run(client, scenario)
    assert status == "sent" and tasks == []
    (row,) = messages(client)
    assert os.listdir(live.outbox_dir) == [mail.eml_name(row["message_id"])]
    assert [a["outcome"] for a in attempts(client, outbox_id)] == ["sent"]


def test_lifespan_is_off_in_tests_unless_asked(client, settings):
    enqueue(client)

    async def scenario():
        async with background(settings, [outbox_job(settings)])(None):
            await asyncio.sleep(0.05)

    run(client, scenario)
    assert messages(client)[0]["status"] == "pending"


def test_purging_a_message_takes_its_attempts(client):
    (outbox_id,) = enqueue(client)
    set_stale_claim(client, outbox_id)
    assert len(attempts(client, outbox_id)) == 1
    run(client, OutboxMessage.delete().where(OutboxMessage.id == outbox_id).run)
    assert attempts(client, outbox_id) == []
