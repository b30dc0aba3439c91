"""Storage quotas and upload rate: what one account may store and send.

The module's app has small quotas (1 MB per application, 2 MB per organisation) so
that the files stay small; the rest is as configured by default: 20 versions of a
document, 10 MB for a message's file, 10 uploads a minute per person."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app import quotas
from app.accounts.services import Actor, load_current_user
from app.applications import services
from app.applications.services import NewFile
from app.applications.tables import Application, Attachment
from app.calls import services as calls
from app.core import ratelimit
from app.core.storage import FileStorage
from app.grants.tables import ReportAttachment
from app.quotas import ORGANISATION, QuotaExceeded, StorageLimits
from app.recovery import recover
from tests.conftest import make_settings
from tests.factories import (
    DECLARATION,
    attach_pdf,
    csrf_token,
    make_application,
    make_call,
    make_grant,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
)

KB = 1024
MB = 1024 * KB
BOUNDARY = "----GuichetQuotaBoundary"


@pytest.fixture(scope="module")
def settings(databases, tmp_path_factory):
    return make_settings(
        databases.fresh_url(),
        tmp_path_factory.mktemp("data"),
        APPLICATION_QUOTA_MB="1",
        ORGANISATION_QUOTA_MB="2",
        KEPT_DRAFT_VERSIONS="1",
    )


def pdf(size: int) -> bytes:
    head = b"%PDF-1.4\n"
    return head + b"0" * (size - len(head))


def files_on_disk(settings) -> list:
    root = settings.data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def attachments_of(client, app_id: int) -> list[dict]:
    return run(
        client,
        lambda: (
            Attachment.select()
            .where(Attachment.application == app_id)
            .order_by(Attachment.id)
            .run()
        ),
    )


def document_of(client, call_id: int) -> str:
    return run(client, calls.get_call, call_id)["documents"][0]["key"]


def draft_for(client, officer, owner, org=None) -> tuple[int, str]:
    """A draft of a new call (its one document allows 1 MB): (application, document)."""
    org = org or make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    return make_application(client, owner, org, call_id), document_of(client, call_id)


def upload(client, app_id: int, key: str, content: bytes, name: str = "piece.pdf"):
    return client.post(
        f"/dossiers/{app_id}/pieces/{key}",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", (name, content, "application/pdf")),
        ],
        follow_redirects=False,
    )


def message(client, app_id: int, body: str, content: bytes | None = None):
    files = [("_csrf_token", (None, csrf_token(client))), ("body", (None, body))]
    if content is not None:
        files.append(("file", ("annexe.pdf", content, "application/pdf")))
    return client.post(f"/dossiers/{app_id}/messages", files=files, follow_redirects=False)


def said(response) -> str:
    return text_of(response.text).replace("\u202f", " ").replace("\u00a0", " ")


def shown(client, response, app_id: int, key: str):
    """A refused upload goes back to the file's page, where the reason is said."""
    assert response.status_code == 303
    assert response.headers["location"] == f"/dossiers/{app_id}#document-{key}"
    return client.get(response.headers["location"])


def upload_summary(response) -> str:
    return response.text.split('id="upload-error-title"')[1].split("</div>")[0]


# --- Per application, per organisation ----------------------------------------------


def test_a_file_over_the_applications_quota_is_refused_and_nothing_is_kept(client, settings):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    app_id, key = draft_for(client, officer, owner)
    attach_pdf(client, owner, app_id, key, content=pdf(700 * KB))
    before_files, before_rows = files_on_disk(settings), attachments_of(client, app_id)
    sign_in(client, owner)

    # Content-Length says the file cannot fit: refused before it is read.
    refused = shown(client, upload(client, app_id, key, pdf(400 * KB), "budget.pdf"), app_id, key)
    assert (
        "Ce fichier dépasserait la limite de 1 Mo de pièces jointes de ce dossier "
        "(700 Ko déjà utilisés). Envoyez un fichier plus léger"
    ) in said(refused)
    # In the draft page's summary, linked to the document's file input.
    assert f'href="#file-{key}"' in upload_summary(refused)

    # Without Content-Length (chunked), the file is stopped at the room left.
    chunked = client.post(
        f"/dossiers/{app_id}/pieces/{key}",
        content=chunks_of_form(client, pdf(400 * KB)),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        follow_redirects=False,
    )
    assert "content-length" not in chunked.request.headers
    assert "(700 Ko déjà utilisés)" in said(shown(client, chunked, app_id, key))

    assert files_on_disk(settings) == before_files
    assert attachments_of(client, app_id) == before_rows
    assert not any((settings.data_dir / "files" / "tmp").glob("*.part"))

    # What fits is taken.
    assert upload(client, app_id, key, pdf(200 * KB)).status_code == 303
    sign_out(client)


