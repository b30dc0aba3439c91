"""Demo data: what `make run` shows a newcomer. Each feature extends it.

Organisations and calls come from a real story (see shared/product.md); every person
is a clearly fictitious placeholder.
"""

from __future__ import annotations

from app.accounts.services import count_users, create_user
from app.accounts.tables import StaffRole
from app.funders.services import ensure_funder

DEMO_PASSWORD = "demo-guichet-2026"  # noqa: S105 - demo accounts only; refused in production

FUNDERS = [
    {
        "name": "Région Île-de-France",
        "slug": "region-ile-de-france",
        "kind": "région",
        "address": "2 rue Simone Veil\n93400 Saint-Ouen-sur-Seine",
        "website": "https://www.iledefrance.fr",
    },
    {
        "name": "Région Centre-Val de Loire",
        "slug": "region-centre-val-de-loire",
        "kind": "région",
        "address": "9 rue Saint-Pierre-Lentin\n45041 Orléans Cedex 1",
        "website": "https://www.centre-valdeloire.fr",
    },
]

# (email, full name, roles, what the account is for)
ACCOUNTS: list[tuple[str, str, list[StaffRole], str]] = [
    ("porteur@demo.guichet.test", "Alex Exemple", [], "applicant"),
    ("evaluation@demo.guichet.test", "Camille Placeholder", [StaffRole.reviewer], "reviewer"),
    ("instruction@demo.guichet.test", "Dominique Fictif", [StaffRole.officer], "officer"),
    ("finances@demo.guichet.test", "Morgan Specimen", [StaffRole.finance], "finance"),
    ("admin@demo.guichet.test", "Sacha Démo", [StaffRole.admin], "admin"),
]


async def load(*, if_empty: bool = True) -> bool:
    """Load the demo data; with ``if_empty``, only into a database without users."""
    if if_empty and await count_users() > 0:
        return False
    for funder in FUNDERS:
        await ensure_funder(**funder)
    for email, name, roles, _purpose in ACCOUNTS:
        await create_user(email=email, full_name=name, password=DEMO_PASSWORD, roles=roles)
    return True


def accounts_text() -> str:
    lines = ["Demo accounts (password for all: " + DEMO_PASSWORD + "):"]
    lines += [f"  {purpose:<10} {email}" for email, _name, _roles, purpose in ACCOUNTS]
    return "\n".join(lines)
