"""When an award needs a written agreement (convention): the one home of that rule.

French law asks for one above 23 000 € (loi n° 2000-321 du 12 avril 2000, art. 10;
décret n° 2001-495 du 6 juin 2001); a funder may ask for it below (a call's setting,
« convention demandée »). The threshold is a site setting, 23 000 € unless an admin
sets another one (never below what a call asks: the call's setting still applies)."""

from __future__ import annotations

from app.accounts import services as accounts
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_

LEGAL_THRESHOLD_CENTS = 2_300_000
SETTING = "agreement_threshold_cents"


def agreement_reason(
    amount_cents: int, *, call_asks: bool, threshold_cents: int = LEGAL_THRESHOLD_CENTS
) -> str | None:
    """Why an award needs a signed agreement before its first instalment: ``"law"``
    (strictly above the threshold), ``"call"`` (the call asks every laureate for one),
    else None. The grant's ``agreement_required``, the award letter's sentence and the
    open data all ask here."""
    if amount_cents > threshold_cents:
        return "law"
    if call_asks:
        return "call"
    return None


async def threshold_cents() -> int:
    """The threshold in force (the site setting, else the legal 23 000 €)."""
    # Kept as {"cents": n}: a bare number in a JSON column comes back as a number from
    # SQLite, which Piccolo then fails to decode.
    value = await accounts.get_setting(SETTING, {})
    cents = value.get("cents") if isinstance(value, dict) else None
    return cents if isinstance(cents, int) and cents > 0 else LEGAL_THRESHOLD_CENTS


async def needs_agreement(amount_cents: int, *, call_asks: bool) -> str | None:
    """``agreement_reason`` with the threshold in force."""
    return agreement_reason(
        amount_cents, call_asks=call_asks, threshold_cents=await threshold_cents()
    )


async def set_threshold(cents: int, *, actor: Actor) -> None:
    """An admin sets the threshold (audited by the settings' service). It cannot go
    above the legal one: the law asks for an agreement above 23 000 € in any case."""
    if cents <= 0 or cents > LEGAL_THRESHOLD_CENTS:
        raise DomainError(
            "threshold",
            N_("The threshold is between 0,01 € and 23 000 € (the law's)."),
            "threshold",
        )
    await accounts.set_setting(SETTING, {"cents": cents}, actor=actor)
