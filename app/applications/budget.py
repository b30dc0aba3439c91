"""The forecast budget (budget prévisionnel), laid out like the CERFA n° 12156 project
budget: charges and produits by account of the associations' chart of accounts.
Pure functions on cents."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from app.calls.formspec import FormError, amount_refused
from app.core.i18n import gettext_noop as N_
from app.core.money import AmountError, parse_amount

CHARGES: list[tuple[str, str]] = [
    ("60", N_("60 – Purchases")),
    ("61", N_("61 – External services (rent, insurance, maintenance)")),
    ("62", N_("62 – Other external services (fees, publicity, travel, bank)")),
    ("63", N_("63 – Taxes")),
    ("64", N_("64 – Staff costs")),
    ("65", N_("65 – Other current management costs")),
    ("66", N_("66 – Financial costs")),
    ("67", N_("67 – Exceptional costs")),
    ("68", N_("68 – Depreciation and provisions")),
]
# Other funders of the project (account 74); the line of this call's funder is the
# requested amount, kept apart.
OTHER_FUNDERS: list[tuple[str, str]] = [
    ("74_etat", N_("74 – State")),
    ("74_region", N_("74 – Region (other than this call)")),
    ("74_departement", N_("74 – Department")),
    ("74_interco", N_("74 – Intermunicipality")),
    ("74_commune", N_("74 – Municipality")),
    ("74_sociaux", N_("74 – Social bodies (CAF...)")),
    ("74_europe", N_("74 – European funds")),
    ("74_asp", N_("74 – ASP (subsidised jobs)")),
    ("74_prive", N_("74 – Private grants")),
    ("74_autres", N_("74 – Other public grants")),
]
PRODUITS: list[tuple[str, str]] = [
    ("70", N_("70 – Sales of products and services")),
    ("73", N_("73 – Allocations and pricing revenue")),
    *OTHER_FUNDERS,
    ("75", N_("75 – Other current revenue (membership fees, donations)")),
    ("76", N_("76 – Financial revenue")),
    ("78", N_("78 – Write-backs")),
]
IN_KIND_CHARGES = ("86", N_("86 – Use of voluntary contributions in kind"))
IN_KIND_PRODUITS = ("87", N_("87 – Voluntary contributions in kind (volunteering, gifts in kind)"))


def field_name(side: str, key: str) -> str:
    return f"budget_{side}_{key}"


@dataclass(frozen=True, slots=True)
class Budget:
    charges: dict[str, int]
    produits: dict[str, int]
    requested: int

    @property
    def charges_total(self) -> int:
        return sum(self.charges.values())

    @property
    def produits_total(self) -> int:
        return sum(self.produits.values()) + self.requested

    @property
    def in_kind_charges(self) -> int:
        return self.charges.get("86", 0)

    @property
    def in_kind_produits(self) -> int:
        return self.produits.get("87", 0)

    @property
    def eligible_cost(self) -> int:
        """The project's total cost without contributions in kind (86), the base of
        the co-financing rate."""
        return self.charges_total - self.in_kind_charges

    @property
    def balanced(self) -> bool:
        return (
            self.charges_total == self.produits_total
            and self.in_kind_charges == self.in_kind_produits
        )

    def rate_bp(self) -> int | None:
        """The requested amount's share of the eligible cost, in basis points (rounded up)."""
        if self.eligible_cost <= 0:
            return None
        return -(-self.requested * 10_000 // self.eligible_cost)

    def as_json(self) -> dict:
        return {"charges": self.charges, "produits": self.produits}


def from_json(data: dict | None, requested: int) -> Budget:
    data = data or {}
    return Budget(
        charges={k: int(v) for k, v in (data.get("charges") or {}).items() if v},
        produits={k: int(v) for k, v in (data.get("produits") or {}).items() if v},
        requested=requested,
    )


def parse(values: dict[str, str]) -> tuple[Budget, dict[str, FormError]]:
    """The budget typed in the form (French or plain amounts); the refusal of each
    wrong line, keyed by the form field name."""
    errors: dict[str, FormError] = {}

    def read(name: str) -> int:
        text = (values.get(name) or "").strip()
        if not text:
            return 0
        try:
            return parse_amount(text)
        except AmountError as exc:
            errors[name] = amount_refused(exc, name)
            return 0

    charges = {k: read(field_name("charges", k)) for k, _ in [*CHARGES, IN_KIND_CHARGES]}
    produits = {k: read(field_name("produits", k)) for k, _ in [*PRODUITS, IN_KIND_PRODUITS]}
    requested = read("requested")
    return (
        Budget(
            charges={k: v for k, v in charges.items() if v},
            produits={k: v for k, v in produits.items() if v},
            requested=requested,
        ),
        errors,
    )


def keep_stored(typed: Budget, stored: Budget, errors: Collection[str]) -> Budget:
    """The typed budget, with the stored amount on each line typed wrong (``errors``:
    their form field names, as ``parse`` gives them)."""

    def lines(kind: str, typed_lines: dict[str, int], stored_lines: dict[str, int]):
        kept = dict(typed_lines)
        for key, value in stored_lines.items():
            if field_name(kind, key) in errors:
                kept[key] = value
        return kept

    return Budget(
        charges=lines("charges", typed.charges, stored.charges),
        produits=lines("produits", typed.produits, stored.produits),
        requested=stored.requested if "requested" in errors else typed.requested,
    )


# Why a budget cannot be submitted; ``%(label)s``: the call's limit it breaks.
PROBLEMS = {
    "requested_missing": N_("Enter the amount you request."),
    "requested_below_min": N_("The amount requested is below the call's minimum, %(label)s."),
    "requested_above_max": N_("The amount requested is above the call's maximum, %(label)s."),
    "charges_missing": N_("Fill in the expenses of the budget."),
    "not_balanced": N_(
        "The budget is not balanced: total expenses and total revenue must be equal."
    ),
    "in_kind_not_balanced": N_("Contributions in kind (86 and 87) must be equal."),
    "rate_above_cap": N_(
        "The amount requested is above the call's maximum share of the project's cost."
    ),
}


def problems(budget: Budget, *, min_cents: int, max_cents: int, max_rate_bp: int) -> list[str]:
    """What stops submission: codes of ``PROBLEMS``, in the order an applicant fixes
    them."""
    found = []
    if budget.requested <= 0:
        found.append("requested_missing")
    elif budget.requested < min_cents:
        found.append("requested_below_min")
    elif budget.requested > max_cents:
        found.append("requested_above_max")
    if budget.charges_total == 0:
        found.append("charges_missing")
    if budget.charges_total != budget.produits_total:
        found.append("not_balanced")
    if budget.in_kind_charges != budget.in_kind_produits:
        found.append("in_kind_not_balanced")
    rate = budget.rate_bp()
    if rate is not None and rate > max_rate_bp:
        found.append("rate_above_cap")
    return found
