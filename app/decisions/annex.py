"""The committee's list as the annex to the deliberation: every file decided on —
reference, beneficiary, SIRET, project, amount, decision — with the totals, as a
landscape PDF (on ``core/pdf.py``) and as an XLSX workbook (real numbers in euros, a
bold frozen header, an autofilter, a totals row). Marked « projet » while a decision
of the sheet is unpublished.

The officers and the committee see the organisations' names, blind review or not:
blindness hides them from reviewers only (reviews/scoring.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import xlsxwriter

from app.calls.tables import Call
from app.core.i18n import gettext as _
from app.core.i18n import ngettext, use_locale
from app.core.money import format_amount
from app.core.pdf import LetterBuilder, Letterhead
from app.core.time import long_date
from app.decisions.models import DECIDED_LABELS
from app.decisions.services import settings_for
from app.decisions.tables import Decision, Outcome

# Awards first, then the waiting list, then the rejections; by file number within each.
ORDER = {Outcome.award: 0, Outcome.waitlist: 1, Outcome.reject: 2}


@dataclass(frozen=True, slots=True)
class AnnexLine:
    reference: str
    beneficiary: str
    siret: str
    project: str
    amount_cents: int | None  # an award's amount; None for the other outcomes
    decision: str  # in words, translated


@dataclass(frozen=True, slots=True)
class Annex:
    """What the annex says, every word translated (rendering reads no database)."""

    call_id: int
    draft: bool
    title: str
    subtitle: str
    funder_name: str
    funder_address: tuple[str, ...]
    header: tuple[str, ...]
    lines: tuple[AnnexLine, ...]
    total_label: str
    total_count: str
    awarded_cents: int
    summary: tuple[tuple[str, str], ...]
    draft_notice: str
    footer: str
    page_label: str
    locale: str

    def filename(self, extension: str) -> str:
        stem = f"annexe-deliberation-appel-{self.call_id}"
        return f"{stem}-projet.{extension}" if self.draft else f"{stem}.{extension}"

    def money(self, cents: int) -> str:
        return format_amount(cents, locale=self.locale)


async def annex_of(call_id: int, locale: str) -> Annex:
    """The annex of a call's sheet, in ``locale``: three queries, whatever the number
    of files."""
    call = await (
        Call.select(
            Call.id,
            Call.title,
            Call.envelope_cents,
            Call.funder.name.as_alias("funder_name"),
            Call.funder.address.as_alias("funder_address"),
        )
        .where(Call.id == call_id)
        .first()
    )
    rows = await Decision.select(
        Decision.outcome,
        Decision.amount_cents,
        Decision.published_at,
        Decision.deliberation_reference,
        Decision.deliberation_date,
        Decision.application.reference.as_alias("reference"),
        Decision.application.title.as_alias("project"),
        Decision.application.organisation.name.as_alias("beneficiary"),
        Decision.application.organisation.siret.as_alias("siret"),
    ).where(Decision.call == call_id)
    settings = await settings_for(call_id)
    rows.sort(key=lambda r: (ORDER.get(r["outcome"], 3), r["reference"] or ""))
    draft = not rows or any(r["published_at"] is None for r in rows)
    # The deliberation: the one copied onto the decisions, else the sheet's settings.
    reference = next(
        (r["deliberation_reference"] for r in rows if r["deliberation_reference"]),
        settings.deliberation_reference,
    )
    when: date | None = next(
        (r["deliberation_date"] for r in rows if r["deliberation_date"]),
        settings.deliberation_date,
    )
    awards = [r for r in rows if r["outcome"] == Outcome.award]
    awarded = sum(r["amount_cents"] for r in awards)
    with use_locale(locale):
        deliberation = reference or _("(reference to be given)")
        if when:
            deliberation = _("%(reference)s of %(date)s") % {
                "reference": deliberation,
                "date": long_date(when, locale),
            }
        title = _("Annex to the deliberation %(deliberation)s") % {"deliberation": deliberation}
        if draft:
            title = _("DRAFT") + " — " + title
        count = sum(r["outcome"] == Outcome.reject for r in rows)
        waiting = sum(r["outcome"] == Outcome.waitlist for r in rows)
        return Annex(
            call_id=call_id,
            draft=draft,
            title=title,
            subtitle=call["title"],
            funder_name=call["funder_name"],
            funder_address=tuple((call["funder_address"] or "").splitlines()),
            header=(
                _("File number"),
                _("Beneficiary"),
                _("SIRET"),
                _("Project"),
                _("Amount proposed") if draft else _("Amount awarded"),
                _("Decision"),
            ),
            lines=tuple(
                AnnexLine(
                    reference=r["reference"] or "",
                    beneficiary=r["beneficiary"],
                    siret=r["siret"] or "",
                    project=r["project"],
                    amount_cents=r["amount_cents"] if r["outcome"] == Outcome.award else None,
                    decision=_(DECIDED_LABELS[r["outcome"]]),
                )
                for r in rows
            ),
            total_label=_("Total"),
            total_count=ngettext("%(num)d grant", "%(num)d grants", len(awards))
            % {"num": len(awards)},
            awarded_cents=awarded,
            summary=(
                (_("Envelope"), format_amount(call["envelope_cents"], locale=locale)),
                (
                    _("Awards"),
                    f"{len(awards)} — {format_amount(awarded, locale=locale)}",
                ),
                (
                    _("Remaining"),
                    format_amount(call["envelope_cents"] - awarded, locale=locale),
                ),
                (_("Rejections"), str(count)),
                (_("Waiting list"), str(waiting)),
            ),
            draft_notice=_(
                "Draft for the committee: these decisions are not published yet and may change."
            )
            if draft
            else "",
            footer=f"{call['funder_name']} — {call['title']}",
            page_label=_("Page {page} / {pages}"),
            locale=locale,
        )


# --- PDF ---------------------------------------------------------------------------------------

# Column widths in mm: 257 mm of text across a landscape A4 page.
PDF_COLUMNS = (32, 56, 32, 63, 37, 37)


def render_pdf(annex: Annex) -> bytes:
    """The annex as a landscape A4 PDF, fonts embedded (CPU work: run it off the loop)."""
    document = LetterBuilder(
        letterhead=Letterhead(name=annex.funder_name, address_lines=annex.funder_address),
        title=annex.title,
        footer_text=annex.footer,
        page_label=annex.page_label,
        lang=annex.locale[:2],
        subject=annex.subtitle,
        landscape=True,
    )
    document.spacer(4)
    document.document_title(annex.title)
    document.paragraph(annex.subtitle)
    if annex.draft_notice:
        document.paragraph(annex.draft_notice)
    document.table(
        [
            (
                line.reference,
                line.beneficiary,
                line.siret,
                line.project,
                annex.money(line.amount_cents) if line.amount_cents is not None else "—",
                line.decision,
            )
            for line in annex.lines
        ],
        header=annex.header,
        col_widths=PDF_COLUMNS,
        mono_columns=(0, 2),
        right_columns=(4,),
        footer=(
            annex.total_label,
            annex.total_count,
            "",
            "",
            annex.money(annex.awarded_cents),
            "",
        ),
    )
    document.spacer(5)
    document.key_values(annex.summary, label_width_mm=50)
    return document.build()


# --- XLSX --------------------------------------------------------------------------------------

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EURO_FORMAT = '#,##0.00 "€"'
XLSX_WIDTHS = (18, 40, 17, 50, 18, 22)


def render_xlsx(annex: Annex) -> bytes:
    """The annex as a workbook: a title line, then a bold frozen header with an
    autofilter, one row per file (amounts as numbers in euros), and a totals row whose
    sum is a formula (with its value stored)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet(_sheet_name(annex))
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 13})
    euro = workbook.add_format({"num_format": EURO_FORMAT})
    euro_bold = workbook.add_format({"num_format": EURO_FORMAT, "bold": True, "top": 1})
    total = workbook.add_format({"bold": True, "top": 1})
    sheet.write_string(0, 0, f"{annex.title} — {annex.subtitle}", title)
    header_row, first = 1, 2
    sheet.write_row(header_row, 0, list(annex.header), bold)
    for column, width in enumerate(XLSX_WIDTHS):
        sheet.set_column(column, column, width)
    row = first
    for line in annex.lines:
        for column, text in enumerate((line.reference, line.beneficiary, line.siret, line.project)):
            sheet.write_string(row, column, text)
        if line.amount_cents is not None:
            sheet.write_number(row, 4, line.amount_cents / 100, euro)
        sheet.write_string(row, 5, line.decision)
        row += 1
    last = row - 1
    sheet.write_string(row, 0, annex.total_label, total)
    sheet.write_string(row, 1, annex.total_count, total)
    sheet.write_blank(row, 2, None, total)
    sheet.write_blank(row, 3, None, total)
    if annex.lines:
        sheet.write_formula(
            row, 4, f"=SUM(E{first + 1}:E{last + 1})", euro_bold, annex.awarded_cents / 100
        )
    else:
        sheet.write_number(row, 4, 0, euro_bold)
    sheet.write_blank(row, 5, None, total)
    sheet.freeze_panes(first, 0)
    sheet.autofilter(header_row, 0, max(last, header_row), len(annex.header) - 1)
    workbook.set_properties({"title": annex.title, "subject": annex.subtitle})
    workbook.close()
    return buffer.getvalue()


def _sheet_name(annex: Annex) -> str:
    with use_locale(annex.locale):
        name = _("Draft annex") if annex.draft else _("Annex")
    return name[:31]
