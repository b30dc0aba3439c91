"""The one base for every PDF Guichet writes: fonts, letterhead, letter layout.

Letters are A4 in the French administrative layout: sender's letterhead at the top
left, addressee block on the right (where a window envelope shows it), place and date,
references and « Objet », the body, a signature block on the right, and « Page N / M »
at the foot of every page.

Two rules hold everywhere:

- Text is set in DejaVu Sans, bundled in ``app/core/fonts`` and embedded (subset) in
  every file: reportlab's built-in fonts lack U+202F, the narrow no-break space of
  « 200 000,00 € ». Characters the font lacks become U+FFFD rather than blank boxes.
- Every string that comes from outside this module is escaped before it meets
  reportlab's paragraph mini-markup (``paragraph``, ``escape``); user text never goes
  into a tag attribute (colour, link, font).

Callers pass every word already translated; nothing here reads the database.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _xml_escape  # nosec B406  # escapes text, parses nothing

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import paragraph as rl_paragraph

from app.core.storage import write_atomically

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_MONO = "DejaVuSansMono"
_FONT_FILES = {
    FONT: "DejaVuSans.ttf",
    FONT_BOLD: "DejaVuSans-Bold.ttf",
    FONT_MONO: "DejaVuSansMono.ttf",
}

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 20 * mm
MARGIN_TOP = 15 * mm
MARGIN_BOTTOM = 22 * mm
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
GREY = colors.HexColor("#555555")
RULE = colors.HexColor("#B0B0B0")
HEADER_FILL = colors.HexColor("#EEEEEE")
REPLACEMENT = "\ufffd"


# --- Fonts -----------------------------------------------------------------------------


_NO_BREAK_SPACES = "\u00a0\u202f"
_BREAKING_SPACES = re.compile(
    "[" + re.escape("".join(c for c in rl_paragraph._wsc if c not in _NO_BREAK_SPACES)) + "]+"
)


def _split_words(text: str | bytes, delim: str | bytes | None = None) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf8")
    if isinstance(delim, bytes):
        delim = delim.decode("utf8")
    return _BREAKING_SPACES.split(text) if delim is None else text.split(delim)


def _keep_no_break_spaces() -> None:
    """reportlab's Paragraph breaks lines at U+202F (it lists it among its breaking
    spaces) and draws it as a plain space, so « 200 000,00 € » could be cut after
    « 200 ». Its word splitter already spares U+00A0 (when the text holds one); this
    one spares both, always. Patched once, at font registration; a test guards it."""
    if getattr(rl_paragraph.split, "__name__", "") != _split_words.__name__:
        rl_paragraph.split = _split_words


@cache
def register_fonts() -> None:
    """Register DejaVu Sans (regular, bold) as one family, and DejaVu Sans Mono.

    ``<i>`` has no italic face to use and stays upright; letters do not need one."""
    _keep_no_break_spaces()
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )
    pdfmetrics.registerFontFamily(
        FONT_MONO, normal=FONT_MONO, bold=FONT_MONO, italic=FONT_MONO, boldItalic=FONT_MONO
    )


@cache
def covered_characters() -> frozenset[int]:
    """Code points both text faces (regular, bold) can draw. (The mono face only ever
    shows hexadecimal fingerprints.)"""
    register_fonts()
    faces = [pdfmetrics.getFont(name).face for name in (FONT, FONT_BOLD)]  # type: ignore[attr-defined]
    common = set(faces[0].charToGlyph)
    for face in faces[1:]:
        common &= set(face.charToGlyph)
    return frozenset(common)


# --- Text ------------------------------------------------------------------------------


def printable(text: str) -> str:
    """The text with control and invisible format characters dropped (tabs become
    spaces, line breaks kept) and characters the font cannot draw replaced by U+FFFD."""
    covered = covered_characters()
    out = []
    for char in unicodedata.normalize("NFC", str(text)):
        if char == "\t":
            out.append(" ")
        elif char == "\n":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cs", "Cf"):
            continue  # controls; invisible format marks (bidi overrides, zero-width)
        elif ord(char) in covered:
            out.append(char)
        else:
            out.append(REPLACEMENT)
    return "".join(out)


def escape(text: str) -> str:
    """User text made safe for reportlab's paragraph markup: ``& < > " '`` as
    entities, line breaks as ``<br/>``."""
    safe = _xml_escape(printable(text), {'"': "&quot;", "'": "&#39;"})
    return safe.replace("\r\n", "\n").replace("\n", "<br/>")


@cache
def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle(
        "body", fontName=FONT, fontSize=10, leading=14, alignment=TA_JUSTIFY, spaceAfter=6
    )
    return {
        "body": body,
        "left": ParagraphStyle("left", parent=body, alignment=TA_LEFT),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT, spaceAfter=0),
        "small": ParagraphStyle(
            "small", parent=body, fontSize=8.5, leading=11, alignment=TA_LEFT, spaceAfter=0
        ),
        "funder": ParagraphStyle(
            "funder", parent=body, fontName=FONT_BOLD, fontSize=13, leading=16, spaceAfter=2
        ),
        "letterhead": ParagraphStyle(
            "letterhead",
            parent=body,
            fontSize=8.5,
            leading=11,
            textColor=GREY,
            alignment=TA_LEFT,
            spaceAfter=0,
        ),
        "addressee": ParagraphStyle(
            "addressee", parent=body, fontSize=10.5, leading=14, alignment=TA_LEFT, spaceAfter=0
        ),
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=14,
            leading=18,
            alignment=TA_CENTER,
            spaceBefore=4,
            spaceAfter=10,
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=11,
            leading=15,
            alignment=TA_LEFT,
            spaceBefore=8,
            spaceAfter=4,
        ),
        "cell": ParagraphStyle(
            "cell", parent=body, fontSize=9, leading=12, alignment=TA_LEFT, spaceAfter=0
        ),
        "cell_bold": ParagraphStyle(
            "cell_bold",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=9,
            leading=12,
            alignment=TA_LEFT,
            spaceAfter=0,
        ),
        "cell_right": ParagraphStyle(
            "cell_right", parent=body, fontSize=9, leading=12, alignment=TA_RIGHT, spaceAfter=0
        ),
        "cell_bold_right": ParagraphStyle(
            "cell_bold_right",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=9,
            leading=12,
            alignment=TA_RIGHT,
            spaceAfter=0,
        ),
        "mono": ParagraphStyle(
            "mono",
            parent=body,
            fontName=FONT_MONO,
            fontSize=8.5,
            leading=12,
            alignment=TA_LEFT,
            spaceAfter=0,
        ),
    }


def paragraph(text: str, style: str | ParagraphStyle = "body") -> Paragraph:
    """A paragraph of plain text: always escaped, so ``<b>`` shows as ``<b>``."""
    return Paragraph(escape(text), _style(style))


def labelled(label: str, value: str, style: str | ParagraphStyle = "left") -> Paragraph:
    """« **Objet :** value », both parts plain text (escaped here)."""
    return Paragraph(f"<b>{escape(label)}</b> {escape(value)}", _style(style))


def _style(style: str | ParagraphStyle) -> ParagraphStyle:
    return styles()[style] if isinstance(style, str) else style


# --- Letters ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Letterhead:
    """Who writes: the funder. ``logo_path`` is a PNG or JPEG file we hold (never a
    path taken from a request)."""

    name: str
    address_lines: Sequence[str] = ()
    contact_lines: Sequence[str] = ()
    logo_path: Path | None = None


def _logo(path: Path, max_width: float = 50 * mm, max_height: float = 18 * mm) -> Image:
    width, height = ImageReader(str(path)).getSize()
    scale = min(max_width / width, max_height / height)
    logo = Image(str(path), width=width * scale, height=height * scale)
    logo.hAlign = "LEFT"
    return logo


def _numbered_canvas(draw_footer: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas that holds its pages until the end, to write « Page N / M » on each."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                draw_footer(self, self._pageNumber, total)
                super().showPage()
            super().save()

    return NumberedCanvas


@dataclass
class LetterBuilder:
    """Collects the parts of a letter in reading order, then ``build()`` gives bytes.

    Every method takes plain text; the letterhead opens the first page by itself."""

    letterhead: Letterhead
    title: str  # the PDF's title (metadata)
    footer_text: str = ""  # left of the footer, e.g. « Région … — Réf. IDF-2017-0042 »
    page_label: str = "Page {page} / {pages}"
    lang: str = "fr"
    author: str = ""
    subject: str = ""
    landscape: bool = False  # A4 on its side, for wide tables (an annex)
    story: list[Flowable] = field(default_factory=list)

    def __post_init__(self) -> None:
        register_fonts()
        self.story.append(self._letterhead_block())

    # Layout blocks, in the order a letter has them.

    def _letterhead_block(self) -> Flowable:
        head = self.letterhead
        parts: list[Flowable] = []
        if head.logo_path is not None:
            parts += [_logo(head.logo_path), Spacer(1, 2 * mm)]
        parts.append(paragraph(head.name, "funder"))
        parts += [paragraph(line, "letterhead") for line in head.address_lines]
        parts += [paragraph(line, "letterhead") for line in head.contact_lines]
        block = Table([[parts]], colWidths=[95 * mm], hAlign="LEFT")
        block.setStyle(_layout_style(("LEFTPADDING", (0, 0), (-1, -1), 0)))
        return block

    def addressee(self, lines: Sequence[str]) -> None:
        """The addressee, in the right half (window envelope position)."""
        cells = [paragraph(line, "addressee") for line in lines if line]
        block = Table([["", cells]], colWidths=[TEXT_WIDTH - 80 * mm, 80 * mm])
        block.setStyle(
            _layout_style(
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6 * mm),
            )
        )
        self.story.append(block)

    def place_and_date(self, text: str) -> None:
        """« Paris, le 17 mars 2017 », aligned right."""
        self.story += [paragraph(text, "right"), Spacer(1, 6 * mm)]

    def references(self, pairs: Sequence[tuple[str, str]]) -> None:
        """« Réf. : IDF-2017-0042 » lines: (label, value)."""
        self.story += [labelled(label, value) for label, value in pairs]

    def subject_line(self, label: str, text: str) -> None:
        self.story += [labelled(label, text), Spacer(1, 5 * mm)]

    def document_title(self, text: str) -> None:
        self.story.append(paragraph(text, "title"))

    def heading(self, text: str) -> None:
        self.story.append(paragraph(text, "heading"))

    def paragraph(self, text: str) -> None:
        self.story.append(paragraph(text))

    def paragraphs(self, texts: Sequence[str]) -> None:
        for text in texts:
            self.paragraph(text)

    def spacer(self, height_mm: float) -> None:
        self.story.append(Spacer(1, height_mm * mm))

    @property
    def page_size(self) -> tuple[float, float]:
        return (PAGE_HEIGHT, PAGE_WIDTH) if self.landscape else (PAGE_WIDTH, PAGE_HEIGHT)

    def table(
        self,
        rows: Sequence[Sequence[str]],
        *,
        header: Sequence[str] | None = None,
        col_widths: Sequence[float] | None = None,
        mono_columns: Sequence[int] = (),
        right_columns: Sequence[int] = (),
        footer: Sequence[str] | None = None,
    ) -> None:
        """A bordered table of plain-text cells; ``col_widths`` in mm (default: equal);
        ``right_columns`` aligned right (amounts); ``footer``: a bold last row (totals).

        The header row repeats on every page the table spans."""
        self.story.append(
            text_table(
                rows,
                header=header,
                col_widths=col_widths,
                mono_columns=mono_columns,
                right_columns=right_columns,
                footer=footer,
                width=self.page_size[0] - 2 * MARGIN_X,
            )
        )

    def key_values(self, pairs: Sequence[tuple[str, str]], label_width_mm: float = 60) -> None:
        """A two-column table: bold label, value."""
        data = [[paragraph(k, "cell_bold"), paragraph(v, "cell")] for k, v in pairs]
        block = Table(
            data, colWidths=[label_width_mm * mm, TEXT_WIDTH - label_width_mm * mm], hAlign="LEFT"
        )
        block.setStyle(_grid_style(header=False))
        self.story += [block, Spacer(1, 4 * mm)]

    def signature(self, lines: Sequence[str], image_path: Path | None = None) -> None:
        """The signer's block on the right, kept on one page; the signature image, if
        any, above the last line (the signer's name)."""
        cells: list[Flowable] = [paragraph(line, "left") for line in lines if line]
        if image_path is not None:
            cells.insert(
                max(len(cells) - 1, 0), _logo(image_path, max_width=45 * mm, max_height=20 * mm)
            )
        block = Table([["", cells]], colWidths=[TEXT_WIDTH - 75 * mm, 75 * mm])
        block.setStyle(
            _layout_style(
                ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 8 * mm)
            )
        )
        # Never alone on a page: the closing paragraph before it goes along.
        previous = [self.story.pop()] if len(self.story) > 1 else []
        self.story.append(KeepTogether([*previous, block]))

    # Output.

    def _draw_footer(self, canvas: Canvas, page: int, pages: int) -> None:
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        y = MARGIN_BOTTOM - 8 * mm
        width = self.page_size[0]
        canvas.line(MARGIN_X, y + 4 * mm, width - MARGIN_X, y + 4 * mm)
        canvas.setFont(FONT, 8)
        canvas.setFillColor(GREY)
        if self.footer_text:
            canvas.drawString(MARGIN_X, y, printable(self.footer_text).replace("\n", " "))
        label = printable(self.page_label.format(page=page, pages=pages))
        canvas.drawRightString(width - MARGIN_X, y, label)
        canvas.restoreState()

    def build(self) -> bytes:
        buffer = io.BytesIO()
        page_width, page_height = self.page_size
        document = BaseDocTemplate(
            buffer,
            pagesize=(page_width, page_height),
            leftMargin=MARGIN_X,
            rightMargin=MARGIN_X,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            title=printable(self.title),
            author=printable(self.author or self.letterhead.name),
            subject=printable(self.subject),
            creator="Guichet",
            lang=self.lang,
            initialFontName=FONT,
            initialFontSize=10,
        )
        # No frame padding: text, tables and the footer rule share the same edges.
        frame = Frame(
            MARGIN_X,
            MARGIN_BOTTOM,
            page_width - 2 * MARGIN_X,
            page_height - MARGIN_TOP - MARGIN_BOTTOM,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id="text",
        )
        document.addPageTemplates([PageTemplate(id="letter", frames=[frame])])
        document.build(list(self.story), canvasmaker=_numbered_canvas(self._draw_footer))
        return buffer.getvalue()

    def write(self, path: Path) -> None:
        """Write the PDF atomically (temporary file, fsync, rename)."""
        write_atomically(Path(path), self.build())


