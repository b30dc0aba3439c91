"""The corpus of hostile inputs, shared by the tests that send it through the app's
forms and query strings, and the checks that it came back inert."""

from __future__ import annotations

import html
import io

import pytest

# name -> text: markup, template syntax, reportlab markup, SQL, header injection,
# bidi/zero-width/CJK/emoji, a NUL byte, and a text longer than any field allows.
CORPUS = {
    "script": "<script>alert('x')</script>",
    "template": "{{7*7}} {% raw %} ${7*7}",
    "markup": "<font color=red>rouge</font> <para>",
    "sql": "'; DROP TABLE letter; --",
    "crlf": "ligne 1\r\nSet-Cookie: pris=1",
    "unicode": "\u202eàrebours\u200b zéro-largeur 漢字 😀",
    "nul": "nul\x00octet",
    "long": "x" * 5000,
}
HOSTILE = list(CORPUS.values())

# For fields that hold a number, an amount, a date, an identifier or a choice: markup
# with SQL, a header injection, and the values that trip parsers (digits int() refuses,
# more digits than int() converts or a database integer holds, the ends of the calendar).
ODD_VALUES = {
    "script_sql": "<script>alert('x')</script>'; DROP TABLE letter; --",
    "crlf": CORPUS["crlf"],
    "superscript": "²³",
    "digits5000": "9" * 5000,
    "digits30": "9" * 30,
    "year1": "0001-01-01",
    "year9999": "9999-12-31T23:59",
}

# What must be read, as HTML source, where each text is shown (escaped; the long one may
# be cut to the field's limit).
EVIDENCE = {
    "script": html.escape("<script>alert(", quote=False),
    "template": "{{7*7}}",
    "markup": "&lt;font color=red&gt;rouge&lt;/font&gt;",
    "sql": "DROP TABLE letter; --",
    "crlf": "Set-Cookie: pris=1",
    "unicode": "zéro-largeur 漢字 😀",
    "nul": "nuloctet",
    "long": "x" * 100,
}


def params(corpus: dict[str, str]) -> list:
    """pytest parameters named after the corpus entries."""
    return [pytest.param(name, text, id=name) for name, text in corpus.items()]


def never_markup(page: str) -> None:
    """No text of the corpus appears as markup."""
    assert "<script>alert" not in page
    assert "<font color=red>" not in page
    assert "<para>" not in page


def inert(page: str, text: str) -> None:
    """The text never appears as markup (tags escaped), and template syntax is shown
    as typed, not evaluated."""
    never_markup(page)
    if text.startswith("<script>"):
        assert html.escape("<script>alert(", quote=False) in page
    if text.startswith("{{7*7}}"):
        assert "{{7*7}}" in page


def pdf_text(data: bytes) -> str:
    """The text of a PDF, pages joined."""
    import pypdf

    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
