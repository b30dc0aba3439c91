"""The open data of awards (décret n° 2017-779): per funder, the essential data of its
grant agreements, in the SCDL « subventions » table schema (OpenDataFrance, version
2.0.1, tests/data/). Only published awards above the agreement threshold whose
agreement is received; the funder's SIRET comes from its legal settings."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta

from app.core.money import to_decimal
from app.core.time import PARIS
from app.decisions.tables import Decision, Outcome
from app.funders import services as funder_services
from app.grants.agreement_rule import LEGAL_THRESHOLD_CENTS as AGREEMENT_THRESHOLD_CENTS
from app.grants.tables import Grant, Instalment

SCHEMA_VERSION = "2.0.1"
THRESHOLD_CENTS = AGREEMENT_THRESHOLD_CENTS
HEADER = (
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
)


@dataclass(frozen=True, slots=True)
class PublishedAward:
    """One line of the SCDL file: an award as the décret asks it to be published."""

    funder_name: str
    funder_siret: str
    agreement_date: date
    decision_reference: str
    beneficiary: str
    beneficiary_siret: str
    purpose: str
    amount_cents: int
    payment_terms: str  # unique | échelonné
    payment_period: str  # AAAA-MM-JJ or AAAA-MM-JJ/AAAA-MM-JJ

    def row(self) -> list[str]:
        return [
            self.funder_name,
            self.funder_siret,
            self.agreement_date.isoformat(),
            self.decision_reference,
            self.beneficiary,
            self.beneficiary_siret,
            self.purpose[:256],
            f"{to_decimal(self.amount_cents):.2f}",
            "aide en numéraire",
            self.payment_terms,
            self.payment_period,
            "",
            "non",
            "1.00",
        ]


def payment_period(signed: date, dates: list[date], final_report_due: date | None) -> str:
    """When the grant is paid: the agreement's date for a single instalment; for
    several, from the agreement to the last known date (the last dated instalment, else
    the final report's deadline, else a year after the agreement)."""
    if not dates and final_report_due is None:
        return f"{signed.isoformat()}/{(signed + timedelta(days=365)).isoformat()}"
    end = max([*dates, *([final_report_due] if final_report_due else [])])
    return f"{signed.isoformat()}/{max(end, signed).isoformat()}"


async def published_awards(funder_id: int) -> list[PublishedAward]:
    """The funder's awards to publish: decision published, amount above the threshold,
    agreement received (its date is the convention's); newest agreement first. Empty
    while the funder has no SIRET (the file could not be valid without it)."""
    legal = await funder_services.legal_of(funder_id)
    if legal is None or not legal.siret:
        return []
    rows = (
        await Grant.select(
            Grant.id,
            Grant.amount_cents,
            Grant.agreement_uploaded_at,
            Grant.final_report_due,
            Grant.application.title.as_alias("title"),
            Grant.organisation.name.as_alias("beneficiary"),
            Grant.organisation.siret.as_alias("siret"),
            Grant.application.as_alias("application"),
        )
        .where(
            (Grant.call.funder == funder_id)
            & (Grant.amount_cents > AGREEMENT_THRESHOLD_CENTS)
            & Grant.agreement_file.is_not_null()
            & Grant.agreement_uploaded_at.is_not_null()
        )
        .order_by(Grant.agreement_uploaded_at, ascending=False)
    )
    decisions = {
        d["application"]: d
        for d in await Decision.select(Decision.application, Decision.deliberation_reference).where(
            Decision.application.is_in([r["application"] for r in rows] or [0])
            & Decision.published_at.is_not_null()
            & (Decision.outcome == Outcome.award)
        )
    }
    parts: dict[int, list[dict]] = {}
    for part in await Instalment.select(
        Instalment.grant, Instalment.due_on, Instalment.status
    ).where(Instalment.grant.is_in([r["id"] for r in rows] or [0])):
        if part["status"] != "cancelled":
            parts.setdefault(part["grant"], []).append(part)
    awards = []
    for row in rows:
        decision = decisions.get(row["application"])
        if decision is None:
            continue
        signed = row["agreement_uploaded_at"].astimezone(PARIS).date()
        instalments = parts.get(row["id"], [])
        dates = [p["due_on"] for p in instalments if p["due_on"]]
        single = len(instalments) <= 1
        awards.append(
            PublishedAward(
                funder_name=legal.name,
                funder_siret=legal.siret,
                agreement_date=signed,
                decision_reference=decision["deliberation_reference"],
                beneficiary=row["beneficiary"],
                beneficiary_siret=row["siret"],
                purpose=row["title"],
                amount_cents=row["amount_cents"],
                payment_terms="unique" if single else "échelonné",
                payment_period=signed.isoformat()
                if single
                else payment_period(signed, dates, row["final_report_due"]),
            )
        )
    return awards


def scdl_csv(awards: list[PublishedAward]) -> str:
    """The SCDL file: UTF-8, comma-separated, the schema's header (values as they are:
    an open-data file is read by programs, not opened as a spreadsheet formula)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for award in awards:
        writer.writerow(award.row())
    return buffer.getvalue()