def _layout_style(*commands: tuple[Any, ...]) -> TableStyle:
    # Tables draw plain-string cells (even empty ones) in Helvetica unless told otherwise.
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])


def _grid_style(*, header: bool) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL))
    return TableStyle(commands)


def text_table(
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] | None = None,
    col_widths: Sequence[float] | None = None,
    mono_columns: Sequence[int] = (),
    right_columns: Sequence[int] = (),
    footer: Sequence[str] | None = None,
    width: float = TEXT_WIDTH,
) -> Table:
    """A table of escaped plain-text cells (see ``LetterBuilder.table``)."""
    columns = len(header) if header else max((len(r) for r in rows), default=1)
    widths = [w * mm for w in col_widths] if col_widths else [width / columns] * columns

    def style(i: int, bold: bool) -> str:
        if i in right_columns:
            return "cell_bold_right" if bold else "cell_right"
        if bold:
            return "cell_bold"
        return "mono" if i in mono_columns else "cell"

    data: list[list[Flowable]] = []
    if header:
        data.append([paragraph(h, style(i, True)) for i, h in enumerate(header)])
    for row in rows:
        data.append([paragraph(cell, style(i, False)) for i, cell in enumerate(row)])
    if footer:
        data.append([paragraph(cell, style(i, True)) for i, cell in enumerate(footer)])
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    table.setStyle(_grid_style(header=bool(header)))
    if footer:
        table.setStyle(TableStyle([("BACKGROUND", (0, -1), (-1, -1), HEADER_FILL)]))
    return table
