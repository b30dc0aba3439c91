"""The order in which the demo stories are loaded."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.accounts.services import (
    SYSTEM,
    Actor,
    count_users,
    create_user,
    grant_role,
    user_id_by_email,
)
from app.applications.receipts import Receipts
from app.calls import services as calls
from app.core.storage import FileStorage
from app.core.time import PARIS
from app.demo.calls import date_back, demo_call, next_edition
from app.demo.committee import decide_idf, follow_idf
from app.demo.files import (
    COOPAXIS_PROJECT,
    CVL_APPLICANTS,
    OTHER_APPLICANTS,
    POLES_PROJECT,
    R2K_PROJECT,
    apply,
)
from app.demo.my_space import my_space_demo
from app.demo.people import (
    ACCOUNTS,
    DEMO_LOGOS,
    DEMO_PASSWORD,
    FUNDER_LEGAL,
    FUNDERS,
    ORGANISATIONS,
    SCOPED_ACCOUNTS,
    check,
    demo_logo,
    demo_signature,
    fictitious_organisation,
)
from app.demo.review import review_demo
from app.funders.services import (
    ensure_funder,
    list_funders,
    set_logo,
    set_signature,
    update_legal,
)
from app.organisations.services import clean_organisation, create_organisation
from app.quotas import StorageLimits


async def load(*, if_empty: bool = True, settings=None, committee: bool = True) -> bool:
    """Load the demo data; with ``if_empty``, only into a database without users.
    Without ``committee``, the 2017 call stops before screening (files submitted)."""
    if if_empty and await count_users() > 0:
        return False
    storage = FileStorage.from_settings(settings)
    for funder, (initials, colour) in zip(FUNDERS, DEMO_LOGOS, strict=True):
        funder_id = await ensure_funder(**funder)
        stored = storage.store_bytes(
            demo_logo(initials, colour), filename=f"logo-{initials}.png", kinds={"image"}
        )
        await set_logo(funder_id, stored.storage_id, actor=SYSTEM)
        check(
            {"legal": errors}
            if (errors := await update_legal(funder_id, FUNDER_LEGAL[funder["slug"]], actor=SYSTEM))
            else {}
        )
        if funder["slug"] == "region-ile-de-france":
            signed = storage.store_bytes(
                demo_signature(), filename="signature.png", kinds={"image"}
            )
            await set_signature(funder_id, signed.storage_id, actor=SYSTEM)
    for email, name, roles, _purpose in ACCOUNTS:
        await create_user(email=email, full_name=name, password=DEMO_PASSWORD, roles=roles)
    funder_ids = {f["slug"]: f["id"] for f in await list_funders()}
    for email, name, role, funder_slug, _purpose in SCOPED_ACCOUNTS:
        user_id = await create_user(email=email, full_name=name, password=DEMO_PASSWORD)
        await grant_role(user_id, role, actor=SYSTEM, funder_id=funder_ids[funder_slug])
    for owner_email, values in ORGANISATIONS:
        cleaned, errors = clean_organisation(values)
        check(errors)
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
    idf = await demo_call(
        funders["region-ile-de-france"],
        officer,
        title="Le numérique au service de la formation professionnelle",
        prefix="IDF-2017",
        envelope=2_600_000_000,
        region="Île-de-France",
        opens=now - timedelta(days=1),
        closes=now + timedelta(days=1),
    )
    await apply(
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
            fictitious_organisation(n, name, city, postcode, email)
        )
        check(errors)
        await create_organisation(
            cleaned, actor=Actor(user_id=await user_id_by_email(email), label=email)
        )
        await apply(idf, email, project, receipts, storage, limits=limits, submit=True)
    await date_back(
        idf,
        opens=datetime(2016, 12, 1, 9, 0, tzinfo=PARIS),
        closes=datetime(2017, 3, 17, 12, 0, tzinfo=PARIS),
        receipts=receipts,
        officer=officer,
    )
    await calls.transition(idf, "close", actor=officer)

    cvl = await demo_call(
        funders["region-centre-val-de-loire"],
        officer,
        title="Compétences numériques et insertion des jeunes",
        prefix=f"CVL-{now.year}",
        envelope=300_000_000,
        region="Centre-Val de Loire",
        opens=now.replace(hour=12, minute=0) - timedelta(days=20),
        closes=now.replace(hour=12, minute=0) + timedelta(days=40),
    )
    await apply(
        cvl, "r2k@demo.guichet.test", R2K_PROJECT, receipts, storage, limits=limits, submit=True
    )
    await apply(
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
            fictitious_organisation(n, name, city, postcode, email)
        )
        check(errors)
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
        await apply(cvl, email, project, receipts, storage, limits=limits, submit=True)
    await review_demo(cvl, officer)
    await next_edition(cvl, officer)
    if committee:
        await decide_idf(idf, officer, settings)
        await follow_idf(idf, officer, storage, settings)
    await my_space_demo(idf, cvl, officer, receipts, storage, limits)
    return True
