"""The two demo calls: their form, documents, rubric, and dating a call back; the next
edition of the open one, as a draft."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.accounts.services import (
    Actor,
    load_current_user,
)
from app.applications import services as applications
from app.applications.tables import Application
from app.calls import formspec
from app.calls import services as calls
from app.calls.tables import Call
from app.core.time import paris_date, paris_input


def demo_form() -> dict:
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


async def demo_call(
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
            # « Et maintenant ? » tells the applicants, once they have submitted.
            "decision_expected_on": paris_date(closes) + timedelta(days=90),
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
    await calls.change_form(call_id, lambda _form: demo_form(), actor=officer)
    for criterion in DEMO_RUBRIC:
        await calls.add_criterion(call_id, criterion, actor=officer)
    await calls.transition(call_id, "publish", actor=officer)
    return call_id


async def date_back(
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


async def next_edition(call_id: int, officer: Actor) -> int:
    """Next year's edition of a call, as a draft (« Dupliquer pour l'année suivante »):
    its checklist before publication and its preview as applicants will see it."""
    draft = await calls.duplicate(call_id, actor=officer)
    call = await calls.get_call(draft)
    cleaned, errors = calls.clean_settings(
        {
            "funder": str(call["funder"]),
            "title": call["title"].replace(" (copie)", f" — édition {call['closes_at'].year}"),
            "reference_prefix": call["reference_prefix"],
            "summary": call["summary"],
            "body": call["body"],
            "envelope": str(call["envelope_cents"] // 100),
            "min_award": str(call["min_award_cents"] // 100),
            "max_award": str(call["max_award_cents"] // 100),
            "max_rate": str(call["max_rate_bp"] // 100),
            "opens_at": paris_input(call["opens_at"]),
            "closes_at": paris_input(call["closes_at"]),
            "silence_months": "2",
        },
        {call["funder"]},
    )
    if errors:
        raise RuntimeError(f"demo: the next edition's settings are refused: {errors}")
    await calls.update_settings(draft, cleaned, actor=officer)
    return draft
