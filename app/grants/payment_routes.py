"""What finance staff do on a grant's page: record a payment, cancel one by a reversal,
record a recovery as received. The form's idempotency key makes a double click
harmless (``ledger``)."""

from __future__ import annotations

import re
import uuid

from litestar import Request, Router, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import requires
from app.core.audit import Actor
from app.core.forms import FormState, parse_date
from app.core.i18n import gettext as _
from app.core.money import AmountError, format_amount, parse_amount
from app.core.storage import FileStorage
from app.core.time import now
from app.core.web import act, flash
from app.grants import ledger, notices, pages
from app.grants import services as grants
from app.grants.ledger import LedgerError
from app.grants.pages import at, back, grant_or_404
from app.settings import Settings

PAY = "/suivi/subventions/{grant_id:int}/versements"
REVERSAL = "/suivi/subventions/{grant_id:int}/versements/{entry_id:int}/annulation"
RECOVERY = "/suivi/subventions/{grant_id:int}/reversements/{recovery_id:int}"

ID = re.compile(r"[0-9]{1,9}")


@post(PAY, name="grants:pay")
async def pay(
    request: Request,
    grant_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    """Record a payment; every field is checked at once, so each mistake shows beside
    its field."""
    grant = await grant_or_404(request, grant_id)
    form = FormState(values=dict(data), prefix="pay")
    amount = value_date = instalment = None
    try:
        amount = parse_amount(data.get("amount", ""))
    except AmountError:
        form.error("amount", _("Enter an amount in euros, e.g. 60 000,00."))
    try:
        value_date = parse_date(data.get("value_date", ""))
    except ValueError:
        form.error("value_date", _("Enter a date, e.g. 17/05/2017."))
    try:
        ledger.check_reference(data.get("reference", ""))
    except LedgerError as exc:
        form.refuse(exc)
    if ID.fullmatch(data.get("instalment", "")):
        instalment = int(data["instalment"])
    else:
        form.refuse(ledger.not_approved())
    if form.ok:
        try:
            await ledger.record_payment(
                grant_id,
                instalment,
                amount_cents=amount,
                value_date=value_date,
                reference=data.get("reference", ""),
                bank_reference=data.get("bank_reference", ""),
                idempotency_key=data.get("key", ""),
                actor=actor,
            )
        except LedgerError as exc:
            form.refuse(exc, "amount")
    if not form.ok:
        return await pages.staff_page(
            request, grant, form=form, status_code=422, key=uuid.uuid4().hex
        )
    flash(request, _("The payment is recorded."))
    return back(grant_id, "#ledger")


@post(REVERSAL, name="grants:reverse")
async def reverse(
    request: Request,
    grant_id: FromPath[int],
    entry_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await grant_or_404(request, grant_id)
    return await act(
        request,
        ledger.reverse_payment(
            grant_id,
            entry_id,
            reason=data.get("reason", ""),
            idempotency_key=data.get("key", ""),
            actor=actor,
        ),
        back=at(grant_id, "#ledger"),
        done=_("The payment is cancelled by a reversal entry."),
    )


@post(RECOVERY, name="grants:recovery")
async def recovery_received(
    request: Request,
    grant_id: FromPath[int],
    recovery_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    files: NamedDependency[FileStorage],
    settings: NamedDependency[Settings],
) -> Redirect:
    """All or part (the amount typed; empty: all that is left) of a recovery paid back;
    after a part, the grantee is sent the notice of what is left."""
    await grant_or_404(request, grant_id)
    try:
        value_date = parse_date(data.get("value_date", ""))
    except ValueError:
        flash(request, _("Enter a date, e.g. 17/05/2017."), "error")
        return back(grant_id, "#recoveries")
    amount = None
    if data.get("amount", "").strip():
        try:
            amount = parse_amount(data["amount"])
        except AmountError:
            flash(request, _("Enter an amount in euros, e.g. 60 000,00."), "error")
            return back(grant_id, "#recoveries")
    replayed = await ledger.recorded(data.get("key", ""))
    try:
        await ledger.receive_recovery(
            grant_id,
            recovery_id,
            amount_cents=amount,
            value_date=value_date,
            reference=data.get("reference", ""),
            idempotency_key=data.get("key", ""),
            actor=actor,
        )
    except LedgerError as exc:
        flash(request, exc.text(), "error")
        return back(grant_id, "#recoveries")
    left = next((r.left_cents for r in await grants.recoveries(grant_id) if r.id == recovery_id), 0)
    if replayed:
        flash(request, _("This repayment was already recorded."))
    elif left > 0:
        await notices.issue_recovery_notice(
            grant_id, storage=files, base_url=settings.base_url, actor=actor, today=now()
        )
        flash(
            request,
            _(
                "The repayment is recorded; %(left)s is left to pay back: the grantee is sent the notice."
            )
            % {"left": format_amount(left)},
        )
    else:
        flash(request, _("The recovery is recorded as received."))
    return back(grant_id, "#recoveries")


PAYMENTS = Router(
    path="",
    route_handlers=[pay, reverse, recovery_received],
    guards=[requires("pay")],
    include_in_schema=False,
)
