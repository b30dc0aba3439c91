"""Funders: the public bodies that publish calls."""

from __future__ import annotations

import re

from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.domain import DomainError
from app.core.forms import valid_email, web_address
from app.core.i18n import gettext_noop as N_
from app.funders.models import DEFAULT_APPEAL_ROUTES, FunderLegal, funder_legal
from app.funders.tables import Funder
from app.organisations.validators import IdentifierError, clean_siret


async def list_funders() -> list[dict]:
    return await Funder.select(
        Funder.id, Funder.name, Funder.slug, Funder.kind, Funder.website
    ).order_by(Funder.name)


async def ensure_funder(*, name: str, slug: str, kind: str, address: str, website: str) -> int:
    """Create the funder unless one with this slug exists; return its id."""
    async with write_transaction():
        existing = await Funder.select(Funder.id).where(Funder.slug == slug).first()
        if existing:
            return existing["id"]
        rows = await Funder.insert(
            Funder(name=name, slug=slug, kind=kind, address=address, website=website)
        ).returning(Funder.id)
        return rows[0]["id"]


async def funder_by_slug(slug: str) -> dict | None:
    return (
        await Funder.select(Funder.id, Funder.name, Funder.slug).where(Funder.slug == slug).first()
    )


async def get_funder(funder_id: int) -> dict | None:
    return await Funder.select().where(Funder.id == funder_id).first()


async def update_funder(
    funder_id: int, values: dict[str, str], *, actor: Actor
) -> list[DomainError]:
    """The funder's letterhead: name, postal address (one line each), website. Returns
    the refusals of its fields (nothing saved when there are any)."""

    name = values.get("name", "").strip()
    address = "\n".join(
        line.strip() for line in values.get("address", "").splitlines() if line.strip()
    )
    website = values.get("website", "").strip()
    errors = []
    if not name or len(name) > 200:
        errors.append(
            DomainError("name", N_("Enter the funder's name (200 characters at most)."), "name")
        )
    if len(address) > 1000 or address.count("\n") > 5:
        errors.append(
            DomainError("address", N_("Enter the postal address on six lines at most."), "address")
        )
    typed_website, website = website, web_address(website)
    if website is None or len(website) > 300:
        website = typed_website
        errors.append(
            DomainError(
                "website",
                N_("Enter a web address, e.g. www.example.fr (https:// is added for you)."),
                "website",
            )
        )
    if errors:
        return errors
    async with write_transaction():
        clash = await Funder.exists().where((Funder.name == name) & (Funder.id != funder_id))
        if clash:
            return [DomainError("name_taken", N_("Another funder has this name."), "name")]
        await Funder.update(
            {Funder.name: name, Funder.address: address, Funder.website: website}
        ).where(Funder.id == funder_id)
        await audit.record_by(actor, "funders.updated", "funder", funder_id, name=name)
    return []


async def set_logo(funder_id: int, storage_id: str | None, *, actor: Actor) -> str | None:
    """Put the letterhead logo (a stored PNG or JPEG), or remove it with None; returns
    the previous logo's storage id, for the caller to delete once committed."""

    async with write_transaction():
        row = await Funder.select(Funder.logo_file).where(Funder.id == funder_id).first()
        await Funder.update({Funder.logo_file: storage_id}).where(Funder.id == funder_id)
        action = "funders.logo_set" if storage_id else "funders.logo_removed"
        await audit.record_by(actor, action, "funder", funder_id)
    return row["logo_file"] if row else None


# --- The legal texts and contacts -------------------------------------------------------------

LEGAL_FIELDS = (
    "service_name",
    "service_address",
    "service_email",
    "service_phone",
    "signatory_name",
    "signatory_capacity",
    "appeal_routes",
    "deliberation_body",
    "siret",
)
_PHONE = re.compile(r"^\+?[0-9 .()\-\u00a0]{10,25}$")


async def legal_of(funder_id: int) -> FunderLegal | None:
    row = await Funder.select().where(Funder.id == funder_id).first()
    return funder_legal(row) if row else None


async def legal_by_id(funder_ids: list[int]) -> dict[int, FunderLegal]:
    """The legal read models of these funders, in one query."""
    rows = await Funder.select().where(Funder.id.is_in(list(funder_ids) or [0]))
    return {row["id"]: funder_legal(row) for row in rows}


