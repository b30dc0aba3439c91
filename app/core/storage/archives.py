"""Archive checks: a ZIP container (office documents) is judged on its central
directory alone, never inflated, so a zip bomb is refused on what it declares."""

from __future__ import annotations

import zipfile

from app.core.storage.errors import UploadRefused

MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_UNCOMPRESSED = 512 * 1024 * 1024
MAX_ZIP_RATIO = 100  # declared uncompressed total / archive size; office files stay below 20


def check_zip_entries(entries: list[zipfile.ZipInfo], archive_size: int) -> None:
    """Refuse an archive whose central directory announces a bomb: too many entries,
    too much declared data or too high a ratio, entries sharing bytes (overlapping
    "better zip bombs") or pointing past the end."""
    if len(entries) > MAX_ZIP_ENTRIES:
        raise UploadRefused("archive_suspicious")
    declared = sum(e.file_size for e in entries)
    if declared > MAX_ZIP_UNCOMPRESSED or declared > MAX_ZIP_RATIO * max(archive_size, 1):
        raise UploadRefused("archive_suspicious")
    end = 0
    for entry in sorted(entries, key=lambda e: e.header_offset):
        if entry.header_offset < end:
            raise UploadRefused("archive_suspicious")
        # 30 bytes of local header at least: a lower bound of where the next one starts.
        end = entry.header_offset + 30 + entry.compress_size
        if end > archive_size:
            raise UploadRefused("archive_suspicious")
