"""Demo funders, accounts and organisations (every person a fictitious placeholder)."""

from __future__ import annotations

import io

from stdnum import iban, luhn

from app.accounts.tables import StaffRole
from app.core.pdf import FONT_DIR

DEMO_PASSWORD = "demo-guichet-2026"  # nosec B105  # the published demo password (no demo in production)


FUNDERS = [
    {
        "name": "Région Île-de-France",
        "slug": "region-ile-de-france",
        "kind": "région",
        "address": "2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
        "website": "https://www.iledefrance.fr",
    },
    {
        "name": "Région Centre-Val de Loire",
        "slug": "region-centre-val-de-loire",
        "kind": "région",
        "address": "9 rue Saint-Pierre-Lentin\n45041 Orléans Cedex 1",
        "website": "https://www.centre-valdeloire.fr",
    },
]


# The funders' legal texts and contacts (fictitious people and service contacts; the
# appeal routes are the default text). The Île-de-France SIRET is well-formed.
FUNDER_LEGAL = {
    "region-ile-de-france": {
        "service_name": "Pôle formation professionnelle et apprentissage",
        "service_address": "2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
        "service_email": "formation-numerique@demo.guichet.test",
        "service_phone": "01 53 85 53 85",
        "signatory_name": "Claude Signataire",
        "signatory_capacity": "La directrice de la formation professionnelle",
        "deliberation_body": "la commission permanente du conseil régional",
        "siret": "23750007900312",
    },
    "region-centre-val-de-loire": {
        "service_name": "Direction de l’emploi et de la formation",
        "service_email": "aap-numerique@demo.guichet.test",
        "service_phone": "02 38 70 30 30",
        "signatory_name": "Ange Délégataire",
        "signatory_capacity": "Le directeur général adjoint",
        "deliberation_body": "la commission permanente régionale",
    },
}


# Placeholder logos (not the regions' own): initials on a coloured block.
DEMO_LOGOS = [("IDF", (29, 63, 143)), ("CVL", (24, 117, 60))]


def check(errors: dict) -> None:
    """Demo data are our own: a refusal means the demo is out of date with the rules."""
    if errors:
        raise RuntimeError(f"demo data refused: {errors}")


