"""Funders: the public bodies that publish calls."""

from __future__ import annotations

from app.core.db import write_transaction
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