def legal_form_values(legal: FunderLegal) -> dict[str, str]:
    """The legal settings as the form shows them (the default appeal text written out)."""
    return {
        "service_name": legal.service_name,
        "service_address": legal.service_address,
        "service_email": legal.service_email,
        "service_phone": legal.service_phone,
        "signatory_name": legal.signatory_name,
        "signatory_capacity": legal.signatory_capacity,
        "appeal_routes": legal.appeal_text or DEFAULT_APPEAL_ROUTES,
        "deliberation_body": legal.deliberation_body,
        "siret": legal.siret,
    }


def _lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def clean_legal(values: dict[str, str]) -> tuple[dict[str, str], list[DomainError]]:
    """The legal settings as stored, and the refusals of their fields."""
    cleaned = {name: (values.get(name) or "").strip() for name in LEGAL_FIELDS}
    cleaned["service_address"] = _lines(cleaned["service_address"])
    cleaned["appeal_routes"] = "\n\n".join(
        " ".join(block.split()) for block in re.split(r"\n\s*\n", cleaned["appeal_routes"])
    ).strip()
    if cleaned["appeal_routes"] == " ".join(DEFAULT_APPEAL_ROUTES.split()):
        cleaned["appeal_routes"] = ""  # the default: later improvements reach it
    errors: list[DomainError] = []
    for name, limit in (
        ("service_name", 200),
        ("signatory_name", 200),
        ("signatory_capacity", 300),
        ("deliberation_body", 200),
    ):
        if len(cleaned[name]) > limit:
            errors.append(
                DomainError("too_long", N_("%(limit)s characters at most."), name, limit=str(limit))
            )
    if len(cleaned["service_address"]) > 1000 or cleaned["service_address"].count("\n") > 5:
        errors.append(
            DomainError(
                "address", N_("Enter the postal address on six lines at most."), "service_address"
            )
        )
    if cleaned["service_email"] and (
        len(cleaned["service_email"]) > 254 or not valid_email(cleaned["service_email"])
    ):
        errors.append(
            DomainError(
                "email", N_("Enter an e-mail address, e.g. aides@region.fr."), "service_email"
            )
        )
    if cleaned["service_phone"] and not _PHONE.match(cleaned["service_phone"]):
        errors.append(
            DomainError(
                "phone", N_("Enter a telephone number, e.g. 01 53 85 53 85."), "service_phone"
            )
        )
    if len(cleaned["appeal_routes"]) > 4000:
        errors.append(
            DomainError(
                "too_long", N_("%(limit)s characters at most."), "appeal_routes", limit="4000"
            )
        )
    elif "{" in cleaned["appeal_routes"].replace("{financeur}", ""):
        errors.append(
            DomainError(
                "placeholder",
                N_("The only placeholder allowed here is {financeur} (the funder's name)."),
                "appeal_routes",
            )
        )
    if cleaned["siret"]:
        try:
            cleaned["siret"] = clean_siret(cleaned["siret"])
        except IdentifierError as exc:
            errors.append(DomainError(exc.code, exc.message, "siret", **exc.params))
    return cleaned, errors


async def update_legal(
    funder_id: int, values: dict[str, str], *, actor: Actor
) -> list[DomainError]:
    """The funder's legal texts and contacts (service, signatory, appeal routes,
    deliberating body, SIRET). Returns the refusals (nothing saved when there are any)."""
    cleaned, errors = clean_legal(values)
    if errors:
        return errors
    async with write_transaction():
        await Funder.update({getattr(Funder, k): v for k, v in cleaned.items()}).where(
            Funder.id == funder_id
        )
        await audit.record_by(
            actor,
            "funders.legal_updated",
            "funder",
            funder_id,
            signatory=cleaned["signatory_name"] or None,
            appeal_default=not cleaned["appeal_routes"],
        )
    return []


async def set_signature(funder_id: int, storage_id: str | None, *, actor: Actor) -> str | None:
    """Put the signatory's signature image, or remove it with None; returns the previous
    image's storage id, for the caller to delete once committed."""
    async with write_transaction():
        row = await Funder.select(Funder.signature_file).where(Funder.id == funder_id).first()
        await Funder.update({Funder.signature_file: storage_id}).where(Funder.id == funder_id)
        action = "funders.signature_set" if storage_id else "funders.signature_removed"
        await audit.record_by(actor, action, "funder", funder_id)
    return row["signature_file"] if row else None