def chunks_of_form(client, content: bytes) -> Iterator[bytes]:
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="_csrf_token"\r\n\r\n'
        f"{csrf_token(client)}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="budget.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    yield head
    for start in range(0, len(content), 64 * KB):
        yield content[start : start + 64 * KB]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_the_organisations_quota_counts_all_its_files(client, settings):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    for _ in range(2):
        app_id, key = draft_for(client, officer, owner, org)
        attach_pdf(client, owner, app_id, key, content=pdf(900 * KB))
    third, key = draft_for(client, officer, owner, org)
    before = files_on_disk(settings)
    sign_in(client, owner)
    refused = shown(client, upload(client, third, key, pdf(400 * KB)), third, key)
    assert (
        "Ce fichier dépasserait la limite de 2 Mo de pièces jointes de votre structure, "
        "tous dossiers confondus (1,8 Mo déjà utilisés)."
    ) in said(refused)
    assert files_on_disk(settings) == before and attachments_of(client, third) == []
    sign_out(client)


def test_a_grant_reports_file_counts_in_the_organisations_quota(client, settings):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    grant = make_grant(client, officer, owner, amount=1_000_000)
    org = run(
        client,
        lambda: (
            Application.select(Application.organisation)
            .where(Application.id == grant["app"])
            .first()
            .run()
        ),
    )["organisation"]
    for _ in range(2):
        app_id, key = draft_for(client, officer, owner, org)
        attach_pdf(client, owner, app_id, key, content=pdf(900 * KB))
    before = files_on_disk(settings)
    sign_in(client, owner)
    refused = client.post(
        f"/dossiers/{grant['app']}/bilans/interim/pieces",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file-expenses", ("factures.pdf", pdf(400 * KB), "application/pdf")),
        ],
        follow_redirects=True,
    )
    assert "de votre structure, tous dossiers confondus (1,8 Mo déjà utilisés)" in said(refused)
    assert files_on_disk(settings) == before
    assert run(client, lambda: ReportAttachment.count().run()) == 0
    sign_out(client)


def test_concurrent_uploads_cannot_pass_the_quota_together(client, settings, monkeypatch):
    """Each fits alone in the organisation's room, not both: one is refused, whichever
    the database lets in first (the organisation is locked while its total is read).

    Each upload, once it has read the totals, waits (half a second at most) for the
    other to have read them too: without the lock both would read the same totals and
    both pass."""
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    for _ in range(2):
        app_id, key = draft_for(client, officer, owner, org)
        attach_pdf(client, owner, app_id, key, content=pdf(900 * KB))
    targets = [draft_for(client, officer, owner, org) for _ in range(2)]  # 248 KB left
    files = FileStorage.from_settings(settings)
    stored = [files.store_bytes(pdf(150 * KB), filename="a.pdf") for _ in targets]
    user = run(client, load_current_user, owner["id"])
    limits = StorageLimits.from_settings(settings)

    real_room_of = quotas.room_of
    read = asyncio.Event()
    readers = []

    async def room_then_wait(**kwargs):
        room = await real_room_of(**kwargs)
        readers.append(room)
        if len(readers) == 2:
            read.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(read.wait(), 0.5)
        return room

    monkeypatch.setattr(quotas, "room_of", room_then_wait)

    async def both():
        return await asyncio.gather(
            *(
                services.add_attachment(
                    app_id,
                    key,
                    NewFile.of(file),
                    user=user,
                    actor=Actor(user_id=owner["id"]),
                    limits=limits,
                    storage=files,
                )
                for (app_id, key), file in zip(targets, stored, strict=True)
            ),
            return_exceptions=True,
        )

    results = client.blocking_portal.call(both)
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(refused) == 1, results
    assert refused[0].usage.scope == ORGANISATION
    assert sum(len(attachments_of(client, app_id)) for app_id, _key in targets) == 1


# --- Versions and pruning -----------------------------------------------------------


