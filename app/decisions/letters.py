"""Award and rejection letters: the wording template of a call, its placeholders, and
the PDF itself (on ``core.pdf``'s letter base).

``render_letter`` is a pure function of a ``LetterContent`` holding every word already
chosen and translated: the letter batch runs it in worker processes, in parallel.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from reportlab.lib.units import mm

from app.core.i18n import gettext_noop as N_
from app.core.pdf import TEXT_WIDTH, LetterBuilder, Letterhead

# The placeholders a letter template may use, with what each becomes.
PLACEHOLDERS = {
    "organisation": N_("the organisation's name"),
    "representant": N_("its legal representative"),
    "projet": N_("the project's title"),
    "reference": N_("the file number"),
    "appel": N_("the call's title"),
    "financeur": N_("the funder"),
    "montant": N_("the amount awarded, in figures"),
    "montant_en_lettres": N_("the amount awarded, in words"),
    "date_deliberation": N_("the date of the deliberation"),
    "reference_deliberation": N_("the deliberation's reference"),
    "motif": N_("the reason for a rejection"),
}

# Letters are official documents written in French; the wording is the call's to edit.
DEFAULT_AWARD = """Madame, Monsieur,

Par délibération {reference_deliberation} du {date_deliberation}, la commission a décidé d’attribuer à votre structure, {organisation}, une subvention de {montant} ({montant_en_lettres}) pour la réalisation du projet « {projet} », présenté dans le cadre de l’appel à projets « {appel} ».

Vous trouverez ci-dessous l’échéancier de versement de cette subvention et les conditions qui s’y attachent. Pour en bénéficier, acceptez-la en ligne comme indiqué à la fin de ce courrier.

Je vous prie d’agréer, Madame, Monsieur, l’expression de mes salutations distinguées."""

DEFAULT_REJECTION = """Madame, Monsieur,

Vous avez présenté le projet « {projet} » dans le cadre de l’appel à projets « {appel} ». Par délibération {reference_deliberation} du {date_deliberation}, la commission n’a pas retenu votre demande, pour le motif indiqué ci-dessous.

Cette décision ne préjuge pas de la qualité de votre action. Nous vous encourageons à présenter de nouveaux projets lors des prochains appels.

Je vous prie d’agréer, Madame, Monsieur, l’expression de mes salutations distinguées."""


class TemplateProblem(ValueError):
    """``code``: unknown | malformed; ``names``: the unknown placeholders."""

    def __init__(self, code: str, names: tuple[str, ...] = ()):
        super().__init__(code)
        self.code = code
        self.names = names


def check_template(text: str) -> None:
    """Refuse a template with a placeholder we do not know, or with a stray brace.

    Only bare names are allowed: ``{organisation.__class__}`` or ``{montant:>99}`` are
    unknown placeholders, so a template can never reach into an object."""
    try:
        fields = [
            (name, spec, conv)
            for _literal, name, spec, conv in string.Formatter().parse(text)
            if name is not None
        ]
    except ValueError:
        raise TemplateProblem("malformed") from None
    unknown = tuple(
        dict.fromkeys(
            f"{{{name}}}" for name, spec, conv in fields if name not in PLACEHOLDERS or spec or conv
        )
    )
    if unknown:
        raise TemplateProblem("unknown", unknown)


def fill(text: str, values: dict[str, str]) -> str:
    """The template with its placeholders replaced (``check_template`` passed)."""
    return text.format_map({name: values.get(name, "") for name in PLACEHOLDERS})


@dataclass(frozen=True, slots=True)
class LetterContent:
    """Everything a letter says, decided and translated before rendering."""

    letterhead: Letterhead
    title: str  # « Notification de subvention »
    kind: str  # award | rejection
    reference: str
    footer: str
    page_label: str
    addressee: tuple[str, ...]
    place_and_date: str
    references: tuple[tuple[str, str], ...]
    subject_label: str
    subject: str
    body: tuple[str, ...]  # the template's paragraphs, filled
    facts: tuple[tuple[str, str], ...] = ()  # amount in figures and words, purpose...
    schedule_heading: str = ""
    schedule_header: tuple[str, ...] = ()
    schedule_rows: tuple[tuple[str, ...], ...] = ()
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (heading, paragraphs)
    signature: tuple[str, ...] = ()


def render_letter(content: LetterContent) -> bytes:
    """The letter as PDF bytes (pure: safe to run in another process)."""
    letter = LetterBuilder(
        letterhead=content.letterhead,
        title=f"{content.title} — {content.reference}",
        subject=content.subject,
        footer_text=content.footer,
        page_label=content.page_label,
        lang="fr",
    )
    letter.addressee(list(content.addressee))
    if content.place_and_date:
        letter.place_and_date(content.place_and_date)
    letter.references(list(content.references))
    letter.subject_line(content.subject_label, content.subject)
    letter.document_title(content.title)
    # The template's last paragraph is its closing formula: it goes above the signature.
    letter.paragraphs(content.body[:-1])
    if content.facts:
        letter.key_values(list(content.facts))
    if content.schedule_rows:
        letter.heading(content.schedule_heading)
        widths = [15, 45, TEXT_WIDTH / mm - 60]
        letter.table(
            [list(r) for r in content.schedule_rows],
            header=list(content.schedule_header),
            col_widths=widths,
        )
    for heading, paragraphs in content.sections:
        letter.heading(heading)
        letter.paragraphs(list(paragraphs))
    if content.body:
        letter.spacer(3)
        letter.paragraph(content.body[-1])
    letter.signature(list(content.signature))
    return letter.build()


def render_many(contents: list[LetterContent]) -> list[bytes]:
    """Several letters in one call (one round trip to a worker process)."""
    return [render_letter(c) for c in contents]


def paragraphs_of(text: str) -> tuple[str, ...]:
    """Paragraphs are separated by a blank line; single line breaks join with a space."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))
    joined = (
        " ".join(line.strip() for line in block.splitlines() if line.strip()) for block in blocks
    )
    return tuple(b for b in joined if b)
