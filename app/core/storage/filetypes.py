"""What a file is, read from its content (magic bytes, the ZIP central directory of
office documents, the class id of old Office containers), never from its name or the
client's content type; the kinds a form may accept and their usual extensions."""

from __future__ import annotations

import os
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from app.core.storage.archives import check_zip_entries
from app.core.storage.errors import UploadRefused

HEAD_BYTES = 8192

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
CONTENT_TYPES = frozenset(t.content_type for t in FILE_TYPES.values())


def check_kinds(kinds: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(kinds)
    unknown = chosen - set(KINDS)
    if unknown or not chosen:
        raise ValueError(f"unknown file kinds {sorted(unknown)}; choose among {KINDS}")
    return chosen


def extensions_for(kinds: Iterable[str]) -> list[str]:
    """The usual extensions of these kinds, for help texts: ['.pdf', '.png', ...]."""
    chosen = check_kinds(kinds)
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


def sniff(fh: IO[bytes], filename: str = "") -> FileType:
    """The type of the file from its content; ``UploadRefused`` when it is empty, an
    executable, a suspicious archive or anything else not in ``FILE_TYPES``.

    ``filename`` only tells .doc from .xls for old Office files whose container does
    not say which they are."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    if size == 0:
        raise UploadRefused("empty")
    fh.seek(0)
    head = fh.read(HEAD_BYTES)
    if head.startswith(_EXECUTABLE_MAGIC):
        raise UploadRefused("executable")
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
    raise UploadRefused("unknown_type")


def _zip_type(fh: IO[bytes], size: int) -> str:
    fh.seek(0)
    try:
        archive = zipfile.ZipFile(fh)  # reads the central directory only
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UploadRefused("corrupt") from None
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
                raise UploadRefused("corrupt") from None
            if mimetype in _ODF_MIMETYPES:
                if any(n.startswith(("Basic/", "Scripts/")) for n in names):
                    raise UploadRefused("macros")
                return _ODF_MIMETYPES[mimetype]
        if "[Content_Types].xml" in names:
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                raise UploadRefused("macros")  # .docm, .xlsm... renamed
            for prefix, name in _OOXML_PARTS:
                if any(n.startswith(prefix) for n in names):
                    return name
    raise UploadRefused("unknown_type")


def _ole2_type(fh: IO[bytes], filename: str) -> str:
    """Old Office files are OLE2 containers; the root entry's class id says which
    program wrote it. Windows Installer packages are OLE2 too, and refused."""
    fh.seek(0)
    header = fh.read(512)
    sector_shift = int.from_bytes(header[30:32], "little")
    if len(header) < 512 or sector_shift not in (9, 12):
        raise UploadRefused("corrupt")
    first_directory_sector = int.from_bytes(header[48:52], "little")
    fh.seek((first_directory_sector + 1) << sector_shift)
    root = fh.read(128)
    if len(root) < 128 or root[66] != 5:  # object type 5: the root storage
        raise UploadRefused("corrupt")
    clsid = uuid.UUID(bytes_le=root[80:96])
    if clsid in _MSI_CLSIDS:
        raise UploadRefused("executable")
    if clsid in _OLE2_CLSIDS:
        return _OLE2_CLSIDS[clsid]
    extension = os.path.splitext(filename)[1].lower()
    for name in ("doc", "xls", "ppt"):
        if extension == f".{name}":
            return name
    raise UploadRefused("unknown_type")
