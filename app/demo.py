"""Demo data: what `make run` shows a newcomer. Each feature extends it.

Organisations and calls come from a real story (see shared/product.md); every person
is a clearly fictitious placeholder.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import anyio
from stdnum import iban, luhn

from app.accounts.services import (
    SYSTEM,
    Actor,
    count_users,
    create_user,
    load_current_user,
    user_id_by_email,
)
from app.accounts.tables import StaffRole
from app.applications import services as applications
from app.applications.receipts import Receipts
from app.applications.services import member_organisations
from app.applications.tables import Application
from app.calls import formspec
from app.calls import services as calls
from app.calls.tables import Call
from app.core.pdf import FONT_DIR, LetterBuilder, Letterhead
from app.core.storage import FileStorage
from app.core.time import PARIS
from app.decisions import jobs as letters
from app.decisions import services as decisions
from app.funders.services import (
    ensure_funder,
    list_funders,
    set_logo,
    set_signature,
    update_legal,
)
from app.grants import ledger as grant_ledger
from app.grants import notices as grant_notices
from app.grants import reports as grant_reports
from app.grants import services as grant_services
from app.grants.receipts import ReportReceipts
from app.grants.tables import Grant
from app.organisations.services import clean_organisation, create_organisation
from app.organisations.tables import Membership
from app.quotas import StorageLimits
from app.reviews import services as reviews
from app.reviews.tables import Assignment

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


def _check(errors: dict) -> None:
    """Demo data are our own: a refusal means the demo is out of date with the rules."""
    if errors:
        raise RuntimeError(f"demo data refused: {errors}")


def _demo_logo(initials: str, colour: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (360, 120), colour)
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), 64)
    ImageDraw.Draw(image).text((180, 60), initials, fill="white", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _demo_signature() -> bytes:
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


def _demo_form() -> dict:
    form = formspec.add_section(formspec.empty_form(), "Description")
    form = formspec.add_section(form, "Le public et les territoires")
    project, public = form["sections"][0]["key"], form["sections"][1]["key"]
    fields = [
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
    {
        "label": "Statuts de la structure",
        "required": "yes",
        "kinds": ["pdf"],
        "max_mb": "10",
        "about_organisation": "yes",
    },
    {
        "label": "RIB",
        "required": "yes",
        "kinds": ["pdf", "image"],
        "max_mb": "5",
        "about_organisation": "yes",
    },
    {
        "label": "Budget prévisionnel signé",
        "required": "yes",
        "kinds": ["pdf", "office", "opendocument"],
        "max_mb": "10",
    },
    {
        "label": "Dernier rapport d'activité",
        "required": "",
        "kinds": ["pdf"],
        "max_mb": "20",
        "about_organisation": "yes",
    },
]

DEMO_RUBRIC = [
    {
        "title": "Qualité du parcours de formation",
        "guidance": "Progression, contenus, encadrement.",
        "weight": "3",
        "scale": "5",
    },
    {
        "title": "Accès à l'emploi",
        "guidance": "Partenariats avec les employeurs, taux de sortie positive visé.",
        "weight": "3",
        "scale": "5",
    },
    {
        "title": "Publics éloignés de l'emploi",
        "guidance": "Part de jeunes peu qualifiés, de demandeurs d'emploi de longue durée, de QPV.",
        "weight": "2",
        "scale": "5",
    },
    {
        "title": "Solidité financière du projet",
        "guidance": "Budget équilibré, cofinancements.",
        "weight": "2",
        "scale": "5",
    },
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
    for criterion in DEMO_RUBRIC:
        await calls.add_criterion(call_id, criterion, actor=officer)
    await calls.transition(call_id, "publish", actor=officer)
    return call_id


POLES_PROJECT = {
    "title": "L'école du web dans les quartiers prioritaires",
    "requested": 200_000,
    "total": 260_000,
    "answers": {
        "Titre du projet": "L'école du web",
        "Résumé du projet": (
            "Une formation de 10 mois au métier d'intégrateur-développeur web, en chantier "
            "d'insertion de 12 personnes, en cinq phases : bases du numérique, code intensif, "
            "production collective, stage en entreprise, recherche d'emploi."
        ),
        "Date de démarrage prévue": "2017-09-04",
        "Durée de la formation (en mois)": "10",
        "Site web du projet": "https://www.poles.demo.guichet.test",
        "Publics visés": ["Demandeurs d'emploi", "Jeunes de 16 à 25 ans"],
        "Le projet se déroule-t-il dans des quartiers prioritaires ?": "yes",
        "Quels quartiers ?": (
            "Écoles à Villeneuve-la-Garenne, Pantin et Pierrefitte-sur-Seine ; "
            "ouvertures prévues à Poissy et Vitry-sur-Seine."
        ),
    },
}
R2K_PROJECT = {
    "title": "Chantier connecté",
    "requested": 60_000,
    "total": 90_000,
    "answers": {
        "Titre du projet": "Chantier connecté",
        "Résumé du projet": (
            "Un chantier d'insertion des métiers du bâtiment où les jeunes sans baccalauréat "
            "apprennent aussi les outils numériques du métier."
        ),
        "Date de démarrage prévue": "2027-02-01",
        "Durée de la formation (en mois)": "6",
        "Publics visés": ["Jeunes de 16 à 25 ans"],
        "Le projet se déroule-t-il dans des quartiers prioritaires ?": "no",
    },
}
COOPAXIS_PROJECT = {
    "title": "Brigades numériques",
    "requested": 45_000,
    "total": 70_000,
    "answers": {
        "Titre du projet": "Brigades numériques",
        "Résumé du projet": "Huit semaines pour les 18-25 ans : découvrir les métiers du numérique à Tours.",
        "Durée de la formation (en mois)": "2",
    },
}

# Other applicants to the 2017 call: fictitious associations (names are placeholders).
_OTHER = [
    ("Les Ateliers du Code", "Saint-Denis", "93200"),
    ("Cap Numérique 94", "Créteil", "94000"),
    ("Réseau Passerelles Numériques", "Paris", "75011"),
    ("Codeurs Solidaires", "Montreuil", "93100"),
    ("Fabrique Digitale de l'Essonne", "Évry-Courcouronnes", "91000"),
    ("Tremplin Web", "Cergy", "95000"),
    ("Association Pixel Emploi", "Nanterre", "92000"),
    ("Numérique Pour Tous 77", "Meaux", "77100"),
    ("Les Bâtisseurs du Web", "Argenteuil", "95100"),
    ("Data Insertion", "Aubervilliers", "93300"),
    ("Clic Formation", "Versailles", "78000"),
    ("Compétences Connectées", "Ivry-sur-Seine", "94200"),
    ("Mix Numérique", "Bobigny", "93000"),
    ("Ecole Ouverte du Code", "Paris", "75019"),
    ("Femmes et Numérique IDF", "Paris", "75013"),
    ("Sésame Digital", "Sarcelles", "95200"),
    ("Atelier Réparation Numérique", "Clichy", "92110"),
    ("Parcours Tech", "Évry-Courcouronnes", "91000"),
    ("Réseau des Médiateurs", "Saint-Ouen-sur-Seine", "93400"),
    ("Boussole Numérique", "Melun", "77000"),
    ("Développeurs de Demain", "Massy", "91300"),
    ("Le Labo des Métiers", "Trappes", "78190"),
    ("Formation Sans Frontière", "Paris", "75020"),
    ("Graines de Codeurs", "Vitry-sur-Seine", "94400"),
    ("Passeport Emploi Numérique", "Gennevilliers", "92230"),
    ("Coding Quartiers", "Grigny", "91350"),
    ("Studio Insertion", "Mantes-la-Jolie", "78200"),
    ("Inclusion Web Val-d'Oise", "Garges-lès-Gonesse", "95140"),
    ("Réseau Apprendre Ensemble", "Champigny-sur-Marne", "94500"),
    ("Digital Égalité", "Noisy-le-Grand", "93160"),
]
# The 2017 committee's story: Le PoleS and the first 18 other files are laureates (six
# at 1 500 000 €, twelve at 1 400 000 €, a little under what they asked), which with Le
# PoleS's 200 000 € makes exactly 26 000 000 €; the last 12 files are not selected.
LAUREATES = 18


def _award_euros(n: int) -> int | None:
    if n > LAUREATES:
        return None
    return 1_500_000 if n % 3 == 0 else 1_400_000


def _requested_euros(n: int) -> int:
    award = _award_euros(n)
    if award is None:
        return 20_000 + (n * 37_000) % 480_000
    return award if award == 1_500_000 else award + (n * 13_000) % 100_000


OTHER_APPLICANTS = [
    (
        name,
        city,
        postcode,
        {
            "title": f"Former au numérique à {city}",
            "requested": _requested_euros(n),
            "total": _requested_euros(n) * 10 // 8 + 5_000,
            "answers": {
                "Titre du projet": f"Former au numérique à {city}",
                "Résumé du projet": f"Un parcours de formation aux métiers du numérique porté par {name}.",
                "Date de démarrage prévue": "2017-10-02",
                "Durée de la formation (en mois)": str(3 + n % 9),
                "Publics visés": ["Demandeurs d'emploi"],
                "Le projet se déroule-t-il dans des quartiers prioritaires ?": "no",
            },
        },
    )
    for n, (name, city, postcode) in enumerate(_OTHER, start=1)
]
REJECTION_REASONS = [
    "Le budget prévisionnel ne garantit pas la viabilité du projet au-delà de la première année.",
    "Le projet ne cible pas en priorité les demandeurs d'emploi peu qualifiés visés par l'appel.",
    "Les débouchés vers l'emploi à l'issue de la formation ne sont pas démontrés.",
    "Le projet, de qualité, est moins bien classé que les projets retenus dans la limite de l'enveloppe.",
]


CVL_APPLICANTS = [
    ("Centre Social Numérique de Blois", "Blois", "41000"),
    ("Les Bricodeurs de Bourges", "Bourges", "18000"),
    ("Tremplin Chartres", "Chartres", "28000"),
    ("Atelier Web de Châteauroux", "Châteauroux", "36000"),
    ("Insertion Connectée Orléans", "Orléans", "45000"),
    ("Fabrique Numérique de Tours", "Tours", "37000"),
]
DEMO_REVIEWERS = [
    ("relecture1@demo.guichet.test", "Évaluateur Démo Un"),
    ("relecture2@demo.guichet.test", "Évaluatrice Démo Deux"),
]


async def _review_demo(call_id: int, officer: Actor) -> None:
    """Screening and review of the open Centre-Val de Loire call: three reviewers, one
    declared conflict, assignments, submitted and draft reviews, one split decision."""
    staff = await load_current_user(officer.user_id)
    submitted = (
        await Application.select(Application.id, Application.organisation)
        .where((Application.call == call_id) & (Application.status == "submitted"))
        .order_by(Application.id)
    )
    await applications.screen(
        [a["id"] for a in submitted], "eligible", reason="", user=staff, actor=officer, base_url=""
    )
    await reviews.save_settings(
        call_id,
        {"reviews_wanted": "2", "rank_by": "mean", "visibility": "after_own", "threshold": "4"},
        actor=officer,
    )
    for email, name in DEMO_REVIEWERS:
        await create_user(
            email=email, full_name=name, password=DEMO_PASSWORD, roles=[StaffRole.reviewer]
        )
    pool = [
        await user_id_by_email(e)
        for e in ("evaluation@demo.guichet.test", *(e for e, _n in DEMO_REVIEWERS))
    ]
    for reviewer_id in pool:
        await reviews.add_to_pool(call_id, reviewer_id, actor=officer)
    # The demo reviewer was a volunteer at the first file's organisation.
    await reviews.record_conflict(
        pool[0], submitted[0]["organisation"], "Ancien bénévole de la structure", actor=officer
    )
    plan = await reviews.preview(call_id)
    await reviews.apply_preview(call_id, plan.fingerprint, actor=officer)
    call = await calls.get_call(call_id)
    keys = [c["key"] for c in call["rubric"]]
    assignments = (
        await Assignment.select(Assignment.id, Assignment.application, Assignment.reviewer)
        .where(Assignment.application.is_in([a["id"] for a in submitted]))
        .order_by(Assignment.id)
    )
    split = submitted[1]["id"]
    split_seen = False
    for i, assignment in enumerate(assignments):
        reviewer = await load_current_user(assignment["reviewer"])
        actor = Actor(user_id=reviewer.id, label=reviewer.email)
        if assignment["application"] == split:
            # A split decision: one reviewer loves it, the other does not.
            marks = (5, 5, 5, 5) if not split_seen else (1, 1, 2, 1)
            split_seen = True
            submit = True
        else:
            marks = (3 + i % 3, 4, 2 + i % 4, 3)
            submit = i % 4 != 3  # a few stay drafts
        raw = {f"score_{k}": str(min(m, 5)) for k, m in zip(keys, marks, strict=False)}
        raw.update(
            opinion="favourable" if sum(marks) >= 12 else "reserved",
            comment_staff="Projet solide, public bien ciblé."
            if sum(marks) >= 12
            else "Budget fragile.",
        )
        await reviews.save_review(
            assignment["id"], raw, reviewer=reviewer, submit=submit, actor=actor
        )
    # A reviewer gives a file back for a conflict: the officers' « À traiter » shows the
    # review missing, the file « 1 évaluation sur 2 », the automatic assignment a
    # replacement.
    draft = (
        await Assignment.select(Assignment.id, Assignment.reviewer)
        .where(
            Assignment.application.is_in([a["id"] for a in submitted])
            & Assignment.submitted_at.is_null()
            & (Assignment.reviewer != pool[0])
            # Not the file the demo reviewer is conflicted with: a replacement exists.
            & (Assignment.application != submitted[0]["id"])
        )
        .order_by(Assignment.id)
        .first()
    )
    if draft:
        reviewer = await load_current_user(draft["reviewer"])
        await reviews.decline_with_conflict(
            draft["id"],
            "Membre du conseil d'administration de la structure",
            reviewer=reviewer,
            actor=Actor(user_id=reviewer.id, label=reviewer.email),
        )


async def _decide_idf(call_id: int, officer: Actor, settings) -> None:
    """The 2017 committee: every file screened eligible and reviewed, 19 laureates for
    exactly 26 000 000 € (Le PoleS 200 000 € on a 50/30/20 schedule), the others
    rejected with a reason; published, letters written."""
    staff = await load_current_user(officer.user_id)
    files = (
        await Application.select(Application.id, Application.organisation.name.as_alias("name"))
        .where(Application.call == call_id)
        .order_by(Application.id)
    )
    await applications.screen(
        [f["id"] for f in files], "eligible", reason="", user=staff, actor=officer, base_url=""
    )
    await reviews.save_settings(
        call_id,
        {"reviews_wanted": "2", "rank_by": "mean", "visibility": "after_own", "threshold": "4"},
        actor=officer,
    )
    for email in ("evaluation@demo.guichet.test", *(e for e, _n in DEMO_REVIEWERS)):
        await reviews.add_to_pool(call_id, await user_id_by_email(email), actor=officer)
    plan = await reviews.preview(call_id)
    await reviews.apply_preview(call_id, plan.fingerprint, actor=officer)
    call = await calls.get_call(call_id)
    keys = [c["key"] for c in call["rubric"]]
    rank = {f["id"]: i for i, f in enumerate(files)}  # Le PoleS first, then _OTHER's order
    for assignment in await Assignment.select(
        Assignment.id, Assignment.application, Assignment.reviewer
    ).where(Assignment.application.is_in(list(rank))):
        i = rank[assignment["application"]]
        laureate = i <= LAUREATES
        marks = (5, 5, 4, 5) if i == 0 else ((4, 4, 4, 3) if laureate else (2, 3, 2, 2))
        reviewer = await load_current_user(assignment["reviewer"])
        raw = {f"score_{k}": str(m) for k, m in zip(keys, marks, strict=False)}
        raw.update(
            opinion="favourable" if laureate else "unfavourable",
            comment_staff="Projet solide, public bien ciblé." if laureate else "Projet fragile.",
            comment_applicant=(
                "Un projet clair, avec des partenaires identifiés."
                if laureate
                else "Le lien entre la formation et l'emploi visé mérite d'être précisé."
            )
            if reviewer.email == "evaluation@demo.guichet.test"
            else (
                "Des objectifs chiffrés et un suivi des stagiaires convaincants."
                if laureate
                else "Le budget repose sur des cofinancements encore incertains."
            ),
        )
        await reviews.save_review(
            assignment["id"],
            raw,
            reviewer=reviewer,
            submit=True,
            actor=Actor(user_id=reviewer.id, label=reviewer.email),
        )
    await decisions.save_settings(
        call_id,
        {
            "deliberation_reference": "CP 2017-123",
            "deliberation_date": "2017-05-17",
            "place": "Saint-Ouen-sur-Seine",
            # No signatory of its own: the funder's, by delegation (FUNDER_LEGAL).
            "schedule_preset": "50-30-20",
            "share_reviews": "yes",
        },
        actor=officer,
    )
    for f in files:
        i = rank[f["id"]]
        if i == 0:
            amount = 20_000_000
        elif (award := _award_euros(i)) is not None:
            amount = award * 100
        else:
            amount = None
        if amount is not None:
            await decisions.decide(
                f["id"], outcome="award", amount=amount, reason="", actor=officer
            )
        else:
            reason = REJECTION_REASONS[i % len(REJECTION_REASONS)]
            await decisions.decide(
                f["id"], outcome="reject", amount=None, reason=reason, actor=officer
            )
    await decisions.publish(call_id, (await decisions.pending(call_id)).token, actor=officer)
    await letters.run_pending(
        storage=FileStorage.from_settings(settings),
        base_url=settings.base_url,
        data_dir=settings.data_dir,
    )


DEMO_REPORT_DOCUMENTS = {
    "activity": ("Rapport d'activité", "rapport-activite.pdf"),
    "expenses": ("État récapitulatif des dépenses", "etat-des-depenses.pdf"),
}


async def _follow_idf(call_id: int, officer: Actor, storage: FileStorage, settings) -> None:
    """The 2017 grants at various stages: Le PoleS accepted, paid 100 000 € then, after
    its approved interim report, 60 000 €; other laureates accepted and partly paid, or
    not yet accepted; one whose final report shows much lower spending, reduced, with a
    recovery open."""
    finance_id = await user_id_by_email("finances@demo.guichet.test")
    finance = Actor(user_id=finance_id, label="finances@demo.guichet.test")
    grants_ = (
        await Grant.select(
            Grant.id,
            Grant.application,
            Grant.amount_cents,
            Grant.organisation,
            Grant.application.budget.as_alias("budget"),
            Grant.application.requested_cents.as_alias("requested"),
        )
        .where(Grant.call == call_id)
        .order_by(Grant.application)
    )

    async def accept(grant: dict, deadlines: bool = True) -> Actor:
        owner = (
            await Membership.select(Membership.user, Membership.user.email.as_alias("email"))
            .where(Membership.organisation == grant["organisation"])
            .first()
        )
        member = Actor(user_id=owner["user"], label=owner["email"], ip="192.0.2.10")
        await grant_services.accept(
            grant["id"],
            signatory_name="Présidence Démo",
            signatory_capacity="Président·e",
            conditions_ticked=True,
            user_id=owner["user"],
            actor=member,
        )
        # Above 23 000 €, the signed agreement comes before the first payment.
        stored = await anyio.to_thread.run_sync(
            lambda: storage.store_bytes(
                _document_pdf("Convention signée"), filename="convention.pdf", kinds={"pdf"}
            )
        )
        await grant_services.attach_agreement(
            grant["id"],
            storage_id=stored.storage_id,
            name=stored.filename,
            sha256=stored.sha256,
            actor=member,
        )
        # Signed in June 2017 in the story (the open-data file's « dateConvention »).
        await Grant.update(
            {Grant.agreement_uploaded_at: datetime(2017, 6, 20, 10, tzinfo=UTC)}
        ).where(Grant.id == grant["id"])
        if deadlines:
            await grant_services.set_deadlines(
                grant["id"], date(2018, 1, 31), date(2018, 12, 31), actor=officer
            )
        return member

    async def pay(grant: dict, position: int, value_date: date, mandate: str) -> None:
        part = (await grant_services.instalments(grant["id"]))[position - 1]
        await grant_services.transition_instalment(
            grant["id"], part.id, "approve", role="officer", actor=officer
        )
        await grant_ledger.record_payment(
            grant["id"],
            part.id,
            amount_cents=part.amount_cents,
            value_date=value_date,
            reference=mandate,
            idempotency_key=f"demo-{grant['id']}-{position}",
            actor=finance,
        )

    async def report(grant: dict, member: Actor, kind: str, spent_percent: int) -> None:
        budget = (
            json.loads(grant["budget"]) if isinstance(grant["budget"], str) else grant["budget"]
        )
        values = {
            "narrative": "Les sessions prévues ont eu lieu ; les stagiaires ont suivi le parcours "
            "et la plupart ont trouvé un emploi ou une formation qualifiante.",
            **{
                grant_reports.field_name("charges", line): str(cents * spent_percent // 10_000)
                for line, cents in budget.get("charges", {}).items()
            },
        }
        # Its required documents (the activity report, the statement of expenses…).
        draft = await grant_reports.report_of(grant["id"], kind)
        for document in grant_reports.DOCUMENTS[kind]:
            if not document.required:
                continue
            title, name = DEMO_REPORT_DOCUMENTS[document.key]
            stored = await anyio.to_thread.run_sync(
                lambda title=title, name=name: storage.store_bytes(
                    _document_pdf(title), filename=name, kinds={"pdf"}
                )
            )
            await grant_reports.add_attachment(
                draft.id,
                stored,
                document=document.key,
                user_id=member.user_id,
                actor=member,
                limits=StorageLimits.from_settings(settings),
            )
        record = await grant_services.get_grant(grant["id"])
        typed, _refused = grant_reports.parse_actuals(
            values, grant_reports.statement(record.budget, record.requested_cents, {})
        )
        shown = grant_reports.effect(record, typed)
        errors = await grant_reports.save(
            grant["id"],
            kind,
            values,
            submit=True,
            confirmed=True,
            user_id=member.user_id,
            actor=member,
            previewed=str(shown.actual_cents) if shown else None,
            receipts=ReportReceipts(settings),
        )
        _check(errors)
        await grant_reports.review(
            grant["id"], kind, approve=True, message="", actor=officer, base_url=""
        )

    for n, grant in enumerate(grants_):
        if n == 0:  # Le PoleS
            member = await accept(grant)
            await pay(grant, 1, date(2017, 7, 3), "M-2017-04512")
            await report(grant, member, "interim", 100)
            await pay(grant, 2, date(2018, 2, 15), "M-2018-00871")
        elif n == 1:  # spent far less than planned: reduced, paid too much
            member = await accept(grant)
            await pay(grant, 1, date(2017, 7, 10), f"M-2017-0{4600 + n}")
            await report(grant, member, "interim", 100)
            await pay(grant, 2, date(2018, 3, 1), f"M-2018-0{900 + n}")
            await report(grant, member, "final", 60)
            await grant_reports.apply_final_reduction(grant["id"], actor=officer)
            await grant_notices.issue_reduction_notice(
                grant["id"],
                storage=storage,
                base_url="",
                actor=officer,
                today=datetime(2019, 3, 4, 10, tzinfo=UTC),
            )
        elif n < 12:  # accepted, first instalment paid (a few with report deadlines)
            await accept(grant, deadlines=n < 5)
            await pay(grant, 1, date(2017, 7 + n % 4, 5 + n), f"M-2017-0{4600 + n}")
        elif n < 16:  # accepted, first instalment approved, waiting for payment
            await accept(grant, deadlines=False)
            part = (await grant_services.instalments(grant["id"]))[0]
            await grant_services.transition_instalment(
                grant["id"], part.id, "approve", role="officer", actor=officer
            )
        # The last ones have not accepted yet.


def _fictitious_organisation(n: int, name: str, city: str, postcode: str, email: str) -> dict:
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


def _document_pdf(title: str) -> bytes:
    """A one-page PDF standing for a document an association would upload."""
    letter = LetterBuilder(letterhead=Letterhead(name="Document de démonstration"), title=title)
    letter.paragraph(f"{title} — pièce fictive créée pour la démonstration de Guichet.")
    return letter.build()


def _budget_values(requested: int, total: int) -> dict[str, str]:
    """A balanced CERFA budget around ``requested`` (whole euros)."""
    staff = total * 60 // 100
    purchases = total * 15 // 100
    services = total * 10 // 100
    other = total - staff - purchases - services
    state = (total - requested) * 2 // 3
    fees = total - requested - state
    return {
        "requested": str(requested),
        "budget_charges_64": str(staff),
        "budget_charges_60": str(purchases),
        "budget_charges_61": str(services),
        "budget_charges_62": str(other),
        "budget_produits_74_etat": str(state),
        "budget_produits_75": str(fees),
    }


def _answers(form: dict, project: dict) -> dict:
    by_label = {f["label"]: f["key"] for f in formspec.fields_of(form)}
    return {
        by_label[label]: value for label, value in project["answers"].items() if label in by_label
    }


async def _apply(
    call_id: int,
    email: str,
    project: dict,
    receipts,
    storage,
    *,
    submit: bool,
    limits: StorageLimits,
    attach: bool = False,
) -> int:
    """A file of ``email``'s first organisation: a draft with its answers and budget,
    its documents attached when ``submit`` or ``attach``, submitted when ``submit``."""
    user = await load_current_user(await user_id_by_email(email))
    org = (await member_organisations(user.id))[0]["id"]
    actor = Actor(user_id=user.id, label=email)
    app_id = await applications.start_application(call_id, org, user=user, actor=actor)
    app = await applications.application_for(user, app_id)
    raw = {
        "title": project["title"],
        **_answers(app.form, project),
        **_budget_values(project["requested"], project["total"]),
    }
    await applications.save_draft(app_id, user=user, version=app.version, raw=raw, actor=actor)
    if not (submit or attach):
        return app_id
    for document in app.documents:
        stored = await anyio.to_thread.run_sync(
            lambda d=document: storage.store_bytes(
                _document_pdf(d["label"]), filename=f"{d['label']}.pdf", kinds={"pdf"}
            )
        )
        await applications.add_attachment(
            app_id,
            document["key"],
            DemoFile(stored),
            user=user,
            actor=actor,
            limits=limits,
            storage=storage,
        )
    if not submit:
        return app_id
    await applications.submit(
        app_id,
        user=user,
        actor=actor,
        receipts=receipts,
        received_at=applications.now(),
        declaration=applications.Declaration(
            name=user.full_name, capacity="Président·e", certified=True
        ),
    )
    return app_id


class DemoFile:
    def __init__(self, stored):
        self.storage_id, self.original_name, self.size = (
            stored.storage_id,
            stored.filename,
            stored.size,
        )
        self.sha256, self.kind, self.content_type = stored.sha256, stored.kind, stored.content_type


async def _date_back(
    call_id: int, *, opens: datetime, closes: datetime, receipts, officer: Actor
) -> None:
    """The 2017 call: its dates, and its files submitted in the weeks before the deadline
    (with their receipts written again for those dates)."""
    await Call.update({Call.opens_at: opens, Call.closes_at: closes}).where(Call.id == call_id)
    rows = (
        await Application.select(Application.id)
        .where(Application.call == call_id)
        .order_by(Application.id)
    )
    for i, row in enumerate(rows):
        submitted = closes - timedelta(days=40 - i, hours=i % 7, minutes=7 * i % 60)
        await Application.update(
            {
                Application.submitted_at: submitted,
                Application.updated_at: submitted,
                Application.created_at: submitted - timedelta(days=10),
            }
        ).where(Application.id == row["id"])
    staff = await load_current_user(officer.user_id)
    for row in rows:
        app = await applications.application_for(staff, row["id"])
        attachments = await applications.current_attachments(row["id"])
        old = app.receipt_file
        new = await receipts.write(app, attachments)
        await Application.update({Application.receipt_file: new}).where(Application.id == row["id"])
        receipts.discard(old)


async def load(*, if_empty: bool = True, settings=None, committee: bool = True) -> bool:
    """Load the demo data; with ``if_empty``, only into a database without users.
    Without ``committee``, the 2017 call stops before screening (files submitted)."""
    if if_empty and await count_users() > 0:
        return False
    storage = FileStorage.from_settings(settings)
    for funder, (initials, colour) in zip(FUNDERS, DEMO_LOGOS, strict=True):
        funder_id = await ensure_funder(**funder)
        stored = storage.store_bytes(
            _demo_logo(initials, colour), filename=f"logo-{initials}.png", kinds={"image"}
        )
        await set_logo(funder_id, stored.storage_id, actor=SYSTEM)
        _check(
            {"legal": errors}
            if (errors := await update_legal(funder_id, FUNDER_LEGAL[funder["slug"]], actor=SYSTEM))
            else {}
        )
        if funder["slug"] == "region-ile-de-france":
            signed = storage.store_bytes(
                _demo_signature(), filename="signature.png", kinds={"image"}
            )
            await set_signature(funder_id, signed.storage_id, actor=SYSTEM)
    for email, name, roles, _purpose in ACCOUNTS:
        await create_user(email=email, full_name=name, password=DEMO_PASSWORD, roles=roles)
    for owner_email, values in ORGANISATIONS:
        cleaned, errors = clean_organisation(values)
        _check(errors)
        owner = await user_id_by_email(owner_email)
        await create_organisation(cleaned, actor=Actor(user_id=owner, label=owner_email))
    officer_email = "instruction@demo.guichet.test"
    officer = Actor(user_id=await user_id_by_email(officer_email), label=officer_email)
    funders = {f["slug"]: f["id"] for f in await list_funders()}
    receipts = Receipts(settings)
    limits = StorageLimits.from_settings(settings)
    now = datetime.now(PARIS).replace(second=0, microsecond=0)

    # Île-de-France, 2017: opened now to take the files through the real services,
    # then dated back to the real call and closed.
    idf = await _demo_call(
        funders["region-ile-de-france"],
        officer,
        title="Le numérique au service de la formation professionnelle",
        prefix="IDF-2017",
        envelope=2_600_000_000,
        region="Île-de-France",
        opens=now - timedelta(days=1),
        closes=now + timedelta(days=1),
    )
    await _apply(
        idf,
        "porteur@demo.guichet.test",
        POLES_PROJECT,
        receipts,
        storage,
        limits=limits,
        submit=True,
    )
    for n, (name, city, postcode, project) in enumerate(OTHER_APPLICANTS, start=1):
        email = f"porteur{n:02d}@demo.guichet.test"
        await create_user(email=email, full_name=f"Porteur Démo {n}", password=DEMO_PASSWORD)
        cleaned, errors = clean_organisation(
            _fictitious_organisation(n, name, city, postcode, email)
        )
        _check(errors)
        await create_organisation(
            cleaned, actor=Actor(user_id=await user_id_by_email(email), label=email)
        )
        await _apply(idf, email, project, receipts, storage, limits=limits, submit=True)
    await _date_back(
        idf,
        opens=datetime(2016, 12, 1, 9, 0, tzinfo=PARIS),
        closes=datetime(2017, 3, 17, 12, 0, tzinfo=PARIS),
        receipts=receipts,
        officer=officer,
    )
    await calls.transition(idf, "close", actor=officer)

    cvl = await _demo_call(
        funders["region-centre-val-de-loire"],
        officer,
        title="Compétences numériques et insertion des jeunes",
        prefix=f"CVL-{now.year}",
        envelope=300_000_000,
        region="Centre-Val de Loire",
        opens=now.replace(hour=12, minute=0) - timedelta(days=20),
        closes=now.replace(hour=12, minute=0) + timedelta(days=40),
    )
    await _apply(
        cvl, "r2k@demo.guichet.test", R2K_PROJECT, receipts, storage, limits=limits, submit=True
    )
    await _apply(
        cvl,
        "coopaxis@demo.guichet.test",
        COOPAXIS_PROJECT,
        receipts,
        storage,
        limits=limits,
        submit=False,
    )
    for n, (name, city, postcode) in enumerate(CVL_APPLICANTS, start=101):
        email = f"porteur{n}@demo.guichet.test"
        await create_user(email=email, full_name=f"Porteur Démo {n}", password=DEMO_PASSWORD)
        cleaned, errors = clean_organisation(
            _fictitious_organisation(n, name, city, postcode, email)
        )
        _check(errors)
        await create_organisation(
            cleaned, actor=Actor(user_id=await user_id_by_email(email), label=email)
        )
        requested = 15_000 + n % 7 * 9_000
        project = {
            "title": f"Numérique et insertion à {city}",
            "requested": requested,
            "total": requested * 10 // 7,
            "answers": {
                "Résumé du projet": f"Un parcours vers l'emploi porté par {name}.",
                "Date de démarrage prévue": "2027-03-01",
                "Durée de la formation (en mois)": "4",
                "Publics visés": ["Jeunes de 16 à 25 ans"],
                "Le projet se déroule-t-il dans des quartiers prioritaires ?": "no",
            },
        }
        await _apply(cvl, email, project, receipts, storage, limits=limits, submit=True)
    await _review_demo(cvl, officer)
    if committee:
        await _decide_idf(idf, officer, settings)
        await _follow_idf(idf, officer, storage, settings)
    await _my_space_demo(idf, cvl, officer, receipts, storage, limits)
    return True


POLES_ORLEANS_PROJECT = {
    "title": "L'école du web à Orléans",
    "requested": 80_000,
    "total": 120_000,
    "answers": {
        "Titre du projet": "L'école du web à Orléans",
        "Résumé du projet": (
            "Une nouvelle école du web, sur le modèle de celles de Villeneuve-la-Garenne, "
            "Pantin et Pierrefitte-sur-Seine : 10 mois pour devenir intégrateur-développeur "
            "web, en chantier d'insertion de 12 personnes."
        ),
        "Date de démarrage prévue": "2027-09-06",
        "Durée de la formation (en mois)": "10",
        "Publics visés": ["Demandeurs d'emploi", "Jeunes de 16 à 25 ans"],
        "Le projet se déroule-t-il dans des quartiers prioritaires ?": "no",
    },
}


async def _my_space_demo(
    idf: int, cvl: int, officer: Actor, receipts, storage, limits: StorageLimits
) -> None:
    """« Mon espace » of the demo applicant (Le PoleS) shows something in each part: a
    complete draft on the open call, ready for « Vérifier et déposer »; a message of
    the reviewing department not yet read; and, with the committee's data, the final
    report of its 2017 grant, overdue."""
    await _apply(
        cvl,
        "porteur@demo.guichet.test",
        POLES_ORLEANS_PROJECT,
        receipts,
        storage,
        limits=limits,
        submit=False,
        attach=True,
    )
    poles = await load_current_user(await user_id_by_email("porteur@demo.guichet.test"))
    idf_file = next(
        f
        for f in await applications.applications_of(poles.id)
        if f.reference and f.reference.startswith("IDF")
    )
    staff = await load_current_user(officer.user_id)
    await applications.post_message(
        idf_file.id,
        "Bonjour, nous n'avons pas encore reçu le bilan final de l'école du web, attendu "
        "pour le 31 décembre 2018. Pouvez-vous le déposer depuis la page de la subvention ?",
        None,
        user=staff,
        actor=officer,
        base_url="",
        limits=limits,
    )


def accounts_text() -> str:
    lines = ["Demo accounts (password for all: " + DEMO_PASSWORD + "):"]
    lines += [f"  {purpose:<22} {email}" for email, _name, _roles, purpose in ACCOUNTS]
    return "\n".join(lines)
