"""« Mon espace » of the demo applicant: a draft, an unread message, a report due, and
on Le PoleS's page a volunteer's request to join it, waiting for its owner."""

from __future__ import annotations

from app.accounts.services import (
    Actor,
    create_user,
    load_current_user,
    user_id_by_email,
)
from app.applications import services as applications
from app.demo.files import POLES_ORLEANS_PROJECT, apply
from app.demo.people import DEMO_PASSWORD, ORGANISATIONS
from app.organisations.joining import request_to_join
from app.quotas import StorageLimits

# Typed Le PoleS's SIRET when creating « its » organisation, and asked to join it.
VOLUNTEER = ("benevole@demo.guichet.test", "Noa Bénévole")


async def my_space_demo(
    idf: int, cvl: int, officer: Actor, receipts, storage, limits: StorageLimits
) -> None:
    """« Mon espace » of the demo applicant (Le PoleS) shows something in each part: a
    complete draft on the open call, ready for « Vérifier et déposer »; a message of
    the reviewing department not yet read; and, with the committee's data, the final
    report of its 2017 grant, overdue."""
    await apply(
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
    email, name = VOLUNTEER
    volunteer = await create_user(email=email, full_name=name, password=DEMO_PASSWORD)
    poles_siret = next(v["siret"] for _owner, v in ORGANISATIONS if v["name"] == "Le PoleS")
    await request_to_join(poles_siret, base_url="", actor=Actor(user_id=volunteer, label=email))