def demo_logo(initials: str, colour: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (360, 120), colour)
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), 64)
    ImageDraw.Draw(image).text((180, 60), initials, fill="white", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def demo_signature() -> bytes:
    """A placeholder handwritten-looking stroke (not anyone's signature)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 100), "white")
    draw = ImageDraw.Draw(image)
    points = [(20 + x * 13, 60 + (18 if x % 2 else -18) * (1 - x / 22)) for x in range(21)]
    draw.line(points, fill=(20, 30, 90), width=4, joint="curve")
    draw.line([(30, 82), (270, 74)], fill=(20, 30, 90), width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# (email, full name, roles, what the account is for)
ACCOUNTS: list[tuple[str, str, list[StaffRole], str]] = [
    ("porteur@demo.guichet.test", "Alex Exemple", [], "applicant, Le PoleS"),
    ("coopaxis@demo.guichet.test", "Lou Modèle", [], "applicant, CoopAxis"),
    ("r2k@demo.guichet.test", "Charlie Prototype", [], "applicant, SCIC R2K"),
    ("evaluation@demo.guichet.test", "Camille Placeholder", [StaffRole.reviewer], "reviewer"),
    ("instruction@demo.guichet.test", "Dominique Fictif", [StaffRole.officer], "officer"),
    ("finances@demo.guichet.test", "Morgan Specimen", [StaffRole.finance], "finance"),
    ("admin@demo.guichet.test", "Sacha Démo", [StaffRole.admin], "admin"),
]

# Roles per funder: staff who work for one funder only (email, full name, role, the
# funder's slug, what the account is for). The officer and finance accounts above are
# for every funder; these see nothing of Île-de-France.
SCOPED_ACCOUNTS: list[tuple[str, str, StaffRole, str, str]] = [
    (
        "instruction-cvl@demo.guichet.test",
        "Noa Gabarit",
        StaffRole.officer,
        "region-centre-val-de-loire",
        "officer, CVL only",
    ),
    (
        "finances-cvl@demo.guichet.test",
        "Eden Maquette",
        StaffRole.finance,
        "region-centre-val-de-loire",
        "finance, CVL only",
    ),
]


# Organisations from the story; identifiers are fictitious but well-formed.
ORGANISATIONS = [
    (
        "porteur@demo.guichet.test",
        {
            "name": "Le PoleS",
            "legal_form": "association",
            "siret": "81234567600017",
            "rna": "W922003456",
            "street": "11 rue Pierre Curie",
            "postcode": "92390",
            "city": "Villeneuve-la-Garenne",
            "legal_rep_name": "Claude Exemple",
            "legal_rep_title": "Présidente",
            "contact_email": "contact@poles.demo.guichet.test",
            "phone": "01 23 45 67 89",
            "iban": "FR7630006000011234567890189",
            "bic": "AGRIFRPP",
            "description": "École du web dans les quartiers prioritaires : former au métier "
            "d'intégrateur-développeur web en chantier d'insertion.",
        },
    ),
    (
        "coopaxis@demo.guichet.test",
        {
            "name": "CoopAxis",
            "legal_form": "association",
            "siret": "49876543700013",
            "rna": "W372001234",
            "street": "2 rue du Plat d'Étain",
            "postcode": "37000",
            "city": "Tours",
            "legal_rep_name": "Dominique Modèle",
            "legal_rep_title": "Co-président·e",
            "contact_email": "contact@coopaxis.demo.guichet.test",
            "phone": "02 47 00 00 00",
            "iban": "FR4910278372000001234567801",
            "bic": "CMCIFR2A",
            "description": "Brigades numériques : 8 semaines pour les 18-25 ans.",
        },
    ),
    (
        "r2k@demo.guichet.test",
        {
            "name": "SCIC R2K",
            "legal_form": "scic",
            "siret": "53210987300010",
            "rna": "",
            "street": "5 place de la Gare",
            "postcode": "45000",
            "city": "Orléans",
            "legal_rep_name": "Sam Prototype",
            "legal_rep_title": "Gérant·e",
            "contact_email": "contact@r2k.demo.guichet.test",
            "phone": "02 38 00 00 00",
            "iban": "FR1542559100000801234567843",
            "bic": "CCOPFRPP",
            "description": "Former aux métiers du numérique des jeunes sans baccalauréat ; "
            "« Chantier connecté », chantier d'insertion du bâtiment.",
        },
    ),
]


def fictitious_organisation(n: int, name: str, city: str, postcode: str, email: str) -> dict:
    """Well-formed but fictitious identifiers (valid check digits)."""
    siren8 = f"{84_000_000 + n * 1_013:08d}"
    siren = siren8 + luhn.calc_check_digit(siren8)
    siret = siren + "00013"
    siret = siret[:13] + luhn.calc_check_digit(siret[:13])
    bban = f"30004{n:05d}{n:011d}{n % 97:02d}"
    return {
        "name": name,
        "legal_form": "association",
        "siret": siret,
        "rna": f"W{postcode[:2]}{n:07d}",
        "street": f"{n} rue de la République",
        "postcode": postcode,
        "city": city,
        "legal_rep_name": f"Présidence Démo {n}",
        "legal_rep_title": "Président·e",
        "contact_email": email,
        "phone": f"01 00 00 {n:02d} {n:02d}",
        "iban": "FR" + iban.calc_check_digits("FR00" + bban) + bban,
        "bic": "BNPAFRPP",
        "description": "",
    }


def accounts_text() -> str:
    lines = ["Demo accounts (password for all: " + DEMO_PASSWORD + "):"]
    lines += [f"  {purpose:<22} {email}" for email, _name, _roles, purpose in ACCOUNTS]
    lines += [f"  {purpose:<22} {email}" for email, _n, _r, _f, purpose in SCOPED_ACCOUNTS]
    return "\n".join(lines)
