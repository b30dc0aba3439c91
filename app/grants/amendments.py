"""Amendments (avenants) to a grant's agreement: a schedule amended after the agreement
is in force gets an amendment document, generated here and signed like the agreement
(``agreements``: the same signing, countersigning and evidence)."""

from __future__ import annotations

from datetime import date, datetime

import anyio

from app.core import audit
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.money import amount_in_words, format_amount
from app.core.storage import FileStorage
from app.core.time import PARIS, long_date
from app.grants import agreement_pdf, agreement_text
from app.grants.agreements import (
    AMENDMENT_TITLE,
    AgreementError,
    AgreementFacts,
    facts_of,
    letterhead,
    not_found,
    store_once,
    tell,
)
from app.grants.states import AGREEMENT_PENDING
from app.grants.tables import Agreement, Grant


async def amendments_to_draw(grant_id: int) -> list[dict]:
    """The grant's schedule amendments that have no avenant document yet (while its
    agreement is in force): an officer draws each one up for both parties to sign."""
    from app.grants.tables import ScheduleAmendment

    drawn = Agreement.select(Agreement.amendment).where(
        (Agreement.grant == grant_id)
        & Agreement.amendment.is_not_null()
        & Agreement.status.not_in(["replaced", "refused"])
    )
    return await (
        ScheduleAmendment.select(ScheduleAmendment.id, ScheduleAmendment.reason)
        .where(
            (ScheduleAmendment.grant == grant_id)
            & (ScheduleAmendment.kind == "amendment")
            & ScheduleAmendment.id.not_in(drawn)
        )
        .order_by(ScheduleAmendment.id)
    )


def _parts_lines(parts: list[dict]) -> str:
    lines = []
    for p in parts:
        due = f", le {long_date(date.fromisoformat(p['due_on']), 'fr')}" if p.get("due_on") else ""
        lines.append(
            f"— Échéance {p['position']} : {format_amount(p['amount_cents'], 'fr_FR')}{due}"
        )
    return "\n".join(lines)


def amendment_content(
    facts: AgreementFacts,
    amendment: dict,
    *,
    number: int,
    in_force_at: datetime,
    files: FileStorage,
) -> agreement_pdf.AgreementContent:
    """The avenant: which agreement, why, the schedule before and after, the rest kept."""
    org = facts.org
    title = AMENDMENT_TITLE.format(n=number)
    signed_on = long_date(in_force_at.astimezone(PARIS).date(), "fr")
    articles = (
        agreement_text.Article(
            "Préambule",
            (
                f"Vu la convention d’attribution de subvention signée le {signed_on} entre "
                f"{facts.funder.name} et {org['org_name']} (SIRET {org['org_siret'] or '—'}) "
                f"pour le projet « {facts.title} » (dossier {facts.reference}), il est convenu "
                "ce qui suit.",
            ),
        ),
        agreement_text.Article(
            "Article 1 — Objet",
            (
                "Le présent avenant modifie l’échéancier de versement prévu à l’article 3 de "
                f"la convention, pour le motif suivant : {amendment['reason']}",
            ),
        ),
        agreement_text.Article(
            "Article 2 — Échéancier modifié",
            (
                "Échéancier antérieur :\n" + _parts_lines(amendment["before"]),
                "Nouvel échéancier :\n" + _parts_lines(amendment["after"]),
            ),
        ),
        agreement_text.Article(
            "Article 3 — Autres stipulations",
            (
                "Le montant total de la subvention reste de "
                f"{format_amount(facts.amount_cents, 'fr_FR')} "
                f"({amount_in_words(facts.amount_cents, 'fr')}). Les autres stipulations de "
                "la convention demeurent inchangées.",
            ),
        ),
        agreement_text.Article(
            "Article 4 — Prise d’effet",
            (
                "Le présent avenant prend effet à la date de sa signature par la dernière des parties.",
            ),
        ),
    )
    return agreement_pdf.AgreementContent(
        letterhead=letterhead(facts, files),
        title=title,
        reference=f"Dossier {facts.reference}",
        footer=f"{facts.funder.name} — {title} — {facts.reference}",
        articles=articles,
        organisation_lines=(org["org_name"], org["rep_title"], org["rep_name"]),
        funder_lines=facts.funder.signature_lines(),
        signature_header=("Pour le bénéficiaire", "Pour le financeur"),
        signature_note=(
            "Signé électroniquement par les deux parties : les noms, les dates et "
            "l’empreinte de ce document figurent sur la page de preuve qui le suit."
        ),
    )


async def generate_amendment(
    grant_id: int, amendment_id: int, *, files: FileStorage, actor: Actor, base_url: str = ""
) -> int:
    """Draw up the avenant of a schedule amendment, to be signed the same way as the
    agreement: only once the agreement is in force, one avenant per amendment, and not
    while another document of the grant is being signed or checked."""
    from app.grants.tables import ScheduleAmendment

    facts = await facts_of(grant_id)
    if facts is None:
        raise not_found()
    grant = (
        await Grant.select(Grant.agreement_file, Grant.agreement_uploaded_at)
        .where(Grant.id == grant_id)
        .first()
    )
    if not grant["agreement_file"]:
        raise AgreementError(
            "no_agreement",
            N_("The agreement is not in force: generate it again with the new schedule instead."),
        )
    amendment = (
        await ScheduleAmendment.select()
        .where(
            (ScheduleAmendment.id == amendment_id)
            & (ScheduleAmendment.grant == grant_id)
            & (ScheduleAmendment.kind == "amendment")
        )
        .output(load_json=True)
        .first()
    )
    if amendment is None:
        raise not_found()
    if amendment_id not in {a["id"] for a in await amendments_to_draw(grant_id)}:
        raise AgreementError("drawn", N_("This amendment already has its document."))
    number = (
        await Agreement.count().where(
            (Agreement.grant == grant_id)
            & (Agreement.kind == "amendment")
            & Agreement.status.not_in(["replaced", "refused"])
        )
        + 1
    )
    content = amendment_content(
        facts, amendment, number=number, in_force_at=grant["agreement_uploaded_at"], files=files
    )
    data = await anyio.to_thread.run_sync(lambda: agreement_pdf.render_agreement(content))
    stored = await anyio.to_thread.run_sync(
        lambda: store_once(files, data, f"avenant-{number}-{facts.reference}.pdf")
    )
    try:
        async with write_transaction():
            await for_update(Grant.select(Grant.id).where(Grant.id == grant_id))
            if await Agreement.exists().where(
                (Agreement.grant == grant_id) & Agreement.status.is_in(list(AGREEMENT_PENDING))
            ):
                raise AgreementError(
                    "under_way",
                    N_(
                        "Another document of this grant is being signed or checked: finish it first."
                    ),
                )
            agreement_id = (
                await Agreement.insert(
                    Agreement(
                        grant=grant_id,
                        kind="amendment",
                        amendment=amendment_id,
                        method="online",
                        status="to_sign",
                        document_file=stored.storage_id,
                        document_name=stored.filename,
                        document_sha256=stored.sha256,
                        created_by=actor.user_id,
                    )
                ).returning(Agreement.id)
            )[0]["id"]
            await audit.record_by(
                actor,
                "grants.amendment_generated",
                "grant",
                grant_id,
                agreement=agreement_id,
                amendment=amendment_id,
                sha256=stored.sha256,
            )
            await tell(facts, "to_sign", base_url=base_url)
    except BaseException:
        files.delete(stored.storage_id)
        raise
    return agreement_id
