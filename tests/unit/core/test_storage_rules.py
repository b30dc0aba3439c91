"""Upload rules without HTTP: type sniffing, names, zip bombs, executables, ids."""

from __future__ import annotations

import io
import os
import struct
import uuid
import zipfile
from pathlib import Path

import pytest

from app.core import storage
from app.core.storage import (
    FileStorage,
    InvalidStorageId,
    UploadRefused,
    archives,
    clean_filename,
    content_disposition,
    name_with_extension,
    sniff,
)

# --- Samples ---------------------------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20


def zip_bytes(entries: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (name, data) in enumerate(entries):
            kind = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=kind)
    return buffer.getvalue()


def ooxml(part: str = "word/document.xml", *extra: str) -> bytes:
    entries = [
        ("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
        ("_rels/.rels", b"<Relationships/>"),
        (part, b"<document>Bonjour</document>"),
    ]
    entries += [(name, b"x") for name in extra]
    return zip_bytes(entries)


def odf(mimetype: bytes = b"application/vnd.oasis.opendocument.text", *extra: str) -> bytes:
    entries = [("mimetype", mimetype), ("content.xml", b"<office:document-content/>")]
    entries += [(name, b"x") for name in extra]
    return zip_bytes(entries, stored_first=True)


def ole2(clsid: uuid.UUID) -> bytes:
    """A minimal OLE2 container: header, then one directory sector with the root."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[30:32] = struct.pack("<H", 9)  # 512-byte sectors
    header[48:52] = struct.pack("<I", 0)  # first directory sector
    root = bytearray(128)
    root[0:22] = "Root Entry".encode("utf-16-le") + b"\x00\x00"
    root[66] = 5
    root[80:96] = clsid.bytes_le
    return bytes(header) + bytes(root) + b"\x00" * 384


def sniffed(data: bytes, filename: str = ""):
    return sniff(io.BytesIO(data), filename)


def refusal(data: bytes, filename: str = "") -> str:
    with pytest.raises(UploadRefused) as caught:
        sniffed(data, filename)
    assert caught.value.status_code == 422
    return caught.value.code


# --- Sniffing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "kind", "content_type"),
    [
        (PDF, "pdf", "pdf", "application/pdf"),
        (PNG, "png", "image", "image/png"),
        (JPEG, "jpeg", "image", "image/jpeg"),
        (WEBP, "webp", "image", "image/webp"),
        (
            ooxml("word/document.xml"),
            "docx",
            "office",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            ooxml("xl/workbook.xml"),
            "xlsx",
            "office",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            ooxml("ppt/presentation.xml"),
            "pptx",
            "office",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (odf(), "odt", "opendocument", "application/vnd.oasis.opendocument.text"),
        (
            odf(b"application/vnd.oasis.opendocument.spreadsheet"),
            "ods",
            "opendocument",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (
            ole2(uuid.UUID("00020906-0000-0000-c000-000000000046")),
            "doc",
            "legacy_office",
            "application/msword",
        ),
        (
            ole2(uuid.UUID("00020820-0000-0000-c000-000000000046")),
            "xls",
            "legacy_office",
            "application/vnd.ms-excel",
        ),
    ],
)
def test_types_are_read_from_the_content(data, name, kind, content_type):
    # The name says nothing: every sample is called "scan.bin".
    file_type = sniffed(data, "scan.bin")
    assert (file_type.name, file_type.kind, file_type.content_type) == (name, kind, content_type)


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100,  # Windows .exe
        b"\x7fELF\x02\x01\x01" + b"\x00" * 100,
        b"\xcf\xfa\xed\xfe" + b"\x00" * 100,  # Mach-O
        b"#!/bin/sh\nrm -rf /\n",
    ],
)
def test_an_executable_named_pdf_is_refused(data):
    assert refusal(data, "facture.pdf") == "executable"


def test_a_windows_installer_in_an_ole2_container_is_refused_even_named_doc():
    msi = ole2(uuid.UUID("000c1084-0000-0000-c000-000000000046"))
    assert refusal(msi, "statuts.doc") == "executable"


def test_an_ole2_file_of_unknown_class_is_judged_by_its_extension():
    unknown = ole2(uuid.UUID(int=0))
    assert sniffed(unknown, "budget.xls").name == "xls"
    assert refusal(unknown, "budget.msg") == "unknown_type"


def test_an_empty_file_is_refused():
    assert refusal(b"", "vide.pdf") == "empty"


@pytest.mark.parametrize(
    "data",
    [
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"GIF89a" + b"\x00" * 20,
        b"Nom;Montant\nPoleS;200000\n",
        b" %PDF-1.7 (the magic must come first)",
    ],
)
def test_anything_else_is_an_unknown_type(data):
    assert refusal(data, "document.pdf") == "unknown_type"


def test_a_zip_that_is_not_an_office_document_is_refused():
    assert refusal(zip_bytes([("photo.jpg", JPEG)]), "archive.docx") == "unknown_type"


def test_a_truncated_zip_is_corrupt():
    assert refusal(ooxml()[:-30], "budget.docx") == "corrupt"


def test_macros_are_refused_in_office_and_opendocument_files():
    assert refusal(ooxml("word/document.xml", "word/vbaProject.bin")) == "macros"
    assert refusal(odf(b"application/vnd.oasis.opendocument.text", "Basic/script.xml")) == (
        "macros"
    )


def test_a_compressed_mimetype_entry_is_not_opendocument():
    entries = [("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"x")]
    assert refusal(zip_bytes(entries), "texte.odt") == "unknown_type"


def test_a_zip_bomb_named_docx_is_refused_without_inflating_it(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("word/document.xml", "w") as entry:
            for _ in range(32):  # 32 MB of zeros, about 32 KB once deflated
                entry.write(bytes(1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 100_000

    def no_inflating(*_args, **_kwargs):
        raise AssertionError("the archive was inflated")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_inflating)
    assert refusal(data, "budget.docx") == "archive_suspicious"


def test_an_archive_declaring_more_than_the_total_limit_is_refused(monkeypatch):
    monkeypatch.setattr(archives, "MAX_ZIP_UNCOMPRESSED", 50)
    assert refusal(ooxml()) == ("archive_suspicious")


def test_overlapping_entries_are_refused():
    """A "better zip bomb" points many central directory entries at the same bytes."""
    data = bytearray(ooxml())
    central = data.index(b"PK\x01\x02")
    second = data.index(b"PK\x01\x02", central + 4)
    data[second + 42 : second + 46] = struct.pack("<I", 0)  # same local header as the first
    assert refusal(bytes(data), "budget.docx") == "archive_suspicious"


def test_too_many_entries_are_refused(monkeypatch):
    monkeypatch.setattr(archives, "MAX_ZIP_ENTRIES", 5)
    assert refusal(ooxml("word/document.xml", *[f"word/{i}.xml" for i in range(10)])) == (
        "archive_suspicious"
    )


# --- Kinds -----------------------------------------------------------------------------


def test_the_vocabulary_of_kinds_gives_the_usual_extensions():
    assert storage.extensions_for({"pdf"}) == [".pdf"]
    assert storage.extensions_for({"image", "office"}) == [
        ".png",
        ".jpg",
        ".jpeg",
        ".webp",
        ".docx",
        ".xlsx",
        ".pptx",
    ]
    assert storage.accept_attribute({"pdf", "opendocument"}) == ".pdf,.odt,.ods,.odp"
    with pytest.raises(ValueError, match="unknown file kinds"):
        storage.extensions_for({"pdf", "exe"})


# --- Names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Statuts signés 2016.pdf", "Statuts signés 2016.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system32\\cmd.exe", "cmd.exe"),
        ("C:\\Users\\Élodie\\Bureau\\budget prévisionnel.xlsx", "budget prévisionnel.xlsx"),
        ("..", "document"),
        ("", "document"),
        (".htaccess", "htaccess"),
        ("rapport\r\nSet-Cookie: x=1.pdf", "rapportSet-Cookie_ x=1.pdf"),
        ('dé"vis<1>|?*.pdf', "dé_vis_1____.pdf"),
        ("facture\u202efdp.exe", "facturefdp.exe"),  # right-to-left override dropped
        ("zéro\u200blargeur.pdf", "zérolargeur.pdf"),
        ("  espaces   multiples  .pdf", "espaces multiples.pdf"),
        ("con.txt", "_con.txt"),
        ("NUL", "_NUL"),
        ("e\u0301te\u0301.pdf", "été.pdf"),  # decomposed accents recomposed (NFC)
    ],
)
def test_filenames_are_cleaned_for_display_and_download(raw, clean):
    assert clean_filename(raw) == clean


def test_long_filenames_are_cut_keeping_the_extension():
    name = clean_filename("é" * 300 + ".pdf")
    assert len(name) == 120
    assert name.endswith("é.pdf")


def test_the_real_type_decides_the_extension():
    pdf = storage.FILE_TYPES["pdf"]
    assert name_with_extension("rapport.exe", pdf) == "rapport.exe.pdf"
    assert name_with_extension("scan", pdf) == "scan.pdf"
    assert name_with_extension("Rapport.PDF", pdf) == "Rapport.PDF"
    jpeg = storage.FILE_TYPES["jpeg"]
    assert name_with_extension("photo.jpeg", jpeg) == "photo.jpeg"


def test_content_disposition_is_an_attachment_with_utf8_name_and_ascii_fallback():
    header = content_disposition('budget "prévisionnel"\r\n.pdf')
    assert "\r" not in header and "\n" not in header
    assert header == (
        'attachment; filename="budget _previsionnel_.pdf"; '
        "filename*=UTF-8''budget%20_pr%C3%A9visionnel_.pdf"
    )
    assert content_disposition("../../etc/passwd").endswith("filename*=UTF-8''passwd")


# --- Storage ids and files -------------------------------------------------------------


def test_path_of_refuses_anything_but_an_id(tmp_path):
    files = FileStorage(tmp_path / "files")
    good = uuid.uuid4().hex
    assert files.path_of(good) == tmp_path / "files" / good[:2] / good[2:4] / good
    for bad in ("../../etc/passwd", good.upper(), good[:-1], good + "0", f"{good[:30]}/x", ""):
        with pytest.raises(InvalidStorageId):
            files.path_of(bad)


def test_store_bytes_checks_the_type_and_leaves_nothing_on_refusal(tmp_path):
    files = FileStorage(tmp_path / "files")
    stored = files.store_bytes(PDF, filename="Accusé de réception")
    assert stored.filename == "Accusé de réception.pdf"
    assert stored.kind == "pdf"
    assert files.path_of(stored.storage_id).read_bytes() == PDF
    with pytest.raises(UploadRefused) as caught:
        files.store_bytes(PNG, filename="logo.png", kinds={"pdf"})
    assert caught.value.code == "kind_not_allowed"
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [stored.storage_id]
    assert files.delete(stored.storage_id) is True
    assert files.delete(stored.storage_id) is False


def test_purge_partials_removes_only_old_temporary_files(tmp_path):
    files = FileStorage(tmp_path / "files")
    old, writer = files.new_temp()
    writer.close()
    os.utime(old, (1, 1))
    recent, writer = files.new_temp()
    writer.close()
    assert files.purge_partials(older_than_s=3600) == 1
    assert not old.exists() and recent.exists()


def test_write_atomically_replaces_the_whole_file(tmp_path):
    target = tmp_path / "letters" / "a.pdf"
    storage.write_atomically(target, b"first")
    storage.write_atomically(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["a.pdf"]


def test_samples_are_what_they_claim(tmp_path):
    """The office samples above open as real archives (guards the tests themselves)."""
    for data in (ooxml(), odf()):
        path = Path(tmp_path / "sample.zip")
        path.write_bytes(data)
        assert zipfile.is_zipfile(path)


# --- CSRF token of the streamed upload routes ---------------------------------------------


def _csrf(secret: str = "s" * 40):
    from litestar.config.csrf import CSRFConfig

    return CSRFConfig(secret=secret)


def test_a_token_matches_the_cookie_litestar_set_with_the_same_secret():
    from litestar.middleware.csrf import generate_csrf_token

    config = _csrf()
    cookie = generate_csrf_token(config.secret)
    assert storage.csrf_tokens_match(config, cookie, cookie)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t, _: "", id="empty"),
        pytest.param(lambda t, _: t[:64], id="secret part only"),
        pytest.param(lambda t, _: t[:-1] + ("0" if t[-1] != "0" else "1"), id="signature changed"),
        pytest.param(lambda t, _: ("0" if t[0] != "0" else "1") + t[1:], id="secret changed"),
        pytest.param(lambda t, other: other, id="another token of this server"),
        pytest.param(lambda t, _: t[:70] + "é" + t[71:], id="non-ASCII"),
        pytest.param(lambda t, _: "forged" * 20, id="forged"),
    ],
)
def test_a_token_that_is_not_the_cookies_is_refused(mangle):
    from litestar.middleware.csrf import generate_csrf_token

    config = _csrf()
    cookie = generate_csrf_token(config.secret)
    other = generate_csrf_token(config.secret)
    assert not storage.csrf_tokens_match(config, mangle(cookie, other), cookie)
    assert not storage.csrf_tokens_match(config, cookie, mangle(cookie, other) or None)


def test_a_token_signed_with_another_secret_is_refused():
    from litestar.middleware.csrf import generate_csrf_token

    config = _csrf()
    foreign = generate_csrf_token("another-secret-" + "y" * 32)
    assert not storage.csrf_tokens_match(config, foreign, foreign)
