"""Attachments: streamed uploads, content-checked types, safe downloads.

The one upload path of the application. A route excluded from Litestar's CSRF
middleware calls ``receive_upload``: the multipart body of ``request.stream()`` goes
through python-multipart's push parser chunk by chunk, each file part straight into a
temporary file under ``<data dir>/files/tmp`` with a running size limit and SHA-256;
nothing holds the whole body in memory.

Why the route is excluded from the CSRF middleware: when the token arrives as a form
field, the middleware parses the whole multipart body first (spooling every file), and
a handler that then reads ``request.stream()`` waits forever. So the check happens
here, with Litestar's own token comparison: the ``x-csrftoken`` header (htmx), or else
the ``_csrf_token`` field, which must be the first part of the form (plain forms put
the hidden field first). When it is missing or wrong the request is refused with 403
before a byte of any file is written.

Every request carrying a file counts against its sender's upload rate
(``UPLOADS_PER_MINUTE``, ``UPLOADS_PER_HOUR``): over it, 429 with Retry-After as soon
as the file begins, the rest unread. When Content-Length says the file is over the
limit, it is refused as soon as it begins too, before a byte of it is read.

A file's type is read from its content (magic bytes, the ZIP central directory for
office documents), never from its name or the client's content type. Stored files are
named by a random id, sharded in two levels of folders; the caller keeps the id, the
cleaned original name, size, SHA-256 and type in its own table. On any refusal nothing
stays on disk. After a crash (a temporary file cut short, a file placed whose record
never committed), ``guichet serve`` removes the leftovers before it starts
(``app.recovery``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

import anyio.to_thread
from litestar.exceptions import (
    ClientException,
    ImproperlyConfiguredException,
    InternalServerException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.middleware.csrf import CSRFMiddleware
from litestar.response import File
from litestar.utils.scope.state import ScopeState
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.core.i18n import gettext
from app.core.i18n import gettext_noop as N_
from app.core.numbers import is_digits
from app.core.ratelimit import Limit

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.config.csrf import CSRFConfig

    from app.settings import Settings

MB = 1024 * 1024
CSRF_FIELD = "_csrf_token"
MAX_FIELD_BYTES = 16 * 1024  # a text field of an upload form (comment, document key)
MAX_CSRF_FIELD_BYTES = 512
MAX_FILENAME_CHARS = 120
MULTIPART_OVERHEAD = 64 * 1024  # headers, boundaries and text fields around the files
HEAD_BYTES = 8192

# ZIP containers (office documents) are judged on their central directory alone, never
# inflated: a zip bomb is refused on what it declares.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_UNCOMPRESSED = 512 * MB
MAX_ZIP_RATIO = 100  # declared uncompressed total / archive size; office files stay below 20

_STORAGE_ID = re.compile(r"[0-9a-f]{32}")


# --- Errors ----------------------------------------------------------------------------


# Each refusal's message, beside the code that raises it (shown translated by ``text``).
UPLOAD_MESSAGES = {
    "empty": N_("The file is empty."),
    "executable": N_("This file is a program: it is refused."),
    "unknown_type": N_("This kind of file is not accepted here."),
    "kind_not_allowed": N_("This kind of file is not accepted here."),
    "archive_suspicious": N_("This file looks damaged or suspicious."),
    "corrupt": N_("This file looks damaged or suspicious."),
    "macros": N_("Documents with macros are refused."),
    "missing": N_("Choose a file."),
    "file_too_large": N_("The file is larger than the limit for this document."),
    "field_too_large": N_("A text sent with the file is too long."),
}
UPLOAD_MALFORMED = N_(
    "The file could not be received whole. Please try again; if it happens again, "
    "try another browser."
)


class UploadError(ClientException):
    """An upload the application refuses; ``code`` names the reason for a message.

    Subclasses of Litestar's ``HTTPException``: uncaught, the app's HTML error handler
    answers with the page for ``status_code``."""

    status_code = 400
    default_code = "malformed"

    def __init__(
        self, code: str | None = None, *, filename: str = "", size: int | None = None
    ) -> None:
        self.code = code or self.default_code
        self.filename = filename
        # The file's size by the request's Content-Length, when refused on it.
        self.size = size
        # The text fields read before the refusal (to show the form again as typed).
        self.fields: dict[str, str] = {}
        super().__init__(detail=self.code)

    def text(self) -> str:
        """What to tell the person, in their language."""
        return gettext(UPLOAD_MESSAGES[self.code])


class UploadMalformed(UploadError):
    """400: not a multipart form we expect (truncated, unexpected field, too many files,
    client gone...). Codes: not_multipart, malformed, truncated, disconnected,
    unexpected_file, too_many_files, too_many_parts, duplicate_field, bad_encoding."""

    def text(self) -> str:
        return gettext(UPLOAD_MALFORMED)


class UploadTooLarge(UploadError):
    """413: a file is over ``max_bytes`` (code ``file_too_large``; ``size`` set when
    Content-Length said so before the file was read), a text field over its limit
    (``field_too_large``). Litestar's own ``RequestEntityTooLarge`` (413) comes when the
    whole body is over the route's ``request_max_body_size``."""

    status_code = 413
    default_code = "file_too_large"


