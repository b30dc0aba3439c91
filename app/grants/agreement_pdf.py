"""The agreement's PDFs: the document to sign (articles, signature blocks, annexes: the
project and its forecast budget as submitted) and, once both parties signed, the same
bytes followed by an evidence page (who signed, when, from where, how, and the
document's SHA-256). Pure functions of their content: no database, every word given
already written (in French, the agreements' language)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak

from app.core.pdf import TEXT_WIDTH, LetterBuilder, Letterhead, paragraph, text_table
from app.grants.agreement_text import Article


@dataclass(frozen=True, slots=True)
class AgreementContent:
    letterhead: Letterhead
    title: str  # « Convention d'attribution de subvention »
    reference: str
    footer: str
    articles: tuple[Article, ...]
    organisation_lines: tuple[str, ...]  # the beneficiary's signature block
    funder_lines: tuple[str, ...]  # the funder's, « par délégation »
    signature_header: tuple[str, str]
    signature_note: str
    # The annexes (an avenant has none).
    annex_project_title: str = ""
    annex_project: tuple[tuple[str, str], ...] = ()
    annex_budget_title: str = ""
    budget_header: tuple[str, str] = ("", "")
    budget_charges: tuple[tuple[str, str], ...] = ()
    budget_produits: tuple[tuple[str, str], ...] = ()
    charges_label: str = ""
    produits_label: str = ""


def render_agreement(content: AgreementContent) -> bytes:
    """The agreement to sign, as PDF bytes."""
    letter = LetterBuilder(
        letterhead=content.letterhead,
        title=f"{content.title} — {content.reference}",
        subject=content.title,
        footer_text=content.footer,
        page_label="Page {page} / {pages}",
        lang="fr",
    )
    letter.document_title(content.title)
    letter.story.append(paragraph(content.reference, "right"))
    letter.spacer(4)
    for article in content.articles:
        letter.heading(article.title)
        letter.paragraphs(article.paragraphs)
    letter.spacer(6)
    half = TEXT_WIDTH / mm / 2
    # The signature blocks never alone on a page: the note goes along.
    letter.story.append(
        KeepTogether(
            [
                paragraph(content.signature_note),
                text_table(
                    [["\n".join(content.organisation_lines), "\n".join(content.funder_lines)]],
                    header=list(content.signature_header),
                    col_widths=[half, half],
                ),
            ]
        )
    )
    if not content.annex_project:
        return letter.build()
    letter.story.append(PageBreak())
    letter.heading(content.annex_project_title)
    letter.key_values(list(content.annex_project))
    letter.heading(content.annex_budget_title)
    for label, rows in (
        (content.charges_label, content.budget_charges),
        (content.produits_label, content.budget_produits),
    ):
        letter.table(
            [list(r) for r in rows],
            header=[label, content.budget_header[1]],
            col_widths=[TEXT_WIDTH / mm - 45, 45],
        )
        letter.spacer(3)
    return letter.build()


@dataclass(frozen=True, slots=True)
class EvidenceContent:
    letterhead: Letterhead
    title: str
    intro: str
    document: tuple[tuple[str, str], ...]
    document_hash_label: str
    document_sha256: str
    signatures: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (heading, facts)
    closing: Sequence[str]
    footer: str


def render_evidence(content: EvidenceContent) -> bytes:
    """The evidence page alone (one page), as PDF bytes."""
    letter = LetterBuilder(
        letterhead=content.letterhead,
        title=content.title,
        subject=content.title,
        footer_text=content.footer,
        page_label="Page de preuve",
        lang="fr",
    )
    letter.document_title(content.title)
    letter.paragraph(content.intro)
    letter.key_values(list(content.document), label_width_mm=50)
    letter.heading(content.document_hash_label)
    letter.story.append(paragraph(content.document_sha256, "mono"))
    letter.spacer(3)
    for heading, facts in content.signatures:
        letter.heading(heading)
        letter.key_values(list(facts), label_width_mm=50)
    letter.paragraphs(list(content.closing))
    return letter.build()


def signed_pdf(document: bytes, evidence: bytes, *, title: str) -> bytes:
    """The document's pages unchanged, then the evidence page."""
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(document)))
    writer.append(PdfReader(io.BytesIO(evidence)))
    writer.add_metadata({"/Title": title, "/Creator": "Guichet"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()
