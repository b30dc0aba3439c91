"""Demo data: what `make run` shows a newcomer. Each feature extends it.

Organisations and calls come from a real story (see shared/product.md); every person
is a clearly fictitious placeholder.
"""

from __future__ import annotations

from app.accounts.services import Actor, count_users, create_user, user_id_by_email
from app.accounts.tables import StaffRole
from app.funders.services import ensure_funder
from app.organisations.services import clean_organisation, create_organisation

DEMO_PASSWORD = "demo-guichet-2026"

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
            "legal_rep_title": "Président·e",
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


async def load(*, if_empty: bool = True) -> bool:
    """Load the demo data; with ``if_empty``, only into a database without users."""
    if if_empty and await count_users() > 0:
        return False
    for funder in FUNDERS:
        await ensure_funder(**funder)
    for email, name, roles, _purpose in ACCOUNTS:
        await create_user(email=email, full_name=name, password=DEMO_PASSWORD, roles=roles)
    for owner_email, values in ORGANISATIONS:
        cleaned, errors = clean_organisation(values)
        assert not errors, errors
        owner = await user_id_by_email(owner_email)
        await create_organisation(cleaned, actor=Actor(user_id=owner, label=owner_email))
    return True


def accounts_text() -> str:
    lines = ["Demo accounts (password for all: " + DEMO_PASSWORD + "):"]
    lines += [f"  {purpose:<22} {email}" for email, _name, _roles, purpose in ACCOUNTS]
    return "\n".join(lines)
