"""Streamed uploads through a small app built here, with the real CSRF configuration,
error pages and security headers: size limit, CSRF by field or header, content checks,
nothing left behind on refusal, downloads, memory.

No database is involved: storage keeps files only; callers keep the rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tracemalloc
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.middleware.csrf import generate_csrf_token
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File
from litestar.template.config import TemplateConfig
from litestar.testing import TestClient

from app.core import storage
from app.core.errors import html_exception_handler
from app.core.ratelimit import RateLimiter
from app.core.security import csrf_config, security_headers
from app.core.storage import FileStorage, UploadError, body_limit, receive_upload
from app.core.web import DEPENDENCIES, csrf_token
from app.main import ROUTE_HANDLERS, template_engine
from tests.conftest import make_settings

MAX_BYTES = 64 * 1024
BIG_MAX_BYTES = 32 * 1024 * 1024
PDF = b"%PDF-1.7\n" + b"0123456789" * 200 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 200
BOUNDARY = "----GuichetBoundary7MA4YWxkTrZu0gW"


# --- The throwaway app -----------------------------------------------------------------


def upload_error_page(request: Request, exc: UploadError) -> Response:
    """The app's HTML error page, plus the refusal's code for the assertions below."""
    response = html_exception_handler(request, exc)
    response.headers["x-upload-error"] = exc.code
    return response


def build_app(settings) -> Litestar:
    @get("/formulaire", opt={"public": True}, media_type=MediaType.TEXT)
    async def form_page(request: Request) -> str:
        return csrf_token(request)

    @post(
        "/upload",
        opt={"exclude_from_csrf": True, "public": True},
        request_max_body_size=body_limit(MAX_BYTES, max_files=2),
        status_code=201,
    )
    async def upload(request: Request) -> dict[str, Any]:
        received = await receive_upload(
            request,
            max_bytes=MAX_BYTES,
            kinds={"pdf", "image", "office", "opendocument"},
            file_fields={"file", "annex"},
            text_fields={"document_key", "comment"},
            max_files=2,
        )
        return {"files": [asdict(f) for f in received.files], "fields": received.fields}

    @post(
        "/upload-pdf",
        opt={"exclude_from_csrf": True, "public": True},
        request_max_body_size=body_limit(MAX_BYTES),
        status_code=201,
    )
    async def upload_pdf(request: Request) -> dict[str, Any]:
        received = await receive_upload(request, max_bytes=MAX_BYTES, kinds={"pdf"})
        return {"files": [asdict(f) for f in received.files]}

    @post(
        "/upload-small",  # the limit of this upload is below the route's (a quota's room)
        opt={"exclude_from_csrf": True, "public": True},
        request_max_body_size=body_limit(MAX_BYTES),
        status_code=201,
    )
    async def upload_small(request: Request) -> dict[str, Any]:
        received = await receive_upload(
            request, max_bytes=MAX_BYTES // 4, kinds={"pdf"}, text_fields={"comment"}
        )
        return {"files": [asdict(f) for f in received.files]}

    @post(
        "/upload-big",
        opt={"exclude_from_csrf": True, "public": True},
        request_max_body_size=body_limit(BIG_MAX_BYTES),
        status_code=201,
    )
    async def upload_big(request: Request) -> dict[str, Any]:
        received = await receive_upload(request, max_bytes=BIG_MAX_BYTES, kinds={"pdf"})
        return {"files": [asdict(f) for f in received.files]}

    @post("/forgot-to-exclude", opt={"public": True}, status_code=201)
    async def forgot_to_exclude(request: Request) -> str:
        await receive_upload(request, max_bytes=MAX_BYTES)
        return "stored"

    @post("/forgot-the-body-limit", opt={"exclude_from_csrf": True, "public": True})
    async def forgot_the_body_limit(request: Request) -> str:
        await receive_upload(request, max_bytes=settings.max_body_bytes * 2)
        return "stored"

    @post("/ordinary", opt={"public": True}, media_type=MediaType.TEXT, status_code=200)
    async def ordinary(data: URLEncodedBody[dict[str, str]]) -> str:
        return "ok"

    @get("/fichiers/{storage_id:str}", opt={"public": True})
    async def download(
        request: Request, storage_id: FromPath[str], name: FromQuery[str], type: FromQuery[str]
    ) -> File:
        return FileStorage.of_app(request.app).download(
            storage_id, filename=name, content_type=type
        )

    return Litestar(
        route_handlers=[
            form_page,
            upload,
            upload_pdf,
            upload_small,
            upload_big,
            forgot_to_exclude,
            forgot_the_body_limit,
            ordinary,
            download,
            # The error pages' layout links to the site's pages by name.
            *ROUTE_HANDLERS,
        ],
        csrf_config=csrf_config(settings),
        dependencies=DEPENDENCIES,
        template_config=TemplateConfig(instance=template_engine()),
        exception_handlers={UploadError: upload_error_page, Exception: html_exception_handler},
        before_send=[security_headers(settings)],
        request_max_body_size=settings.max_body_bytes,
        state=State({"settings": settings, "rate_limiter": RateLimiter()}),
        openapi_config=None,
        logging_config=None,
        debug=False,
    )


@pytest.fixture(scope="module")
def upload_settings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    # Every upload counts against the sender's rate (the address here: no accounts);
    # these tests are about parsing, not about the rate.
    return make_settings(
        f"sqlite:///{folder / 'unused.sqlite3'}",
        folder / "data",
        UPLOADS_PER_MINUTE="100000",
        UPLOADS_PER_HOUR="100000",
    )


@pytest.fixture(scope="module")
def upload_app(upload_settings):
    return build_app(upload_settings)


@pytest.fixture(scope="module")
def upload_client(upload_app) -> Iterator[TestClient]:
    with TestClient(app=upload_app) as test_client:
        yield test_client


@pytest.fixture
def files_dir(upload_settings) -> Iterator[Path]:
    root = upload_settings.data_dir / "files"
    shutil.rmtree(root, ignore_errors=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def temp_files_opened(monkeypatch) -> list[Path]:
    """Every temporary file the storage opens during the test."""
    opened: list[Path] = []
    original = FileStorage.new_temp

    def recording(self):
        temp, writer = original(self)
        opened.append(temp)
        return temp, writer

    monkeypatch.setattr(FileStorage, "new_temp", recording)
    return opened


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def token(client: TestClient) -> str:
    if "guichet_csrf" not in client.cookies:
        client.get("/formulaire")
    return client.cookies["guichet_csrf"]


Part = tuple[str, bytes | str, str | None, str | None]  # name, value, filename, content type


def multipart(parts: Iterable[Part], boundary: str = BOUNDARY) -> bytes:
    out = bytearray()
    for name, value, filename, content_type in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + b"\r\n"
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + (value.encode() if isinstance(value, str) else value) + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def csrf_part(value: str) -> Part:
    return ("_csrf_token", value, None, None)


def file_part(data: bytes, filename: str = "budget.pdf", field: str = "file") -> Part:
    return (field, data, filename, "application/pdf")


def post_form(client: TestClient, parts: Iterable[Part], path: str = "/upload", **kwargs):
    return client.post(
        path,
        content=multipart(parts),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}", **kwargs},
    )


# --- Success ---------------------------------------------------------------------------


def test_a_correct_file_is_stored_with_its_sha256(upload_client, files_dir, upload_settings):
    response = post_form(
        upload_client,
        [
            csrf_part(token(upload_client)),
            ("document_key", "statuts", None, None),
            ("comment", "Version signée\r\npar la présidente", None, None),
            ("submit", "Envoyer", None, None),  # not asked for: ignored
            file_part(PDF, "Statuts signés.pdf"),
        ],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["fields"] == {
        "document_key": "statuts",
        "comment": "Version signée\npar la présidente",
    }
    [stored] = body["files"]
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert stored["size"] == len(PDF)
    assert stored["filename"] == "Statuts signés.pdf"
    assert (stored["kind"], stored["content_type"]) == ("pdf", "application/pdf")
    assert stored["field_name"] == "file"
    path = FileStorage.from_settings(upload_settings).path_of(stored["storage_id"])
    assert path.read_bytes() == PDF
    assert stored_files(files_dir) == [path]
    assert path.is_relative_to(upload_settings.data_dir / "files")


def test_the_csrf_header_works_without_the_field(upload_client, files_dir):
    response = post_form(
        upload_client, [file_part(PNG, "logo.png")], **{"x-csrftoken": token(upload_client)}
    )
    assert response.status_code == 201, response.text
    assert response.json()["files"][0]["kind"] == "image"
    assert len(stored_files(files_dir)) == 1


def test_two_files_in_two_fields(upload_client, files_dir):
    response = post_form(
        upload_client,
        [
            csrf_part(token(upload_client)),
            file_part(PDF, "budget.pdf"),
            file_part(PNG, "photo.png", field="annex"),
        ],
    )
    assert response.status_code == 201, response.text
    assert [f["field_name"] for f in response.json()["files"]] == ["file", "annex"]
    assert len(stored_files(files_dir)) == 2


def test_a_file_input_left_empty_gives_no_file(upload_client, files_dir):
    response = post_form(upload_client, [csrf_part(token(upload_client)), file_part(b"", "")])
    assert response.status_code == 201, response.text
    assert response.json()["files"] == []
    assert stored_files(files_dir) == []


def test_a_path_in_the_filename_is_dropped(upload_client, files_dir, upload_settings):
    response = post_form(
        upload_client, [csrf_part(token(upload_client)), file_part(PDF, "../../../etc/passwd.pdf")]
    )
    assert response.status_code == 201, response.text
    [stored] = response.json()["files"]
    assert stored["filename"] == "passwd.pdf"
    assert [p.name for p in stored_files(files_dir)] == [stored["storage_id"]]
    assert not (upload_settings.data_dir / "etc").exists()


def test_the_real_type_decides_the_extension_of_the_name(upload_client, files_dir):
    response = post_form(
        upload_client, [csrf_part(token(upload_client)), file_part(PDF, "facture.exe")]
    )
    assert response.status_code == 201, response.text
    assert response.json()["files"][0]["filename"] == "facture.exe.pdf"


# --- CSRF ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_parts",
    [
        pytest.param([], id="no token at all"),
        pytest.param([csrf_part("forged" * 20)], id="forged token"),
        pytest.param([csrf_part("")], id="empty token"),
        pytest.param(
            [("document_key", "statuts", None, None), "TOKEN"], id="token not the first field"
        ),
    ],
)
def test_a_missing_or_wrong_csrf_field_is_refused_before_any_byte_is_stored(
    upload_client, files_dir, temp_files_opened, first_parts
):
    parts = [csrf_part(token(upload_client)) if p == "TOKEN" else p for p in first_parts]
    response = post_form(upload_client, [*parts, file_part(PDF)])
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert temp_files_opened == []
    assert stored_files(files_dir) == []


def test_a_token_from_another_secret_is_refused(upload_client, files_dir, temp_files_opened):
    other = generate_csrf_token("another-secret-" + "y" * 32)
    upload_client.cookies.set("guichet_csrf", other)
    try:
        response = post_form(upload_client, [csrf_part(other), file_part(PDF)])
    finally:
        upload_client.cookies.clear()
    assert response.status_code == 403
    assert temp_files_opened == []


def test_a_wrong_header_is_refused_even_with_a_good_field(
    upload_client, files_dir, temp_files_opened
):
    response = post_form(
        upload_client,
        [csrf_part(token(upload_client)), file_part(PDF)],
        **{"x-csrftoken": "forged" * 20},
    )
    assert response.status_code == 403
    assert temp_files_opened == []


def test_no_csrf_cookie_is_refused(upload_client, files_dir, temp_files_opened):
    good = token(upload_client)
    upload_client.cookies.clear()
    try:
        response = post_form(upload_client, [csrf_part(good), file_part(PDF)])
    finally:
        upload_client.cookies.set("guichet_csrf", good)
    assert response.status_code == 403
    assert temp_files_opened == []


@pytest.mark.parametrize(
    "case", ["same token", "forged", "other secret", "token without cookie", "truncated token"]
)
def test_the_check_agrees_with_litestars_middleware(upload_settings, files_dir, case):
    """The same token and cookie pass or fail on an ordinary form and on an upload."""
    app = build_app(upload_settings)
    with TestClient(app=app) as client:
        good = token(client)
        field = {
            "same token": good,
            "forged": "ab" * 64,
            "other secret": generate_csrf_token("another-secret-" + "y" * 32),
            "token without cookie": good,
            "truncated token": good[:-1],
        }[case]
        if case == "token without cookie":
            client.cookies.clear()
        ordinary = client.post("/ordinary", data={"_csrf_token": field, "x": "1"})
        uploaded = post_form(client, [csrf_part(field), file_part(PDF)])
    assert ordinary.status_code in (200, 403)
    assert (ordinary.status_code == 200) == (uploaded.status_code == 201)
    assert (uploaded.status_code == 201) == (case == "same token")


# --- Refusals --------------------------------------------------------------------------


def test_an_oversized_file_is_refused_with_413_and_nothing_left(upload_client, files_dir):
    response = post_form(
        upload_client,
        [csrf_part(token(upload_client)), file_part(b"%PDF-1.7\n" + b"x" * MAX_BYTES)],
    )
    assert response.status_code == 413
    assert response.headers["x-upload-error"] == "file_too_large"
    assert response.headers["content-type"].startswith("text/html")
    assert "trop volumineux" in response.text
    assert stored_files(files_dir) == []


def test_a_body_over_the_route_limit_is_refused_with_413(upload_client, files_dir):
    parts = [
        csrf_part(token(upload_client)),
        file_part(PDF[:100] + b"x" * (MAX_BYTES - 200)),
        file_part(PDF[:100] + b"x" * (MAX_BYTES - 200), field="annex"),
        ("comment", "y" * 100_000, None, None),
    ]
    response = post_form(upload_client, parts)
    assert response.status_code == 413
    assert "x-upload-error" not in response.headers  # Litestar's own limit
    assert stored_files(files_dir) == []


def test_an_oversized_text_field_is_refused(upload_client, files_dir):
    response = post_form(
        upload_client,
        [
            csrf_part(token(upload_client)),
            ("comment", "z" * (storage.MAX_FIELD_BYTES + 1), None, None),
        ],
    )
    assert response.status_code == 413
    assert response.headers["x-upload-error"] == "field_too_large"


def test_an_executable_named_pdf_is_refused_and_not_kept(upload_client, files_dir):
    response = post_form(
        upload_client, [csrf_part(token(upload_client)), file_part(EXE, "facture.pdf")]
    )
    assert response.status_code == 422
    assert response.headers["x-upload-error"] == "executable"
    assert response.headers["content-type"].startswith("text/html")
    assert stored_files(files_dir) == []


def test_a_kind_the_route_does_not_accept_is_refused(upload_client, files_dir):
    response = post_form(
        upload_client,
        [csrf_part(token(upload_client)), file_part(PNG, "scan.pdf")],
        path="/upload-pdf",
    )
    assert response.status_code == 422
    assert response.headers["x-upload-error"] == "kind_not_allowed"
    assert stored_files(files_dir) == []


def test_an_empty_file_is_refused(upload_client, files_dir):
    response = post_form(
        upload_client, [csrf_part(token(upload_client)), file_part(b"", "vide.pdf")]
    )
    assert response.status_code == 422
    assert response.headers["x-upload-error"] == "empty"
    assert stored_files(files_dir) == []


def test_one_bad_file_means_no_file_is_kept(upload_client, files_dir):
    response = post_form(
        upload_client,
        [
            csrf_part(token(upload_client)),
            file_part(PDF, "budget.pdf"),
            file_part(EXE, "annexe.pdf", field="annex"),
        ],
    )
    assert response.status_code == 422
    assert response.headers["x-upload-error"] == "executable"
    assert stored_files(files_dir) == []


def test_a_truncated_multipart_body_is_refused_and_nothing_left(upload_client, files_dir):
    body = multipart([csrf_part(token(upload_client)), file_part(PDF)])
    cut = body[: len(body) - len(f"\r\n--{BOUNDARY}--\r\n") - 100]
    response = upload_client.post(
        "/upload",
        content=cut,
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 400
    assert response.headers["x-upload-error"] == "truncated"
    assert stored_files(files_dir) == []


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        pytest.param([file_part(PDF, field="other")], "unexpected_file", id="unexpected field"),
        pytest.param(
            [file_part(PDF), file_part(PDF, field="annex"), file_part(PDF, field="annex")],
            "too_many_files",
            id="too many files",
        ),
        pytest.param(
            [("comment", "a", None, None), ("comment", "b", None, None)],
            "duplicate_field",
            id="duplicate field",
        ),
        pytest.param([("comment", b"\xff\xfe", None, None)], "bad_encoding", id="not UTF-8"),
    ],
)
def test_unexpected_forms_are_refused(upload_client, files_dir, parts, code):
    response = post_form(upload_client, [csrf_part(token(upload_client)), *parts])
    assert response.status_code == 400
    assert response.headers["x-upload-error"] == code
    assert stored_files(files_dir) == []


def test_a_body_that_is_not_multipart_is_refused(upload_client, files_dir):
    response = upload_client.post(
        "/upload", data={"x": "1"}, headers={"x-csrftoken": token(upload_client)}
    )
    assert response.status_code == 400
    assert response.headers["x-upload-error"] == "not_multipart"


def test_a_route_left_under_the_csrf_middleware_is_a_programming_error(upload_client, files_dir):
    response = post_form(
        upload_client,
        [file_part(PDF)],
        path="/forgot-to-exclude",
        **{"x-csrftoken": token(upload_client)},
    )
    assert response.status_code == 500
    assert stored_files(files_dir) == []


def test_a_route_left_with_the_ordinary_body_limit_is_a_programming_error(upload_client, files_dir):
    response = post_form(
        upload_client,
        [file_part(PDF)],
        path="/forgot-the-body-limit",
        **{"x-csrftoken": token(upload_client)},
    )
    assert response.status_code == 500
    assert stored_files(files_dir) == []


# --- Downloads -------------------------------------------------------------------------


def test_a_download_is_an_attachment_with_the_original_name(upload_client, files_dir):
    uploaded = post_form(
        upload_client, [csrf_part(token(upload_client)), file_part(PDF, "Reçu « final ».pdf")]
    ).json()["files"][0]
    response = upload_client.get(
        f"/fichiers/{uploaded['storage_id']}",
        params={"name": uploaded["filename"], "type": uploaded["content_type"]},
    )
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == (
        'attachment; filename="Recu final .pdf"; '
        "filename*=UTF-8''Re%C3%A7u%20%C2%AB%20final%20%C2%BB.pdf"
    )


def test_a_download_never_trusts_a_stored_content_type_outside_the_list(upload_client, files_dir):
    uploaded = post_form(
        upload_client, [csrf_part(token(upload_client)), file_part(PDF, "a.pdf")]
    ).json()["files"][0]
    response = upload_client.get(
        f"/fichiers/{uploaded['storage_id']}", params={"name": "a.html", "type": "text/html"}
    )
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize("storage_id", ["0" * 32, "..%2F..%2Fetc%2Fpasswd", "nope"])
def test_a_download_of_a_missing_or_invalid_id_is_404(upload_client, files_dir, storage_id):
    response = upload_client.get(
        f"/fichiers/{storage_id}", params={"name": "a.pdf", "type": "application/pdf"}
    )
    assert response.status_code == 404


# --- Streaming: chunk by chunk, without holding the body -------------------------------


async def call_asgi(app: Litestar, path: str, headers: dict[str, str], chunks: Iterator[bytes]):
    """Send the body to the app chunk by chunk, as a server does; return status, body."""
    sent: list[dict[str, Any]] = []
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

    async def receive() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def streamed_headers(app_token: str) -> dict[str, str]:
    return {
        "host": "testserver.local",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
        "cookie": f"guichet_csrf={app_token}",
    }


def test_a_body_cut_in_tiny_chunks_is_parsed_the_same(upload_app, upload_settings, files_dir):
    app_token = generate_csrf_token(upload_settings.secret_key)
    body = multipart(
        [csrf_part(app_token), ("comment", "découpé", None, None), file_part(PDF, "petit.pdf")]
    )
    chunks = iter([body[i : i + 7] for i in range(0, len(body), 7)])
    status, answer = asyncio.run(
        call_asgi(upload_app, "/upload", streamed_headers(app_token), chunks)
    )
    assert status == 201, answer
    assert b'"comment":"d\xc3\xa9coup\xc3\xa9"' in answer
    assert hashlib.sha256(PDF).hexdigest().encode() in answer


def test_a_20_mb_upload_is_not_held_in_memory(upload_app, upload_settings, files_dir):
    """Streamed to disk: the peak of Python allocations stays far below the file size
    (not a timing test; see bench/ for speed)."""
    size = 20 * 1024 * 1024
    block = bytes(range(256)) * 256  # 64 KiB, reused for every chunk
    app_token = generate_csrf_token(upload_settings.secret_key)
    head = multipart([csrf_part(app_token)])[: -len(f"--{BOUNDARY}--\r\n")]
    head += (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="gros.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    first = b"%PDF-1.7\n"
    hasher = hashlib.sha256(first)
    for _ in range((size - len(first)) // len(block)):
        hasher.update(block)
    tail = block[: (size - len(first)) % len(block)]
    hasher.update(tail)

    def chunks() -> Iterator[bytes]:
        yield head + first
        for _ in range((size - len(first)) // len(block)):
            yield block
        yield tail
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    tracemalloc.start()
    try:
        status, answer = asyncio.run(
            call_asgi(upload_app, "/upload-big", streamed_headers(app_token), chunks())
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 201, answer
    assert hasher.hexdigest().encode() in answer
    [path] = stored_files(files_dir)
    assert path.stat().st_size == size
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"


def test_a_wrong_token_stops_reading_the_body(upload_app, upload_settings, files_dir):
    """Refused on the first part: the rest of a large body is never read."""
    app_token = generate_csrf_token(upload_settings.secret_key)
    body = multipart([csrf_part("forged" * 20), file_part(PDF + b"x" * 50_000)])
    pieces = [body[i : i + 1024] for i in range(0, len(body), 1024)]
    consumed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        for piece in pieces:
            consumed += 1
            yield piece

    status, _ = asyncio.run(call_asgi(upload_app, "/upload", streamed_headers(app_token), chunks()))
    assert status == 403
    assert consumed < 3 < len(pieces)
    assert stored_files(files_dir) == []


def test_a_file_content_length_says_is_too_large_is_refused_before_it_is_read(
    upload_app, upload_settings, files_dir, temp_files_opened
):
    """Refused when the file begins: the token and the text before it are read (the
    form can be shown again as typed), not a byte of the file nor the rest."""
    app_token = generate_csrf_token(upload_settings.secret_key)
    body = multipart(
        [csrf_part(app_token), ("comment", "gardé", None, None), file_part(PDF + b"x" * 100_000)]
    )
    pieces = [body[i : i + 1024] for i in range(0, len(body), 1024)]
    consumed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        for piece in pieces:
            consumed += 1
            yield piece

    headers = {**streamed_headers(app_token), "content-length": str(len(body))}
    status, _page = asyncio.run(call_asgi(upload_app, "/upload-small", headers, chunks()))
    assert status == 413
    assert consumed == 1 < len(pieces)
    assert temp_files_opened == [] and stored_files(files_dir) == []


def test_a_client_gone_mid_upload_leaves_nothing(upload_app, upload_settings, files_dir):
    app_token = generate_csrf_token(upload_settings.secret_key)
    body = multipart([csrf_part(app_token), file_part(PDF + b"x" * 20_000)])
    half = body[: len(body) // 2]
    messages = iter(
        [
            {"type": "http.request", "body": half, "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in streamed_headers(app_token).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(upload_app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert stored_files(files_dir) == []
    assert not any((upload_settings.data_dir / "files" / "tmp").glob("*.part"))
