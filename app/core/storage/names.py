"""File names: what a person called their file, made fit to show and to download."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from app.core.storage.filetypes import FileType

MAX_FILENAME_CHARS = 120

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