def test_the_21st_version_of_a_document_is_refused(client, settings):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    app_id, key = draft_for(client, officer, owner)
    for n in range(20):
        attach_pdf(client, owner, app_id, key, name=f"v{n + 1}.pdf")
    before_files, before_rows = files_on_disk(settings), attachments_of(client, app_id)
    assert len(before_rows) == 20
    sign_in(client, owner)
    refused = shown(client, upload(client, app_id, key, pdf(10 * KB), "v21.pdf"), app_id, key)
    assert (
        "Ce document a déjà 20 versions, le maximum pour une pièce : il ne peut plus être "
        "remplacé. Écrivez au service instructeur s’il doit encore changer."
    ) in said(refused)
    assert f'href="#file-{key}"' in upload_summary(refused)
    assert files_on_disk(settings) == before_files
    assert attachments_of(client, app_id) == before_rows
    sign_out(client)


def test_pruning_keeps_submitted_versions(client, settings):
    """KEPT_DRAFT_VERSIONS=1 here: of the versions never submitted, the last replaced
    one keeps its bytes, older ones are pruned; submitted versions always stay."""
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    app_id, key = draft_for(client, officer, owner)
    call_id = run(
        client,
        lambda: Application.select(Application.call).where(Application.id == app_id).first().run(),
    )["call"]
    field = run(client, calls.get_call, call_id)["form"]["sections"][0]["fields"][0]["key"]
    versions = [attach_pdf(client, owner, app_id, key, name=f"v{n}.pdf") for n in (1, 2, 3)]
    sign_in(client, owner)
    saved = post_form(
        client,
        f"/dossiers/{app_id}",
        {
            "title": "École du web",
            "requested": "100 000",
            "budget_charges_64": "200 000",
            "budget_produits_74_etat": "100 000",
            field: "Former des développeurs web.",
            "version": str(
                run(client, services.application_for, user_of(client, owner), app_id).version
            ),
        },
    )
    assert saved.status_code == 303, saved.text
    assert post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION).status_code == 303
    submitted = run(client, services.application_for, user_of(client, owner), app_id)
    assert submitted.status == "submitted"
    sign_out(client)
    run(
        client,
        services.request_completion,
        app_id,
        message="Le budget manque de détail.",
        complete_by=datetime.now(UTC) + timedelta(days=5),
        user=user_of(client, officer),
        actor=Actor(user_id=officer["id"]),
        base_url="",
    )
    versions += [attach_pdf(client, owner, app_id, key, name=f"v{n}.pdf") for n in (4, 5, 6)]

    rows = {r["id"]: r for r in attachments_of(client, app_id)}
    pruned = [n for n, v in enumerate(versions, start=1) if rows[v]["pruned_at"]]
    # v1: replaced in the draft, before v3 came; v4: replaced since the file was sent
    # back. v3 was submitted; v2 was kept as the last replaced one when the file was
    # submitted (the rule only knows the last submission: it errs on keeping).
    assert pruned == [1, 4]
    files = FileStorage.from_settings(settings)
    for n, version in enumerate(versions, start=1):
        row = rows[version]
        assert files.exists(row["storage_id"]) == (n not in pruned)
        assert len(row["sha256"]) == 64 and row["size"] > 0  # the record stays
    submitted_hash = services.content_hash(
        submitted, [SimpleNamespace(document_key=key, sha256=rows[versions[2]]["sha256"])]
    )
    assert submitted_hash == submitted.content_sha256

    # Staff see every version; a pruned one without a link.
    sign_in(client, officer)
    page = client.get(f"/instruction/dossiers/{app_id}").text
    documents = page.split('id="documents-title"')[1].split("</section>")[0]
    assert documents.count("version remplacée, non conservée") == 2
    assert f"/pieces/{versions[0]}" not in documents and f"/pieces/{versions[3]}" not in documents
    assert f"/pieces/{versions[2]}" in documents
    assert client.get(f"/dossiers/{app_id}/pieces/{versions[3]}").status_code == 404
    assert client.get(f"/dossiers/{app_id}/pieces/{versions[2]}").status_code == 200
    sign_out(client)

    # A crash between the commit and the deletion leaves the bytes: removed at start.
    leftover = files.path_of(rows[versions[3]]["storage_id"])
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"%PDF-1.4\n")
    found = run(client, recover, settings, previous_start=None)
    assert found.pruned_files == 1 and not leftover.exists()


def user_of(client, person: dict):
    return run(client, load_current_user, person["id"])


# --- Messages -----------------------------------------------------------------------


