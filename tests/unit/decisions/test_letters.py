"""Letter templates and the letters themselves (pure: no database)."""

import io

import pypdf
import pytest

from app.core.pdf import Letterhead, covered_characters
from app.decisions.letters import (
    DEFAULT_AWARD,
    DEFAULT_REJECTION,
    LetterContent,
    TemplateProblem,
    check_template,
    fill,
    paragraphs_of,
    render_letter,
)


def test_the_default_wording_uses_known_placeholders_only():
    check_template(DEFAULT_AWARD)
    check_template(DEFAULT_REJECTION)


@pytest.mark.parametrize(
    ("text", "code", "names"),
    [
        ("Bonjour {organisme}", "unknown", ("{organisme}",)),
        ("{organisation.__class__.__mro__}", "unknown", ("{organisation.__class__.__mro__}",)),
        ("{montant[0]}", "unknown", ("{montant[0]}",)),
        ("{montant:>40}", "unknown", ("{montant}",)),
        ("{montant!r}", "unknown", ("{montant}",)),
        ("{}", "unknown", ("{}",)),
        ("Montant {montant", "malformed", ()),
        ("Montant montant}", "malformed", ()),
    ],
)
def test_unknown_placeholders_and_stray_braces_are_refused(text, code, names):
    with pytest.raises(TemplateProblem) as caught:
        check_template(text)
    assert caught.value.code == code
    assert caught.value.names == names


def test_filling_keeps_user_text_literal():
    text = "Pour {organisation} : {montant} {{accolades}}"
    check_template(text)
    filled = fill(text, {"organisation": "{projet} <b>Asso</b>", "montant": "1 €"})
    assert filled == "Pour {projet} <b>Asso</b> : 1 € {accolades}"


def test_paragraphs_are_split_on_blank_lines():
    assert paragraphs_of("Un\nsuite\n\n\nDeux\n") == ("Un suite", "Deux")


def content(**overrides):
    values = dict(
        letterhead=Letterhead(
            name="Région Île-de-France",
            address_lines=("2 rue Simone Veil", "93400 Saint-Ouen-sur-Seine"),
        ),
        title="Notification de subvention",
        kind="award",
        reference="IDF-2017-0001",
        footer="Région Île-de-France — IDF-2017-0001",
        page_label="Page {page} / {pages}",
        addressee=("Le PoleS", "À l'attention de Présidence", "1 rue", "93230 Romainville"),
        place_and_date="Saint-Ouen-sur-Seine, le 17 mai 2017",
        references=(("Réf. :", "IDF-2017-0001"),),
        subject_label="Objet :",
        subject="attribution d'une subvention",
        body=(
            "Madame, Monsieur,",
            "Une subvention de 200\u202f000,00\u00a0€ est attribuée.",
            "Salutations.",
        ),
        facts=(
            ("Montant attribué", "200\u202f000,00\u00a0€"),
            ("En lettres", "deux cent mille euros"),
        ),
        schedule_heading="Échéancier",
        schedule_header=("N°", "Montant", "Versement"),
        schedule_rows=(("1", "100\u202f000,00\u00a0€", "à l'acceptation"),),
        sections=(("Motif", ("<font color=red>rouge</font> & {{7*7}} <para>",)),),
        signature=("La présidente", "Camille Exemple"),
    )
    values.update(overrides)
    return LetterContent(**values)


def test_a_letter_shows_hostile_text_as_text_and_has_every_glyph():
    data = render_letter(content())
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "<font color=red>rouge</font> & {{7*7}} <para>" in text
    assert "deux cent mille euros" in text
    assert "200\u202f000,00" in text or "200 000,00" in text
    # Every character of the letter is in the embedded font (no missing-glyph box).
    covered = covered_characters()
    for character in "200\u202f000,00\u00a0€ ÎéèàçÉœ«»’":
        assert ord(character) in covered
