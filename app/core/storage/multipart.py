"""Receiving an upload: the multipart body of ``request.stream()`` goes through
python-multipart's push parser chunk by chunk, each file part straight into a temporary
file with a running size limit and SHA-256, the CSRF token checked before any file byte
is written, the upload rate counted when a file begins."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio.to_thread
from litestar.exceptions import (
    ImproperlyConfiguredException,
    InternalServerException,
    PermissionDeniedException,
)
from litestar.utils.scope.state import ScopeState
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.core.numbers import is_digits
from app.core.ratelimit import Limit
from app.core.storage.csrf import csrf_tokens_match
from app.core.storage.errors import (
    TooManyUploads,
    UploadError,
    UploadMalformed,
    UploadRefused,
    UploadTooLarge,
)
from app.core.storage.files import FileStorage, StoredFile, Upload
from app.core.storage.filetypes import DEFAULT_KINDS, check_kinds, sniff
from app.core.storage.names import clean_filename, name_with_extension

if TYPE_CHECKING:
    from litestar import Request

MB = 1024 * 1024
CSRF_FIELD = "_csrf_token"
MAX_FIELD_BYTES = 16 * 1024  # a text field of an upload form (comment, document key)
MAX_CSRF_FIELD_BYTES = 512
MULTIPART_OVERHEAD = 64 * 1024  # headers, boundaries and text fields around the files
# What may follow a file in its form (other empty file inputs, buttons): a file that
# Content-Length says is larger than its limit by more than this is refused at its
# first byte, with its size.
DECLARED_SLACK = 4 * 1024


@dataclass(slots=True)
class _Part:
    name: str
    filename: str | None  # None: a text field
    role: str  # csrf, text, file, ignored, too_large (by Content-Length: refused)
    buffer: bytearray = field(default_factory=bytearray)
    temp: Path | None = None
    writer: IO[bytes] | None = None
    hasher: Any = None
    size: int = 0


@dataclass(slots=True)
class _Pending:
    field_name: str
    filename: str
    temp: Path
    size: int
    sha256: str


class _Receiver:
    """Callbacks of python-multipart's push parser; decides part by part."""

    def __init__(
        self,
        storage: FileStorage,
        *,
        max_bytes: int,
        file_fields: frozenset[str],
        text_fields: frozenset[str],
        max_files: int,
        list_fields: frozenset[str] = frozenset(),
        skipped_files: frozenset[str] = frozenset(),
        max_list_values: int = 0,
        max_field_bytes: int,
        verify_token: Callable[[str], bool],
        verified_token: str | None,
        declared_too_large: int | None = None,
        declared: int | None = None,
    ) -> None:
        self.storage = storage
        self.max_bytes = max_bytes
        self.file_fields = file_fields
        self.text_fields = text_fields
        self.max_files = max_files
        self.max_field_bytes = max_field_bytes
        self.list_fields = list_fields
        self.skipped_files = skipped_files
        self.max_parts = max_files + len(text_fields) + len(skipped_files) + max_list_values + 20
        self.verify_token = verify_token
        self.verified_token = verified_token
        # Content-Length says the files cannot fit: refused when the first one begins,
        # before a byte of it is read (the text fields before it are kept).
        self.declared_too_large = declared_too_large
        self.declared = declared
        self.closing = 0  # the closing boundary's length (\r\n--boundary--\r\n)
        self.fed = 0  # bytes of the body before the chunk being parsed
        self.parts_seen = 0
        self.files_seen = 0
        self.headers: dict[bytes, bytes] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.part: _Part | None = None
        self.fields: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        self.pending: list[_Pending] = []
        self.placed: list[str] = []
        self.ended = False

    @property
    def has_file(self) -> bool:
        """A file has begun, past a verified token (a file input left empty is none)."""
        part = self.part
        return self.verified_token is not None and (
            bool(self.pending)
            or (part is not None and part.role == "file" and bool(part.size or part.filename))
        )

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.parts_seen += 1
        if self.parts_seen > self.max_parts:
            raise UploadMalformed("too_many_parts")
        self.headers = {}
        self.part = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_name).strip().lower()] = bytes(self.header_value).strip()
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self.headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise UploadMalformed("malformed")
        encoding = self.headers.get(b"content-transfer-encoding", b"binary").lower()
        if encoding not in (b"binary", b"8bit", b"7bit"):
            raise UploadMalformed("bad_encoding")
        name = options[b"name"].decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        filename = None if raw_filename is None else raw_filename.decode("utf-8", "replace")

        if self.verified_token is None:
            # No header token: the first part must be the token, checked before any file.
            if self.parts_seen != 1 or name != CSRF_FIELD or filename is not None:
                raise PermissionDeniedException("CSRF token verification failed")
            self.part = _Part(name, None, "csrf")
            return
        if filename is not None:
            if name in self.skipped_files:  # another file input of the same form
                self.part = _Part(name, filename, "ignored")
                return
            if name not in self.file_fields:
                raise UploadMalformed("unexpected_file")
            if self.declared_too_large is not None:
                self.part = _Part(name, filename, "too_large")
                return
            self.files_seen += 1
            if self.files_seen > self.max_files:
                raise UploadMalformed("too_many_files")
            temp, writer = self.storage.new_temp()
            self.part = _Part(
                name, filename, "file", temp=temp, writer=writer, hasher=hashlib.sha256()
            )
        elif name in self.list_fields:
            self.part = _Part(name, None, "text")
        elif name in self.text_fields:
            if name in self.fields:
                raise UploadMalformed("duplicate_field")
            self.part = _Part(name, None, "text")
        else:  # submit buttons, a repeated token...: read past, keep nothing
            self.part = _Part(name, None, "ignored")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part is None:
            raise UploadMalformed("malformed")
        if part.role == "too_large":
            self.refuse_declared(part, self.fed + start)
        length = end - start
        if part.role == "file" and part.size == 0 and self.declared is not None:
            # The file's size by Content-Length, now that what comes before it is read.
            size = self.declared - (self.fed + start) - self.closing
            if size > self.max_bytes + DECLARED_SLACK:
                raise UploadTooLarge(
                    "file_too_large", filename=clean_filename(part.filename or ""), size=size
                )
        if part.role == "file":
            part.size += length
            if part.size > self.max_bytes:
                raise UploadTooLarge("file_too_large", filename=clean_filename(part.filename or ""))
            chunk = data[start:end]
            part.hasher.update(chunk)
            # A plain write: the page cache absorbs it; fsync waits for the end, in a thread.
            part.writer.write(chunk)  # type: ignore[union-attr]
        elif part.role in ("text", "csrf"):
            part.buffer += data[start:end]
            limit = MAX_CSRF_FIELD_BYTES if part.role == "csrf" else self.max_field_bytes
            if len(part.buffer) > limit:
                if part.role == "csrf":
                    raise PermissionDeniedException("CSRF token verification failed")
                raise UploadTooLarge("field_too_large")

    def refuse_declared(self, part: _Part, file_starts_at: int | None) -> None:
        """Refuse a file Content-Length said is too large, with its size: the rest
        of the body from its first byte, less the closing boundary."""
        declared = self.declared_too_large or 0
        size = declared - file_starts_at - self.closing if file_starts_at is not None else None
        raise UploadTooLarge(
            "file_too_large", filename=clean_filename(part.filename or ""), size=size or declared
        )

    def on_part_end(self) -> None:
        part = self.part
        if part is None:
            raise UploadMalformed("malformed")
        if part.role == "too_large":
            self.refuse_declared(part, None)
        self.part = None
        if part.role == "csrf":
            token = part.buffer.decode("latin-1").strip()
            if not self.verify_token(token):
                raise PermissionDeniedException("CSRF token verification failed")
            self.verified_token = token
        elif part.role == "text":
            try:
                value = part.buffer.decode("utf-8")
            except UnicodeDecodeError:
                raise UploadMalformed("bad_encoding") from None
            value = value.replace("\r\n", "\n").replace("\x00", "")
            if part.name in self.list_fields:
                self.lists.setdefault(part.name, []).append(value)
            else:
                self.fields[part.name] = value
        elif part.role == "file":
            if part.writer is None or part.temp is None:
                raise UploadMalformed("malformed")
            part.writer.close()
            if part.size == 0 and not part.filename:
                part.temp.unlink(missing_ok=True)  # the file input was left empty
                return
            self.pending.append(
                _Pending(
                    field_name=part.name,
                    filename=clean_filename(part.filename or ""),
                    temp=part.temp,
                    size=part.size,
                    sha256=part.hasher.hexdigest(),
                )
            )

    def on_end(self) -> None:
        self.ended = True

    def commit(self, allowed: frozenset[str]) -> list[StoredFile]:
        """Blocking (run in a thread): check every file's type, then fsync and move
        them all into place. Nothing is placed unless every file passed."""
        checked = []
        for pending in self.pending:
            with pending.temp.open("rb") as reader:
                file_type = sniff(reader, pending.filename)
                if file_type.kind not in allowed:
                    raise UploadRefused("kind_not_allowed", filename=pending.filename)
                os.fsync(reader.fileno())
            checked.append((pending, file_type))
        stored = []
        for pending, file_type in checked:
            storage_id = self.storage.new_id()
            self.storage.place(pending.temp, storage_id)
            self.placed.append(storage_id)
            stored.append(
                StoredFile(
                    storage_id=storage_id,
                    filename=name_with_extension(pending.filename, file_type),
                    size=pending.size,
                    sha256=pending.sha256,
                    kind=file_type.kind,
                    content_type=file_type.content_type,
                    field_name=pending.field_name,
                )
            )
        return stored

    def discard(self) -> None:
        """Remove everything this request wrote: partial, pending and placed files."""
        part = self.part
        if part is not None and part.temp is not None:
            if part.writer is not None:
                part.writer.close()
            part.temp.unlink(missing_ok=True)
        for pending in self.pending:
            pending.temp.unlink(missing_ok=True)
        for storage_id in self.placed:
            self.storage.delete(storage_id)
        self.pending.clear()
        self.placed.clear()