class UploadRefused(UploadError):
    """422: the file itself is refused; re-render the form with a message for ``code``:
    empty, executable, unknown_type, kind_not_allowed, archive_suspicious, macros,
    corrupt. ``filename`` is the cleaned name of the file concerned."""

    status_code = 422
    default_code = "unknown_type"


class TooManyUploads(TooManyRequestsException):
    """429 with Retry-After: this person sent more files than ``UPLOADS_PER_MINUTE`` or
    ``UPLOADS_PER_HOUR``; the error page says the limits and how long to wait."""

    def __init__(self, retry_after: int, *, per_minute: int, per_hour: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})
        self.explanation = (
            N_("You have sent too many files: at most %(minute)d a minute and %(hour)d an hour."),
            {"minute": per_minute, "hour": per_hour},
        )


class InvalidStorageId(ValueError):
    """Not a storage id (32 lowercase hexadecimal digits)."""


# --- File types ------------------------------------------------------------------------

PDF = "pdf"
IMAGE = "image"
OFFICE = "office"  # Word, Excel, PowerPoint (OOXML: .docx, .xlsx, .pptx)
OPENDOCUMENT = "opendocument"  # LibreOffice (.odt, .ods, .odp)
LEGACY_OFFICE = "legacy_office"  # .doc, .xls, .ppt (OLE2): can carry macros, opt-in
KINDS = (PDF, IMAGE, OFFICE, OPENDOCUMENT, LEGACY_OFFICE)
DEFAULT_KINDS = frozenset({PDF, IMAGE, OFFICE, OPENDOCUMENT})


@dataclass(frozen=True, slots=True)
class FileType:
    name: str
    kind: str
    content_type: str
    extensions: tuple[str, ...]  # the first one is given to names that have none of them


FILE_TYPES = {
    t.name: t
    for t in (
        FileType("pdf", PDF, "application/pdf", (".pdf",)),
        FileType("png", IMAGE, "image/png", (".png",)),
        FileType("jpeg", IMAGE, "image/jpeg", (".jpg", ".jpeg")),
        FileType("webp", IMAGE, "image/webp", (".webp",)),
        FileType(
            "docx",
            OFFICE,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx",),
        ),
        FileType(
            "xlsx",
            OFFICE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (".xlsx",),
        ),
        FileType(
            "pptx",
            OFFICE,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            (".pptx",),
        ),
        FileType("odt", OPENDOCUMENT, "application/vnd.oasis.opendocument.text", (".odt",)),
        FileType("ods", OPENDOCUMENT, "application/vnd.oasis.opendocument.spreadsheet", (".ods",)),
        FileType("odp", OPENDOCUMENT, "application/vnd.oasis.opendocument.presentation", (".odp",)),
        FileType("doc", LEGACY_OFFICE, "application/msword", (".doc",)),
        FileType("xls", LEGACY_OFFICE, "application/vnd.ms-excel", (".xls",)),
        FileType("ppt", LEGACY_OFFICE, "application/vnd.ms-powerpoint", (".ppt",)),
    )
}
_CONTENT_TYPES = frozenset(t.content_type for t in FILE_TYPES.values())