async def send_asgi(app, path: str, headers: dict[str, str], body: Iterator[bytes]):
    """POST ``body`` to the app chunk by chunk, as a server does: (status, page, chunks
    the app read)."""
    read = 0
    sent: list[dict] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }

    async def receive() -> dict:
        nonlocal read
        chunk = next(body, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    page = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, page.decode(), read


def test_a_messages_file_over_the_limit_is_refused_before_it_is_read(client, settings):
    """Content-Length says the file is over 10 MB: refused when the file begins (the
    form's token and the message before it are read, to keep what was typed), before
    a byte of it; the body's later chunks are never read."""
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    app_id, _key = draft_for(client, officer, owner)
    sign_in(client, owner)
    token = csrf_token(client)
    size = int(20.3 * MB)
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="_csrf_token"\r\n\r\n'
        f"{token}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="body"\r\n\r\n'
        "Voici le rapport.\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="rapport.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head + b"%PDF-1.4\n"
        block = b"0" * MB
        for _ in range(20):
            yield block
        yield b"0" * (size - 9 - 20 * MB) + tail

    cookies = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    headers = {
        "host": "testserver.local",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "content-length": str(len(head) + size + len(tail)),
        "cookie": cookies,
    }
    before = files_on_disk(settings)
    status, page, read = client.blocking_portal.call(
        send_asgi, client.app, f"/dossiers/{app_id}/messages", headers, body()
    )
    assert status == 413
    assert read == 1  # the chunk holding the token, the message and the file's headers
    text = text_of(page).replace("\u202f", " ").replace("\u00a0", " ")
    assert "Une pièce jointe de message ne peut dépasser 10 Mo ; ce fichier fait 20,3 Mo." in text
    assert "Le message n’est pas envoyé" in text and 'href="#message-file"' in page
    assert ">Voici le rapport.</textarea>" in page
    assert files_on_disk(settings) == before
    sign_out(client)


def test_a_refused_messages_file_keeps_the_message_as_typed(client, settings):
    """Over the application's quota, from the organisation: the page again, with the
    message typed (read before the file was stopped at the room left) and the reason;
    the staff's files are not refused for it."""
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    app_id, key = draft_for(client, officer, owner)
    attach_pdf(client, owner, app_id, key, content=pdf(900 * KB))
    sign_in(client, owner)
    refused = message(client, app_id, "Voici l’annexe demandée.", pdf(150 * KB))
    assert refused.status_code == 422
    assert "(900 Ko déjà utilisés)" in said(refused)
    assert ">Voici l’annexe demandée.</textarea>" in refused.text
    assert run(client, services.messages, app_id) == []
    assert message(client, app_id, "Sans pièce jointe, il passe.").status_code == 303
    sign_out(client)
    sign_in(client, officer)
    assert message(client, app_id, "Le modèle à remplir.", pdf(300 * KB)).status_code == 303
    sign_out(client)


# --- Upload rate ----------------------------------------------------------------------


@pytest.fixture
def frozen_clock(monkeypatch):
    """Every hit in one window of the rate limits (a minute could turn mid-test)."""
    hour = int(time.time() // 3600) * 3600
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: hour + 5))


def test_the_11th_upload_in_a_minute_is_refused_with_429(client, settings, frozen_clock):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    app_id, key = draft_for(client, officer, owner)
    sign_in(client, owner)
    for n in range(5):
        assert upload(client, app_id, key, pdf(2 * KB), f"v{n}.pdf").status_code == 303
        assert message(client, app_id, f"Message {n}", pdf(2 * KB)).status_code == 303
    # A message without a file is not an upload.
    assert message(client, app_id, "Sans pièce jointe.").status_code == 303
    before = files_on_disk(settings)
    refused = upload(client, app_id, key, pdf(2 * KB), "v11.pdf")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "55"
    assert (
        "Vous avez envoyé trop de fichiers : au plus 10 par minute et 100 par heure. "
        "Vous pourrez réessayer dans 1 minute."
    ) in said(refused)
    assert message(client, app_id, "Encore une", pdf(2 * KB)).status_code == 429
    assert files_on_disk(settings) == before
    sign_out(client)
    # Someone else is not held back.
    other = make_user(client)
    other_app, other_key = draft_for(client, officer, other)
    sign_in(client, other)
    assert upload(client, other_app, other_key, pdf(2 * KB)).status_code == 303
    sign_out(client)
