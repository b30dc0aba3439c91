"""What the grants' route modules share: the paths of a grant's staff page, the grant a
request is about, that page rendered (again, with a refused form) and the way back
to it after an action."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Request
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from app.core.forms import FormState
from app.core.web import path_to, render
from app.grants import bank, followup
from app.grants import services as grants
from app.grants.bank import BankDetails
from app.grants.models import GrantRecord

GRANT = "/suivi/subventions/{grant_id:int}"


def today() -> str:
    return datetime.now(UTC).date().isoformat()


async def grant_or_404(request: Request, grant_id: int) -> GrantRecord:
    """The grant, if this person may see it (staff, or its organisation's members)."""
    grant = await grants.grant_for(request.user, grant_id)
    if grant is None:
        raise NotFoundException()
    return grant


async def staff_page(
    request: Request,
    grant: GrantRecord,
    *,
    form: FormState | None = None,
    status_code: int = 200,
    key: str,
    bank_details: BankDetails | None = None,
    recovery_form: FormState | None = None,
) -> Template:
    """A grant's page for staff: ``form`` is the payment form (refused: 422), ``key``
    the idempotency key of the page's money forms, ``bank_details`` the beneficiary's
    (masked unless given revealed)."""
    page = await followup.staff_context(grant, today=today())
    return render(
        request,
        "grants/grant.html",
        status_code=status_code,
        form=form or FormState(values=page["payment_defaults"], prefix="pay"),
        key=key,
        bank=bank_details or await bank.masked(grant.organisation),
        recovery_form=recovery_form or FormState(prefix="open-recovery"),
        **page,
    )


def at(grant_id: int, anchor: str = "") -> str:
    """The grant's page, at the section an action is about (``#instalments``…)."""
    return path_to(GRANT, grant_id=grant_id) + anchor


def back(grant_id: int, anchor: str = "") -> Redirect:
    """After an action: back to the grant's page, at its section."""
    return Redirect(at(grant_id, anchor), status_code=303)


def altered_response(request: Request) -> Template:
    """A stored agreement whose bytes no longer match their fingerprint: never served
    (409, « altéré »)."""
    return render(request, "grants/agreement_altered.html", status_code=409)