def _check_kinds(kinds: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(kinds)
    unknown = chosen - set(KINDS)
    if unknown or not chosen:
        raise ValueError(f"unknown file kinds {sorted(unknown)}; choose among {KINDS}")
    return chosen


def extensions_for(kinds: Iterable[str]) -> list[str]:
    """The usual extensions of these kinds, for help texts: ['.pdf', '.png', ...]."""
    chosen = _check_kinds(kinds)
    return [ext for t in FILE_TYPES.values() if t.kind in chosen for ext in t.extensions]


def accept_attribute(kinds: Iterable[str]) -> str:
    """For ``<input type="file" accept="...">``: a hint to the browser, checked here."""
    return ",".join(extensions_for(kinds))


# --- Sniffing --------------------------------------------------------------------------

_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE (.exe, .dll, .scr)
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal, Java class
    b"#!",  # script with an interpreter line
)
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_CLSIDS = {
    uuid.UUID("00020906-0000-0000-c000-000000000046"): "doc",  # Word.Document.8
    uuid.UUID("00020900-0000-0000-c000-000000000046"): "doc",  # Word.Document.6
    uuid.UUID("00020820-0000-0000-c000-000000000046"): "xls",  # Excel.Sheet.8
    uuid.UUID("00020810-0000-0000-c000-000000000046"): "xls",  # Excel.Sheet.5
    uuid.UUID("64818d10-4f9b-11cf-86ea-00aa00b929e8"): "ppt",  # PowerPoint.Show.8
}
_MSI_CLSIDS = frozenset(  # Windows Installer packages, patches, transforms: executables
    uuid.UUID(f"000c108{n}-0000-0000-c000-000000000046") for n in (2, 4, 6)
)
_ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_OOXML_PARTS = (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx"))


def _refuse(code: str) -> UploadRefused:
    return UploadRefused(code)


def sniff(fh: IO[bytes], filename: str = "") -> FileType:
    """The type of the file from its content; ``UploadRefused`` when it is empty, an
    executable, a suspicious archive or anything else not in ``FILE_TYPES``.

    ``filename`` only tells .doc from .xls for old Office files whose container does
    not say which they are."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size == 0:
        raise _refuse("empty")
    fh.seek(0)
    head = fh.read(HEAD_BYTES)
    if head.startswith(_EXECUTABLE_MAGIC):
        raise _refuse("executable")
    if head.startswith(b"%PDF-"):
        return FILE_TYPES["pdf"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FILE_TYPES["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return FILE_TYPES["jpeg"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FILE_TYPES["webp"]
    if head.startswith(b"PK\x03\x04"):
        return FILE_TYPES[_zip_type(fh, size)]
    if head.startswith(_OLE2_MAGIC):
        return FILE_TYPES[_ole2_type(fh, filename)]
    raise _refuse("unknown_type")


def _zip_type(fh: IO[bytes], size: int) -> str:
    fh.seek(0)
    try:
        archive = zipfile.ZipFile(fh)  # reads the central directory only
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refuse("corrupt") from None
    with archive:
        entries = archive.infolist()
        check_zip_entries(entries, size)
        names = [e.filename for e in entries]
        first = entries[0] if entries else None
        if (
            first is not None
            and first.filename == "mimetype"
            and first.compress_type == zipfile.ZIP_STORED
            and first.file_size <= 100
        ):
            try:
                mimetype = archive.read(first).strip()  # stored, tiny: no inflation
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                raise _refuse("corrupt") from None
            if mimetype in _ODF_MIMETYPES:
                if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                    raise _refuse("macros")
                return _ODF_MIMETYPES[mimetype]
        if "[Content_Types].xml" in names:
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                raise _refuse("macros")  # .docm, .xlsm... renamed
            for prefix, name in _OOXML_PARTS:
                if any(n.startswith(prefix) for n in names):
                    return name
    raise _refuse("unknown_type")


def check_zip_entries(entries: list[zipfile.ZipInfo], archive_size: int) -> None:
    """Refuse an archive whose central directory announces a bomb: too many entries,
    too much declared data or too high a ratio, entries sharing bytes (overlapping
    "better zip bombs") or pointing past the end."""
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _refuse("archive_suspicious")
    declared = sum(e.file_size for e in entries)
    if declared > MAX_ZIP_UNCOMPRESSED or declared > MAX_ZIP_RATIO * max(archive_size, 1):
        raise _refuse("archive_suspicious")
    end = 0
    for entry in sorted(entries, key=lambda e: e.header_offset):
        if entry.header_offset < end:
            raise _refuse("archive_suspicious")
        # 30 bytes of local header at least: a lower bound of where the next one starts.
        end = entry.header_offset + 30 + entry.compress_size
        if end > archive_size:
            raise _refuse("archive_suspicious")


def _ole2_type(fh: IO[bytes], filename: str) -> str:
    """Old Office files are OLE2 containers; the root entry's class id says which
    program wrote it. Windows Installer packages are OLE2 too, and refused."""
    fh.seek(0)
    header = fh.read(512)
    sector_shift = int.from_bytes(header[30:32], "little")
    if len(header) < 512 or sector_shift not in (9, 12):
        raise _refuse("corrupt")
    first_directory_sector = int.from_bytes(header[48:52], "little")
    fh.seek((first_directory_sector + 1) << sector_shift)
    root = fh.read(128)
    if len(root) < 128 or root[66] != 5:  # object type 5: the root storage
        raise _refuse("corrupt")
    clsid = uuid.UUID(bytes_le=root[80:96])
    if clsid in _MSI_CLSIDS:
        raise _refuse("executable")
    if clsid in _OLE2_CLSIDS:
        return _OLE2_CLSIDS[clsid]
    extension = os.path.splitext(filename)[1].lower()
    for name in ("doc", "xls", "ppt"):
        if extension == f".{name}":
            return name
    raise _refuse("unknown_type")


# --- Names -----------------------------------------------------------------------------

_FORBIDDEN_CHARS = frozenset('<>:"/\\|?*')
# Control, format (bidi overrides, zero-width), surrogate, private, unassigned, separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")


def clean_filename(raw: str, *, max_chars: int = MAX_FILENAME_CHARS) -> str:
    """The name a person gave their file, fit to show and to download: the last path
    segment only, no control or bidi characters, no character Windows refuses, no
    leading dot, accents kept, at most ``max_chars`` characters (extension kept)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    chars = []
    for char in name:
        category = unicodedata.category(char)
        if category in _DROPPED_CATEGORIES:
            continue
        if char in _FORBIDDEN_CHARS:
            chars.append("_")
        elif category.startswith("Z"):
            chars.append(" ")
        else:
            chars.append(char)
    name = re.sub(r"\s+", " ", "".join(chars)).strip(" .")
    match = _EXTENSION.search(name)
    extension = match.group() if match and match.start() > 0 else ""
    stem = name[: len(name) - len(extension)].rstrip(" .")
    if not stem:
        stem = "document"
    if stem.split(".")[0].lower() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    stem = stem[: max(1, max_chars - len(extension))].rstrip(" .") or "document"
    return stem + extension


def name_with_extension(name: str, file_type: FileType) -> str:
    """``rapport.exe`` holding a PDF downloads as ``rapport.exe.pdf``."""
    if name.lower().endswith(file_type.extensions):
        return name
    extension = file_type.extensions[0]
    return clean_filename(name, max_chars=MAX_FILENAME_CHARS - len(extension)) + extension


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="ASCII fallback"; filename*=UTF-8''<percent-encoded>``."""
    name = clean_filename(filename)
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r"[^A-Za-z0-9._ ()-]", "_", fallback)
    fallback = re.sub(r" +", " ", fallback).strip() or "document"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- CSRF ------------------------------------------------------------------------------


def _no_app(*_args: Any) -> None:  # pragma: no cover - never called
    raise RuntimeError("not an application")


def csrf_tokens_match(config: CSRFConfig, token: str | None, cookie: str | None) -> bool:
    """The comparison Litestar's CSRF middleware makes (its own code, not a copy):
    both the submitted token and the cookie carry a valid HMAC of the same secret."""
    if not token or not cookie:
        return False
    return CSRFMiddleware(app=_no_app, config=config)._csrf_tokens_match(token, cookie)


# --- Storage ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What the caller keeps in its own table to find and describe the file."""

    storage_id: str
    filename: str  # cleaned original name, with the extension of its real type
    size: int
    sha256: str
    kind: str
    content_type: str
    field_name: str = ""


@dataclass(frozen=True, slots=True)
class Upload:
    files: tuple[StoredFile, ...]
    fields: dict[str, str]

    def file(self, field_name: str) -> StoredFile | None:
        return next((f for f in self.files if f.field_name == field_name), None)


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never half of it, even after a
    crash: temporary file in the same folder, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStorage:
    """Files under ``root`` (``<data dir>/files``), named by id, outside ``static/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.temp_dir = self.root / "tmp"

    @classmethod
    def from_settings(cls, settings: Settings) -> FileStorage:
        return cls(settings.data_dir / "files")

    @classmethod
    def of_app(cls, app: Litestar) -> FileStorage:
        settings = getattr(app.state, "settings", None)
        if settings is None:
            raise ImproperlyConfiguredException("app.state.settings is needed to store files")
        return cls.from_settings(settings)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def path_of(self, storage_id: str) -> Path:
        """Where the file with this id lives; ``InvalidStorageId`` for anything that is
        not 32 lowercase hex digits (so no id can walk out of the folder)."""
        if not isinstance(storage_id, str) or not _STORAGE_ID.fullmatch(storage_id):
            raise InvalidStorageId(repr(storage_id)[:80])
        return self.root / storage_id[:2] / storage_id[2:4] / storage_id

    def exists(self, storage_id: str) -> bool:
        return self.path_of(storage_id).is_file()

    def delete(self, storage_id: str) -> bool:
        """Remove the file; False when it was not there."""
        try:
            self.path_of(storage_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def open(self, storage_id: str) -> IO[bytes]:
        return self.path_of(storage_id).open("rb")

    def new_temp(self) -> tuple[Path, IO[bytes]]:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.temp_dir, suffix=".part")
        return Path(name), os.fdopen(fd, "wb")

    def place(self, temp: Path, storage_id: str) -> Path:
        """Move a finished, fsynced temporary file to its final name (same filesystem:
        an atomic rename)."""
        final = self.path_of(storage_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        _fsync_dir(final.parent)
        return final

    def purge_partials(self, older_than_s: float = 3600) -> int:
        """Remove temporary files left by a crash mid-upload; returns how many.
        ``guichet serve`` removes them all (``older_than_s=0``) before it starts."""
        if not self.temp_dir.is_dir():
            return 0
        limit = time.time() - older_than_s
        removed = 0
        for path in self.temp_dir.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
        return removed

    def stored_ids(self) -> Iterator[str]:
        """The id of every stored file (temporary files aside), read from the disk."""
        if not self.root.is_dir():
            return
        for first in self.root.iterdir():
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in first.iterdir():
                if len(second.name) != 2 or not second.is_dir():
                    continue
                for path in second.iterdir():
                    name = path.name
                    if _STORAGE_ID.fullmatch(name) and name[:4] == first.name + second.name:
                        yield name

    def remove_unreferenced(self, referenced: Collection[str], *, placed_since: float) -> int:
        """Remove the stored files placed since ``placed_since`` (a timestamp) that no
        record names; returns how many.

        A file is placed before the transaction that records it commits, so a crash in
        between leaves it behind. Only safe while nothing else stores files: ``guichet
        serve`` runs it before it starts serving, for what its previous run placed (see
        ``app.recovery``)."""
        keep = set(referenced)
        removed = 0
        for storage_id in list(self.stored_ids()):
            if storage_id in keep:
                continue
            path = self.path_of(storage_id)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime >= placed_since and self.delete(storage_id):
                    removed += 1
        return removed

    def store_bytes(
        self, data: bytes, *, filename: str, kinds: Iterable[str] = KINDS
    ) -> StoredFile:
        """Store content the application already holds (generated letters, demo data),
        with the same checks as an upload. Blocking: from async code, run it in a
        thread (``anyio.to_thread.run_sync``)."""
        allowed = _check_kinds(kinds)
        temp, fh = self.new_temp()
        try:
            with fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            name = clean_filename(filename)
            with temp.open("rb") as reader:
                file_type = sniff(reader, name)
            if file_type.kind not in allowed:
                raise UploadRefused("kind_not_allowed", filename=name)
            storage_id = self.new_id()
            self.place(temp, storage_id)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StoredFile(
            storage_id=storage_id,
            filename=name_with_extension(name, file_type),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            kind=file_type.kind,
            content_type=file_type.content_type,
        )

    def download(self, storage_id: str, *, filename: str, content_type: str) -> File:
        """A download of a stored file as an attachment, never shown inline.

        Give it the name and type recorded at upload; a type outside ``FILE_TYPES`` is
        sent as ``application/octet-stream``. 404 when the file is not there."""
        try:
            path = self.path_of(storage_id)
        except InvalidStorageId:
            raise NotFoundException() from None
        if not path.is_file():
            raise NotFoundException()
        media_type = content_type if content_type in _CONTENT_TYPES else "application/octet-stream"
        return File(
            path=path,
            filename=clean_filename(filename),
            media_type=media_type,
            content_disposition_type="attachment",
            headers={
                "content-disposition": content_disposition(filename),
                "x-content-type-options": "nosniff",
            },
        )


# --- Receiving an upload ---------------------------------------------------------------


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
        max_field_bytes: int,
        verify_token: Callable[[str], bool],
        verified_token: str | None,
        declared_too_large: int | None = None,
    ) -> None:
        self.storage = storage
        self.max_bytes = max_bytes
        self.file_fields = file_fields
        self.text_fields = text_fields
        self.max_files = max_files
        self.max_field_bytes = max_field_bytes
        self.max_parts = max_files + len(text_fields) + 20
        self.verify_token = verify_token
        self.verified_token = verified_token
        # Content-Length says the files cannot fit: refused when the first one begins,
        # before a byte of it is read (the text fields before it are kept).
        self.declared_too_large = declared_too_large
        self.closing = 0  # the closing boundary's length (\r\n--boundary--\r\n)
        self.fed = 0  # bytes of the body before the chunk being parsed
        self.parts_seen = 0
        self.files_seen = 0
        self.headers: dict[bytes, bytes] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.part: _Part | None = None
        self.fields: dict[str, str] = {}
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
            self.fields[part.name] = value.replace("\r\n", "\n").replace("\x00", "")
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


def body_limit(max_bytes: int, max_files: int = 1) -> int:
    """For the route's ``request_max_body_size``: the files plus room for the rest."""
    return max_bytes * max_files + MULTIPART_OVERHEAD


def declared_bytes(request: Request[Any, Any, Any]) -> int | None:
    """The body's size from Content-Length, None without one (chunked)."""
    value = request.headers.get("content-length", "").strip()
    return int(value) if is_digits(value) and len(value) < 19 else None


def declared_file_bytes(request: Request[Any, Any, Any]) -> int:
    """The least the files of this body weigh by its Content-Length: the body less the
    room ``body_limit`` gives the rest of a form; 0 when unknown or nothing is left."""
    declared = declared_bytes(request)
    return max(0, declared - MULTIPART_OVERHEAD) if declared is not None else 0


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
) -> Upload:
    """Read a multipart form from the request stream and store its files.

    The route must be declared with ``opt={"exclude_from_csrf": True}`` and a
    ``request_max_body_size`` of at least ``body_limit(max_bytes, max_files)``; the
    CSRF token is checked here (header, or the form's first field). Each file is at most
    ``max_bytes`` and of one of ``kinds``; ``text_fields`` are returned as strings,
    other text fields ignored, a file in a field not in ``file_fields`` refused. A file
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
    allowed = _check_kinds(kinds)
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
        and body_limit(max_bytes, max_files) < declared
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
        verify_token=lambda token: csrf_tokens_match(csrf, token, cookie),
        verified_token=header_token or None,
        declared_too_large=declared if too_large else None,
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
        raise
    ScopeState.from_scope(request.scope).csrf_token = receiver.verified_token
    return Upload(files=tuple(stored), fields=receiver.fields)
