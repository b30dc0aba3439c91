"""Demo data: what `make run` shows a newcomer. Each feature extends it.

Organisations and calls come from a real story (see shared/product.md); every person
is a clearly fictitious placeholder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.accounts.services import Actor, count_users, create_user, user_id_by_email
from app.accounts.tables import StaffRole
from app.calls import formspec
from app.calls import services as calls
from app.funders.services import ensure_funder, list_funders
from app.organisations.services import clean_organisation, create_organisation

PARIS = ZoneInfo("Europe/Paris")
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


def _demo_form() -> dict:
    form = formspec.add_section(formspec.empty_form(), "Le projet")
    form = formspec.add_section(form, "Le public et les territoires")
    project, public = form["sections"][0]["key"], form["sections"][1]["key"]
    fields = [
        (project, {"type": "short_text", "label": "Titre du projet", "required": "yes"}),
        (
            project,
            {
                "type": "long_text",
                "label": "Résumé du projet",
                "required": "yes",
                "max_length": "2000",
                "help": "En quelques phrases : objectifs, déroulé, résultats attendus.",
            },
        ),
        (project, {"type": "date", "label": "Date de démarrage prévue", "required": "yes"}),
        (
            project,
            {"type": "number", "label": "Durée de la formation (en mois)", "required": "yes"},
        ),
        (project, {"type": "url", "label": "Site web du projet"}),
        (
            public,
            {
                "type": "multiple_choice",
                "label": "Publics visés",
                "required": "yes",
                "choices": "Demandeurs d'emploi\nJeunes de 16 à 25 ans\nSalariés en reconversion",
            },
        ),
        (
            public,
            {
                "type": "yes_no",
                "label": "Le projet se déroule-t-il dans des quartiers prioritaires ?",
                "required": "yes",
            },
        ),
    ]
    for section, values in fields:
        form = formspec.add_field(form, section, formspec.clean_field(values, form))
    qpv = form["sections"][1]["fields"][-1]["key"]
    form = formspec.add_field(
        form,
        public,
        formspec.clean_field(
            {
                "type": "long_text",
                "label": "Quels quartiers ?",
                "required": "yes",
                "condition_field": qpv,
                "condition_value": "yes",
            },
            form,
        ),
    )
    return form


DEMO_DOCUMENTS = [
    {"label": "Statuts de la structure", "required": "yes", "kinds": ["pdf"], "max_mb": "10"},
    {"label": "RIB", "required": "yes", "kinds": ["pdf", "image"], "max_mb": "5"},
    {
        "label": "Budget prévisionnel signé",
        "required": "yes",
        "kinds": ["pdf", "office", "opendocument"],
        "max_mb": "10",
    },
    {"label": "Dernier rapport d'activité", "required": "", "kinds": ["pdf"], "max_mb": "20"},
]

CALL_TEXT = """Le numérique transforme les métiers et la manière de se former.
Cet appel à projets soutient des **formations innovantes** qui s'appuient sur le numérique
pour mener vers l'emploi des personnes qui en sont éloignées.

- formations qualifiantes aux métiers du numérique ;
- parcours d'insertion avec une part de production réelle ;
- partenariats avec les entreprises du territoire.
"""


async def _demo_call(
    funder_id: int,
    officer: Actor,
    *,
    title: str,
    prefix: str,
    envelope: int,
    opens: datetime,
    closes: datetime,
    region: str,
    status: str,
) -> int:
    call_id = await calls.create_call(
        {
            "funder": funder_id,
            "title": title,
            "reference_prefix": prefix,
            "summary": f"Former aux métiers du numérique les personnes éloignées de l'emploi en {region}.",
            "body": CALL_TEXT,
            "envelope_cents": envelope,
            "min_award_cents": 1_000_000,
            "max_award_cents": 150_000_000 if envelope > 100_000_000 else 20_000_000,
            "max_rate_bp": 8000,
            "opens_at": opens,
            "closes_at": closes,
        },
        actor=officer,
    )
    await calls.add_eligibility_question(
        call_id,
        {
            "label": "Votre structure existe-t-elle depuis au moins un an ?",
            "blocking": "no",
            "explanation": "L'appel est réservé aux structures ayant au moins un an d'existence.",
        },
        actor=officer,
    )
    await calls.add_eligibility_question(
        call_id,
        {
            "label": f"Le projet se déroule-t-il en {region} ?",
            "blocking": "no",
            "explanation": f"Seuls les projets menés en {region} peuvent être financés par cet appel.",
        },
        actor=officer,
    )
    for document in DEMO_DOCUMENTS:
        await calls.add_document(call_id, document, actor=officer)
    await calls.change_form(call_id, lambda _form: _demo_form(), actor=officer)
    await calls.transition(call_id, "publish", actor=officer)
    if status == "closed":
        await calls.transition(call_id, "close", actor=officer)
    return call_id


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
    officer_email = "instruction@demo.guichet.test"
    officer = Actor(user_id=await user_id_by_email(officer_email), label=officer_email)
    funders = {f["slug"]: f["id"] for f in await list_funders()}
    await _demo_call(
        funders["region-ile-de-france"],
        officer,
        title="Le numérique au service de la formation professionnelle",
        prefix="IDF-2017",
        envelope=2_600_000_000,
        region="Île-de-France",
        status="closed",
        opens=datetime(2016, 12, 1, 9, 0, tzinfo=PARIS),
        closes=datetime(2017, 3, 17, 12, 0, tzinfo=PARIS),
    )
    today = datetime.now(PARIS).replace(hour=12, minute=0, second=0, microsecond=0)
    await _demo_call(
        funders["region-centre-val-de-loire"],
        officer,
        title="Compétences numériques et insertion des jeunes",
        prefix=f"CVL-{today.year}",
        envelope=300_000_000,
        region="Centre-Val de Loire",
        status="published",
        opens=today - timedelta(days=20),
        closes=today + timedelta(days=40),
    )
    return True


def accounts_text() -> str:
    lines = ["Demo accounts (password for all: " + DEMO_PASSWORD + "):"]
    lines += [f"  {purpose:<22} {email}" for email, _name, _roles, purpose in ACCOUNTS]
    return "\n".join(lines)
