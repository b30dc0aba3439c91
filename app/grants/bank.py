"""The beneficiary's bank details on a grant's page: masked for everyone; shown in
full to finance staff who ask, each time recorded in the audit trail (the trail and
the logs never hold the full IBAN, only who looked at which organisation's)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.audit import Actor, record_by
from app.core.db import write_transaction
from app.organisations.tables import Organisation
from app.organisations.validators import format_iban, format_siret, mask_iban


@dataclass(frozen=True, slots=True)
class BankDetails:
    """What the page shows of the beneficiary: SIRET, IBAN and BIC (masked unless
    ``revealed``)."""

    siret: str
    iban: str
    bic: str
    revealed: bool = False


def mask_bic(bic: str) -> str:
    """« BNPA•••• »: the bank's code, the rest hidden."""
    return bic[:4] + "•" * (len(bic) - 4) if len(bic) > 4 else bic


async def _row(organisation_id: int) -> dict | None:
    return (
        await Organisation.select(Organisation.siret, Organisation.iban, Organisation.bic)
        .where(Organisation.id == organisation_id)
        .first()
    )


async def masked(organisation_id: int) -> BankDetails | None:
    row = await _row(organisation_id)
    if row is None:
        return None
    return BankDetails(
        siret=format_siret(row["siret"]), iban=mask_iban(row["iban"]), bic=mask_bic(row["bic"])
    )


async def reveal(grant_id: int, organisation_id: int, *, actor: Actor) -> BankDetails | None:
    """The full bank details, for a person the permissions allow (the route's guard):
    audited each time, before they are shown."""
    row = await _row(organisation_id)
    if row is None:
        return None
    async with write_transaction():
        await record_by(
            actor,
            "grants.bank_details_revealed",
            "grant",
            grant_id,
            organisation=organisation_id,
            account=mask_iban(row["iban"]),
        )
    return BankDetails(
        siret=format_siret(row["siret"]),
        iban=format_iban(row["iban"]),
        bic=row["bic"],
        revealed=True,
    )
