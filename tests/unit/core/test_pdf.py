"""The PDF base: fonts that cover French text, escaped user text, the receipt."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from app.applications.receipts import ReceiptDocument, ReceiptTexts, build_receipt
from app.core import pdf
from app.core.money import format_amount
from app.core.pdf import LetterBuilder, Letterhead, covered_characters, escape
from app.core.time import long_date, paris_datetime_text

HOSTILE = '<font color="red">x</font> & <b>'
ORGANISATION = f"Le PoleS {HOSTILE}"
PERSON = "Mme Élodie Œillet-Müller, présidente"
CONTENT_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
DOCUMENTS = [
    ReceiptDocument("Statuts signés — 2016.pdf", "a" * 64),
    ReceiptDocument("Budget prévisionnel « école du web ».xlsx", "3f2a9c1b" * 8),
]

FRENCH = ReceiptTexts(
    title="Accusé de réception",
    place_and_date="{place}, le {date}",
    subject_label="Objet :",
    subject="dépôt de votre dossier de candidature",
    reference_label="Référence du dossier :",
    salutation="Madame, Monsieur,",
    intro=(
        "Nous accusons réception du dossier de candidature déposé au nom de votre "
        "structure. Il va être examiné par nos services ; vous serez informé·e de la "
        "suite qui lui sera donnée."
    ),
    call_label="Appel à projets",
    organisation_label="Structure",
    project_label="Projet",
    submitted_at_label="Date et heure de dépôt (heure de Paris)",
    amount_label="Montant demandé",
    documents_heading="Pièces jointes",
    document_name_header="Document",
    document_hash_header="Empreinte SHA-256 (début)",
    no_documents="Aucune pièce jointe.",
    content_hash_label="Empreinte SHA-256 du dossier déposé",
    content_hash_note=(
        "Cette empreinte permet de vérifier que le contenu du dossier n’a pas été "
        "modifié depuis son dépôt."
    ),
    closing=[
        "Le présent accusé de réception ne vaut pas décision d’attribution de subvention.",
        "Nous vous prions d’agréer, Madame, Monsieur, l’expression de nos salutations distinguées.",
    ],
    signature_lines=["Pour la présidente du conseil régional,", "Le service instructeur"],
)
LETTERHEAD = Letterhead(
    name="Région Île-de-France",
    address_lines=["2, rue Simone-Veil", "93400 Saint-Ouen-sur-Seine"],
    contact_lines=["www.iledefrance.fr"],
)
SUBMITTED_AT = datetime(2017, 3, 17, 13, 32, 5, tzinfo=UTC)  # 14 h 32 in Paris (winter)


def receipt(**overrides) -> bytes:
    arguments = {
        "texts": FRENCH,
        "letterhead": LETTERHEAD,
        "call_title": "Le numérique au service de la formation professionnelle",
        "organisation_name": ORGANISATION,
        "organisation_address": [PERSON, "12, rue de l’École", "92390 Villeneuve-la-Garenne"],
        "project_title": "École du web dans les quartiers prioritaires",
        "reference": "IDF-2017-0042",
        "submitted_at": SUBMITTED_AT,
        "requested_cents": 20_000_000,
        "documents": DOCUMENTS,
        "content_sha256": CONTENT_SHA,
        "place": "Saint-Ouen-sur-Seine",
    }
    return build_receipt(**{**arguments, **overrides})


@pytest.fixture(scope="module")
def receipt_pdf() -> bytes:
    return receipt()


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def font_names(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        fonts = page["/Resources"].get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object()["/BaseFont"]))
    return names


# --- The receipt -----------------------------------------------------------------------


def test_the_receipt_says_what_was_submitted(receipt_pdf):
    text = text_of(receipt_pdf)
    for expected in (
        "Région Île-de-France",
        "Accusé de réception",
        "Le numérique au service de la formation professionnelle",
        "École du web dans les quartiers prioritaires",
        "IDF-2017-0042",
        "Saint-Ouen-sur-Seine, le 17 mars 2017",
        PERSON,
        "Statuts signés — 2016.pdf",
        "Budget prévisionnel « école du web ».xlsx",
        "aaaaaaaaaaaaaaaa…",
        "3f2a9c1b3f2a9c1b…",
        CONTENT_SHA,
        "Page 1 / 2",
        "Page 2 / 2",  # the « Intégrité » block ends the receipt
    ):
        assert expected in text, expected


def test_the_amount_is_written_the_french_way_with_its_narrow_spaces(receipt_pdf):
    amount = format_amount(20_000_000, locale="fr_FR")
    assert amount == "200\u202f000,00\u00a0€"
    text = text_of(receipt_pdf)
    # U+202F comes back as itself; reportlab draws U+00A0 with the space glyph (same
    # width, no line break there), so text extraction gives a plain space.
    assert "200\u202f000,00 €" in text.replace("\u00a0", " ")


def test_the_submission_time_is_in_paris_time_in_words(receipt_pdf):
    assert "17 mars 2017 à 14 h 32 min 05 s" in text_of(receipt_pdf).replace("\u00a0", " ")


def test_hostile_text_is_shown_literally_never_interpreted(receipt_pdf):
    text = text_of(receipt_pdf)
    assert HOSTILE in text.replace("\n", " ")
    assert f"Le PoleS {HOSTILE}" in text  # the table cell, on one line


def test_only_the_bundled_dejavu_fonts_are_embedded(receipt_pdf):
    names = font_names(receipt_pdf)
    assert names, "no font found"
    assert all("DejaVuSans" in name for name in names), names
    assert not any("Helvetica" in name or "Times" in name for name in names)
    reader = PdfReader(io.BytesIO(receipt_pdf))
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            descriptor = ref.get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor  # embedded TrueType


def test_every_character_of_the_receipt_has_a_glyph():
    used = set()
    for value in (
        *vars_of(FRENCH),
        *vars_of(LETTERHEAD),
        ORGANISATION,
        PERSON,
        "Le numérique au service de la formation professionnelle",
        format_amount(20_000_000, locale="fr_FR"),
        paris_datetime_text(SUBMITTED_AT),
        *(d.name for d in DOCUMENTS),
        "…",
    ):
        used |= set(value)
    covered = covered_characters()
    missing = sorted(c for c in used if ord(c) not in covered)
    assert not missing, [f"U+{ord(c):04X}" for c in missing]
    assert {0x202F, 0x00A0, ord("€"), ord("œ"), ord("Œ"), ord("«"), ord("’")} <= covered


def vars_of(obj) -> list[str]:
    values = []
    for name in obj.__dataclass_fields__:
        value = getattr(obj, name)
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, list | tuple):
            values += [v for v in value if isinstance(v, str)]
    return values


def test_pdf_metadata_title_author_and_language(receipt_pdf):
    reader = PdfReader(io.BytesIO(receipt_pdf))
    assert reader.metadata.title == "Accusé de réception — IDF-2017-0042"
    assert reader.metadata.author == "Région Île-de-France"
    assert reader.trailer["/Root"]["/Lang"] == "fr"


def test_a_receipt_without_documents_says_so():
    assert "Aucune pièce jointe." in text_of(receipt(documents=[]))


def test_a_naive_submission_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        receipt(submitted_at=datetime(2017, 3, 17, 14, 32, 5))


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm (poppler-utils) not installed")
def test_the_receipt_renders_without_errors(receipt_pdf, tmp_path):
    source = tmp_path / "receipt.pdf"
    source.write_bytes(receipt_pdf)
    result = subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(source), str(tmp_path / "page")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr == ""
    assert (tmp_path / "page-1.png").stat().st_size > 1000


# --- Text, dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        (HOSTILE, "&lt;font color=&quot;red&quot;&gt;x&lt;/font&gt; &amp; &lt;b&gt;"),
        (
            '<a href="javascript:alert(1)">ici</a>',
            "&lt;a href=&quot;javascript:alert(1)&quot;&gt;ici&lt;/a&gt;",
        ),
        ("l'école\nligne 2", "l&#39;école<br/>ligne 2"),
        ("bip\x07\x00 tab\tfin", "bip tab fin"),
        ("漢字", "\ufffd\ufffd"),  # not in DejaVu Sans: a visible replacement, not a blank box
        ("zéro\u200blargeur", "zérolargeur"),
    ],
)
def test_escape_makes_user_text_inert(raw, escaped):
    assert escape(raw) == escaped


def test_paragraph_shows_markup_as_text():
    data = _letter_with(lambda letter: letter.paragraph('<b>gras</b> <img src="x"/> &amp;'))
    assert '<b>gras</b> <img src="x"/> &amp;' in text_of(data)


def test_the_amount_never_breaks_across_lines():
    """reportlab breaks at U+202F unless told otherwise (see pdf._keep_no_break_spaces)."""
    amount = format_amount(123_456_789_00, locale="fr_FR")  # « 123 456 789,00 € »
    data = _letter_with(
        lambda letter: letter.table([[f"Montant {amount} puis {amount}"]], col_widths=[40])
    )
    lines = [line.strip() for line in text_of(data).splitlines() if "123" in line or "€" in line]
    assert len(lines) == 2, lines
    assert all(amount.replace("\u00a0", " ") in line for line in lines), lines


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2017, 3, 17, 13, 32, 5, tzinfo=UTC), "17 mars 2017 à 14 h 32 min 05 s"),
        (datetime(2017, 7, 1, 7, 5, 9, tzinfo=UTC), "1er juillet 2017 à 9 h 05 min 09 s"),
        (datetime(2017, 12, 31, 23, 30, 0, tzinfo=UTC), "1er janvier 2018 à 0 h 30 min 00 s"),
    ],
)
def test_paris_datetime_in_french_words(moment, expected):
    assert paris_datetime_text(moment).replace("\u00a0", " ") == expected


def test_paris_datetime_in_english():
    assert paris_datetime_text(SUBMITTED_AT, "en") == "17 March 2017 at 14:32:05"


def test_long_date():
    assert long_date(date(2017, 3, 17)) == "17 mars 2017"
    assert long_date(date(2017, 3, 1)) == "1er mars 2017"
    assert long_date(date(2017, 3, 1), "en") == "1 March 2017"


# --- The letter builder ----------------------------------------------------------------


def _letter_with(fill, letterhead: Letterhead = LETTERHEAD) -> bytes:
    letter = LetterBuilder(letterhead=letterhead, title="Essai")
    fill(letter)
    return letter.build()


def test_long_letters_number_their_pages():
    def fill(letter: LetterBuilder) -> None:
        letter.addressee(["Association CoopAxis", "Tours"])
        letter.place_and_date("Orléans, le 2 mai 2017")
        letter.references([("Réf. :", "CVL-2017-0007")])
        letter.subject_line("Objet :", "notification")
        for i in range(60):
            letter.paragraph(f"Paragraphe {i} : les brigades numériques de Tours.")
        letter.table(
            [[f"Ligne {i}", format_amount(i * 100_000, locale="fr_FR")] for i in range(40)],
            header=["Poste", "Montant"],
        )
        letter.signature(["La directrice", "Prénom Nom"])

    data = _letter_with(fill)
    reader = PdfReader(io.BytesIO(data))
    pages = len(reader.pages)
    assert pages >= 3
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} / {pages}" in page.extract_text()
    # The table's header row repeats on the page it continues on.
    assert sum("Poste" in page.extract_text() for page in reader.pages) >= 2


def test_the_letterhead_can_carry_a_logo(tmp_path):
    logo = tmp_path / "logo.png"
    PILImage.new("RGB", (300, 120), (0, 70, 140)).save(logo)
    data = _letter_with(
        lambda letter: letter.paragraph("Avec logo."),
        Letterhead(name="Région Centre-Val de Loire", logo_path=logo),
    )
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages[0].images) == 1
    assert "Région Centre-Val de Loire" in text_of(data)


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "lettres" / "accuse.pdf"
    letter = LetterBuilder(letterhead=LETTERHEAD, title="Essai")
    letter.paragraph("Bonjour.")
    letter.write(target)
    assert target.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in target.parent.iterdir()] == ["accuse.pdf"]


def test_the_fonts_are_bundled_with_their_licence():
    folder = Path(pdf.FONT_DIR)
    assert sorted(p.name for p in folder.glob("*.ttf")) == [
        "DejaVuSans-Bold.ttf",
        "DejaVuSans.ttf",
        "DejaVuSansMono.ttf",
    ]
    assert "Bitstream Vera" in (folder / "LICENSE.txt").read_text()
