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


# --- What an award or rejection letter says (compose: pure, from the file's facts) ---------

from datetime import UTC, date, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from app.decisions.letters import LetterFacts, compose  # noqa: E402
from app.decisions.models import CommitteeDecision  # noqa: E402
from app.decisions.settings import CommitteeSettings  # noqa: E402
from app.funders.models import FunderLegal  # noqa: E402
from app.grants.agreement_rule import agreement_reason  # noqa: E402
from app.organisations.addressing import salutation  # noqa: E402

FUNDER = FunderLegal(
    id=1,
    name="Région Île-de-France",
    address="2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
    service_name="Pôle formation professionnelle",
    service_email="formation@region.test",
    service_phone="01 53 85 53 85",
    signatory_name="Claude Signataire",
    signatory_capacity="La directrice de la formation professionnelle",
    deliberation_body="la commission permanente du conseil régional",
)


def facts(*, amount=100_000_000, outcome="award", rep_title="Présidente", funder=FUNDER):
    return LetterFacts(
        id=7,
        reference="IDF-2017-0001",
        title="École du web",
        organisation_id=1,
        call_title="Le numérique au service de la formation professionnelle",
        funder_name=funder.name,
        funder_address=funder.address,
        funder_logo=None,
        org_name="Le PoleS",
        rep_name="Alex Exemple",
        rep_title=rep_title,
        org_street="1 rue",
        org_postcode="93230",
        org_city="Romainville",
        funder=funder,
        officer_name="Dominique Fictif",
        officer_email="instruction@region.test",
        decision=CommitteeDecision(
            id=1,
            application_id=7,
            call_id=1,
            outcome=outcome,
            amount_cents=amount if outcome == "award" else 0,
            reason="Le projet ne répond pas aux critères.",
            deliberation_reference="CP 2017-123",
            deliberation_date=date(2017, 5, 17),
            schedule={},
            updated_at=None,
            published_at=None,
            letter_job_id=None,
        ),
    )


def letter_text(content) -> str:
    data = render_letter(content)
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def written(the_facts, settings=None) -> str:
    content = compose(
        the_facts,
        settings or CommitteeSettings(call_id=1),
        base_url="https://guichet.iledefrance.test/",
        data_dir=Path("/nonexistent"),
        today=datetime(2017, 5, 20, tzinfo=UTC),
    )
    return letter_text(content)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Présidente", "Madame la Présidente"),
        ("président", "Monsieur le Président"),
        ("La directrice générale", "Madame la Directrice générale"),
        ("Président·e", "Madame, Monsieur"),
        ("Responsable", "Madame, Monsieur"),
        ("", "Madame, Monsieur"),
    ],
)
def test_the_salutation_follows_the_representatives_title(title, expected):
    assert salutation(title) == expected


def test_one_rule_says_why_an_agreement_is_needed():
    assert agreement_reason(2_300_001, call_asks=False) == "law"
    assert agreement_reason(2_300_000, call_asks=False) is None
    assert agreement_reason(1_000_000, call_asks=True) == "call"
    assert agreement_reason(5_000_000, call_asks=True) == "law"


def test_an_award_letter_of_a_million_names_signatory_follower_and_the_law():
    text = written(facts(amount=100_000_000))
    assert "un million d'euros" in text or "un million d’euros" in text
    assert text.startswith("Région Île-de-France") or "Région Île-de-France" in text
    assert "Madame la Présidente," in text
    assert "Je vous prie d’agréer, Madame la Présidente," in text
    assert "la commission permanente du conseil régional a décidé" in text
    assert (
        "Affaire suivie par : Dominique Fictif, instruction@region.test, tél. 01 53 85 53 85"
        in text
    )
    assert "Pour Région Île-de-France et par délégation," in text
    assert "La directrice de la formation professionnelle" in text
    assert "Claude Signataire" in text
    assert "Cette subvention dépassant 23 000,00 €" in text
    assert "article 10 de la loi n° 2000-321" in text
    # The link reads as a sentence, with the public address only: no raw URL.
    assert "à l’adresse guichet.iledefrance.test, ouvrez le dossier IDF-2017-0001" in text
    assert "https://" not in text and "/dossiers/" not in text
    # A favourable decision has no appeal routes.
    assert "Voies et délais de recours" not in text


def test_a_small_award_of_a_call_that_asks_for_an_agreement_says_so():
    text = written(facts(amount=1_000_000), CommitteeSettings(call_id=1, agreement_required=True))
    assert (
        "L’appel à projets « Le numérique au service de la formation professionnelle » prévoit une convention"
        in text
    )
    assert "dépassant" not in text
    plain = written(facts(amount=1_000_000))
    assert "convention" not in plain


def test_a_rejection_states_the_appeal_routes_and_time_limits():
    text = written(facts(outcome="reject", rep_title="Responsable"))
    assert "Madame, Monsieur," in text
    assert "Voies et délais de recours" in text
    assert "deux mois" in text and "recours gracieux auprès de Région Île-de-France" in text
    assert "tribunal administratif" in text and "Télérecours citoyens" in text
    assert "www.telerecours.fr" in text


def test_the_funders_own_appeal_text_replaces_the_default():
    from dataclasses import replace

    own = replace(FUNDER, appeal_text="Recours auprès de {financeur} sous deux mois.")
    text = written(facts(outcome="reject", funder=own))
    assert "Recours auprès de Région Île-de-France sous deux mois." in text
    assert "Télérecours" not in text


def test_a_call_signatory_replaces_the_funders_and_its_image():
    text = written(
        facts(),
        CommitteeSettings(
            call_id=1, signatory_name="Valérie Autre", signatory_title="La présidente"
        ),
    )
    assert "Valérie Autre" in text and "Claude Signataire" not in text
    assert "par délégation" in text
