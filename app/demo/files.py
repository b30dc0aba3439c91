"""The demo files: each organisation's project and how it applies through the real services."""

from __future__ import annotations

import anyio

from app.accounts.services import (
    Actor,
    load_current_user,
    user_id_by_email,
)
from app.applications import services as applications
from app.applications.services import member_organisations
from app.calls import formspec
from app.core.pdf import LetterBuilder, Letterhead
from app.quotas import StorageLimits

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
OTHER = [
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


def award_euros(n: int) -> int | None:
    if n > LAUREATES:
        return None
    return 1_500_000 if n % 3 == 0 else 1_400_000


def requested_euros(n: int) -> int:
    award = award_euros(n)
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
            "requested": requested_euros(n),
            "total": requested_euros(n) * 10 // 8 + 5_000,
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
    for n, (name, city, postcode) in enumerate(OTHER, start=1)
]


CVL_APPLICANTS = [
    ("Centre Social Numérique de Blois", "Blois", "41000"),
    ("Les Bricodeurs de Bourges", "Bourges", "18000"),
    ("Tremplin Chartres", "Chartres", "28000"),
    ("Atelier Web de Châteauroux", "Châteauroux", "36000"),
    ("Insertion Connectée Orléans", "Orléans", "45000"),
    ("Fabrique Numérique de Tours", "Tours", "37000"),
]


def document_pdf(title: str) -> bytes:
    """A one-page PDF standing for a document an association would upload."""
    letter = LetterBuilder(letterhead=Letterhead(name="Document de démonstration"), title=title)
    letter.paragraph(f"{title} — pièce fictive créée pour la démonstration de Guichet.")
    return letter.build()


def budget_values(requested: int, total: int) -> dict[str, str]:
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


def answers(form: dict, project: dict) -> dict:
    by_label = {f["label"]: f["key"] for f in formspec.fields_of(form)}
    return {
        by_label[label]: value for label, value in project["answers"].items() if label in by_label
    }


async def apply(
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
        **answers(app.form, project),
        **budget_values(project["requested"], project["total"]),
    }
    await applications.save_draft(app_id, user=user, version=app.version, raw=raw, actor=actor)
    if not (submit or attach):
        return app_id
    for document in app.documents:
        stored = await anyio.to_thread.run_sync(
            lambda d=document: storage.store_bytes(
                document_pdf(d["label"]), filename=f"{d['label']}.pdf", kinds={"pdf"}
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