def multipart_boundary(content_type: str | None) -> bytes:
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary", b"")
    if media_type != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise UploadMalformed("not_multipart")
    return boundary


def body_limit(max_bytes: int, max_files: int = 1, form_bytes: int = MULTIPART_OVERHEAD) -> int:
    """For the route's ``request_max_body_size``: the files plus room for the rest
    (``form_bytes``: headers, boundaries and text fields)."""
    return max_bytes * max_files + form_bytes


def declared_bytes(request: Request[Any, Any, Any]) -> int | None:
    """The body's size from Content-Length, None without one (chunked)."""
    value = request.headers.get("content-length", "").strip()
    return int(value) if is_digits(value) and len(value) < 19 else None


def declared_file_bytes(
    request: Request[Any, Any, Any], form_bytes: int = MULTIPART_OVERHEAD
) -> int:
    """The least the files of this body weigh by its Content-Length: the body less the
    room ``body_limit`` gives the rest of a form; 0 when unknown or nothing is left."""
    declared = declared_bytes(request)
    return max(0, declared - form_bytes) if declared is not None else 0


async def check_upload_rate(request: Request[Any, Any, Any]) -> None:
    """Count one upload of this person (the signed-in account, else the address) and
    refuse it with ``TooManyUploads`` over ``UPLOADS_PER_MINUTE`` or ``UPLOADS_PER_HOUR``."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    settings = getattr(request.app.state, "settings", None)
    if limiter is None or settings is None:
        raise ImproperlyConfiguredException("receive_upload needs app.state.rate_limiter")
    user = request.scope.get("user")
    user_id = getattr(user, "id", None)
    key = (
        f"user:{user_id}"
        if user_id is not None
        else f"ip:{request.client.host if request.client else ''}"
    )
    for limit in (
        Limit("uploads_minute", settings.uploads_per_minute, 60),
        Limit("uploads_hour", settings.uploads_per_hour, 3600),
    ):
        wait = await limiter.hit(limit, key)
        if wait:
            raise TooManyUploads(
                wait, per_minute=settings.uploads_per_minute, per_hour=settings.uploads_per_hour
            )


async def receive_upload(
    request: Request[Any, Any, Any],
    *,
    max_bytes: int,
    kinds: Collection[str] = DEFAULT_KINDS,
    file_fields: Collection[str] = ("file",),
    text_fields: Collection[str] = (),
    max_files: int = 1,
    max_field_bytes: int = MAX_FIELD_BYTES,
    storage: FileStorage | None = None,
    list_fields: Collection[str] = (),
    skipped_file_fields: Collection[str] = (),
    max_list_values: int = 0,
    form_bytes: int = MULTIPART_OVERHEAD,
) -> Upload:
    """Read a multipart form from the request stream and store its files.

    The route must be declared with ``opt={"exclude_from_csrf": True}`` and a
    ``request_max_body_size`` of at least ``body_limit(max_bytes, max_files)``; the
    CSRF token is checked here (header, or the form's first field). Each file is at most
    ``max_bytes`` and of one of ``kinds``; ``text_fields`` are returned as strings,
    other text fields ignored, a file in a field not in ``file_fields`` refused (or read
    past, in ``skipped_file_fields``: the other file inputs of a form). ``list_fields``
    may repeat (checkboxes: ``Upload.lists``, at most ``max_list_values`` values in all).
    ``form_bytes``: the room for everything but the files (``body_limit``). A file
    input left empty gives no file: check ``Upload.file(name)``.

    A request carrying a file counts against the person's upload rate
    (``check_upload_rate``) as soon as its file begins, past the verified CSRF token:
    a form without a file (a message alone) is not an upload, and a forged form cannot
    spend someone's allowance. Over the rate, the rest of the body is not read.

    Raises ``PermissionDeniedException`` (403, bad or missing token, before any file
    byte is written), ``UploadMalformed`` (400), ``UploadTooLarge`` (413; when
    Content-Length is over ``body_limit(max_bytes, max_files)``, as soon as the first
    file begins, before a byte of it is read: the text fields before it are kept),
    ``UploadRefused`` (422), ``TooManyUploads`` (429), Litestar's
    ``RequestEntityTooLarge`` (413, body over the route limit). On any of them nothing
    stays on disk; an ``UploadError`` carries the text fields read before it.

    The caller records the returned ``StoredFile``s in its table; if that fails, it
    deletes them (``FileStorage.delete``)."""
    csrf = request.app.csrf_config
    if csrf is None:
        raise ImproperlyConfiguredException("receive_upload needs the app's CSRF config")
    if not request.route_handler.opt.get(csrf.exclude_from_csrf_key):
        # Otherwise the middleware has read the body already and the stream would hang.
        raise ImproperlyConfiguredException(
            f"an upload route needs opt={{{csrf.exclude_from_csrf_key!r}: True}}"
        )
    allowed = check_kinds(kinds)
    if max_bytes < 1 or max_files < 1:
        raise ValueError("max_bytes and max_files must be positive")
    route_limit = request.route_handler.resolve_request_max_body_size()
    if route_limit is not None and route_limit < max_bytes:
        # The app-wide limit for ordinary forms (MAX_BODY_BYTES) would answer 413 first.
        raise ImproperlyConfiguredException(
            f"an upload route needs request_max_body_size=body_limit({max_bytes}, ...)"
        )
    storage = storage or FileStorage.of_app(request.app)
    boundary = multipart_boundary(request.headers.get("content-type"))
    declared = declared_bytes(request)
    too_large = (
        declared is not None
        and body_limit(max_bytes, max_files, form_bytes) < declared
        and (route_limit is None or declared <= route_limit)  # else Litestar's own 413
    )
    cookie = request.cookies.get(csrf.cookie_name)

    header_token = request.headers.get(csrf.header_name)
    if header_token and not csrf_tokens_match(csrf, header_token, cookie):
        raise PermissionDeniedException("CSRF token verification failed")

    receiver = _Receiver(
        storage,
        max_bytes=max_bytes,
        file_fields=frozenset(file_fields),
        text_fields=frozenset(text_fields),
        max_files=max_files,
        max_field_bytes=max_field_bytes,
        list_fields=frozenset(list_fields),
        skipped_files=frozenset(skipped_file_fields),
        max_list_values=max_list_values,
        verify_token=lambda token: csrf_tokens_match(csrf, token, cookie),
        verified_token=header_token or None,
        declared_too_large=declared if too_large else None,
        declared=declared,
    )
    receiver.closing = len(boundary) + 8
    parser = MultipartParser(boundary, callbacks=receiver.callbacks())  # type: ignore[arg-type]
    counted = False
    try:
        try:
            async for chunk in request.stream():
                if chunk:
                    parser.write(chunk)
                    receiver.fed += len(chunk)
                if not counted and receiver.has_file:
                    counted = True
                    await check_upload_rate(request)
        except FormParserError:
            raise UploadMalformed("malformed") from None
        except InternalServerException as exc:  # the client went away mid-upload
            raise UploadMalformed("disconnected") from exc
        if receiver.verified_token is None:
            raise PermissionDeniedException("CSRF token verification failed")
        if not receiver.ended:
            raise UploadMalformed("truncated")
        stored = await anyio.to_thread.run_sync(receiver.commit, allowed)
    except BaseException as exc:
        receiver.discard()
        if isinstance(exc, UploadError):
            exc.fields = dict(receiver.fields)
            exc.lists = dict(receiver.lists)
        raise
    ScopeState.from_scope(request.scope).csrf_token = receiver.verified_token
    return Upload(files=tuple(stored), fields=receiver.fields, lists=receiver.lists)
