"""Funders: the public bodies that publish calls."""

from __future__ import annotations

from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.domain import DomainError
from app.core.forms import web_address
from app.core.i18n import gettext_noop as N_
from app.funders.tables import Funder


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
