"""The read-only JSON API under /api/v1 (calls, grants, instalments, payments),
authenticated by personal API tokens, described by the OpenAPI schema at
/api/v1/schema/openapi.json; and the page where staff manage their tokens."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import PUBLIC, require_recent_authentication, requires
from app.api import services
from app.api.services import TokenError
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.money import to_decimal
from app.core.web import flash, path_to, render
from app.permissions import funders_for

log = logging.getLogger("guichet.api")
TOKENS = "/compte/api"
REVOKE = "/compte/api/{token_id:int}/revoquer"


# --- Token pages --------------------------------------------------------------------------------


async def _tokens_page(
    request: Request, *, form: FormState | None = None, new_token: str = "", status_code=200
) -> Template:
    return render(
        request,
        "api/tokens.html",
        status_code=status_code,
        tokens=await services.tokens_of(request.user.id),
        form=form or FormState(prefix="token"),
        new_token=new_token,
    )


@get(TOKENS, name="api:tokens")
async def tokens(request: Request) -> Template:
    return await _tokens_page(request)


@post(TOKENS, guards=[require_recent_authentication], name="api:token-create")
async def create_token(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template:
    """The token is shown on this response only; the page says so."""
    try:
        token = await services.create_token(request.user, data.get("name", ""), actor=actor)
    except TokenError as exc:
        form = FormState(values=dict(data), prefix="token")
        form.refuse(exc, "name")
        return await _tokens_page(request, form=form, status_code=422)
    return await _tokens_page(request, new_token=token)


@post(REVOKE, name="api:token-revoke")
async def revoke_token(
    request: Request, token_id: FromPath[int], actor: NamedDependency[Actor]
) -> Redirect:
    if not await services.revoke_token(request.user.id, token_id, actor=actor):
        raise NotFoundException()
    flash(request, _("The token is revoked: it no longer opens the API."))
    return Redirect(path_to(TOKENS), status_code=303)


# --- The API --------------------------------------------------------------------------------


async def api_token(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Every API request carries ``Authorization: Bearer gch_…``; session cookies are
    not accepted here."""
    scheme, _space, token = connection.headers.get("authorization", "").partition(" ")
    user = (
        await services.user_for_token(
            token.strip(),
            staff_mfa_required=connection.app.state.settings.staff_mfa_required,
        )
        if scheme.lower() == "bearer"
        else None
    )
    if user is None:
        raise NotAuthorizedException(
            detail="A valid API token is required.", headers={"WWW-Authenticate": "Bearer"}
        )
    connection.scope["api_user"] = user


def api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        log.exception("API error", extra={"path": request.url.path})
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "Internal error."
    headers = getattr(exc, "headers", None) or {}
    return Response({"status_code": status, "detail": detail}, status_code=status, headers=headers)


def euros(cents: int) -> str:
    return f"{to_decimal(cents):.2f}"


@dataclass
class CallOut:
    id: int
    title: str
    reference_prefix: str
    funder: str
    status: str
    envelope_eur: str
    min_award_eur: str
    max_award_eur: str
    opens_at: datetime
    closes_at: datetime


@dataclass
class GrantOut:
    id: int
    call_id: int
    file_reference: str
    organisation: str
    siret: str
    status: str
    amount_eur: str
    reduction_eur: str
    accepted_at: datetime | None


@dataclass
class InstalmentOut:
    id: int
    grant_id: int
    position: int
    amount_eur: str
    trigger: str
    due_on: date | None
    status: str


@dataclass
class PaymentOut:
    id: int
    grant_id: int
    instalment_id: int | None
    kind: str
    amount_eur: str
    signed_amount_eur: str
    value_date: date
    reference: str
    reverses: int | None


@dataclass
class CallPage:
    items: list[CallOut]
    page: int
    per_page: int
    total: int


@dataclass
class GrantPage:
    items: list[GrantOut]
    page: int
    per_page: int
    total: int


@dataclass
class PaymentPage:
    items: list[PaymentOut]
    page: int
    per_page: int
    total: int


def _call(r: dict) -> CallOut:
    return CallOut(
        id=r["id"],
        title=r["title"],
        reference_prefix=r["reference_prefix"],
        funder=r["funder"],
        status=r["status"],
        envelope_eur=euros(r["envelope_cents"]),
        min_award_eur=euros(r["min_award_cents"]),
        max_award_eur=euros(r["max_award_cents"]),
        opens_at=r["opens_at"],
        closes_at=r["closes_at"],
    )


def _grant(r: dict) -> GrantOut:
    return GrantOut(
        id=r["id"],
        call_id=r["call"],
        file_reference=r["file_reference"] or "",
        organisation=r["organisation"],
        siret=r["siret"],
        status=r["status"],
        amount_eur=euros(r["amount_cents"]),
        reduction_eur=euros(r["reduction_cents"]),
        accepted_at=r["accepted_at"],
    )


def _funders(request: Request) -> frozenset[int] | None:
    """The funders the token's holder reaches (None: every funder): every read is
    narrowed to them, another funder's call or grant is « not found »."""
    return funders_for(request.scope["api_user"], "use_api")


@get("/calls", summary="Calls for projects (not drafts)")
async def list_calls(
    request: Request, page: FromQuery[int] = 1, per_page: FromQuery[int] = 50
) -> CallPage:
    page, per_page = services.page_bounds(page, per_page)
    rows, total = await services.calls(page, per_page, funders=_funders(request))
    return CallPage([_call(r) for r in rows], page, per_page, total)


@get("/calls/{call_id:int}", summary="One call")
async def get_call(request: Request, call_id: FromPath[int]) -> CallOut:
    row = await services.call(call_id, funders=_funders(request))
    if row is None:
        raise NotFoundException()
    return _call(row)


@get("/grants", summary="Grants, optionally of one call")
async def list_grants(
    request: Request,
    call: FromQuery[int | None] = None,
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = 50,
) -> GrantPage:
    page, per_page = services.page_bounds(page, per_page)
    rows, total = await services.grants(call, page, per_page, funders=_funders(request))
    return GrantPage([_grant(r) for r in rows], page, per_page, total)


@get("/grants/{grant_id:int}", summary="One grant")
async def get_grant(request: Request, grant_id: FromPath[int]) -> GrantOut:
    row = await services.grant(grant_id, funders=_funders(request))
    if row is None:
        raise NotFoundException()
    return _grant(row)


@get("/grants/{grant_id:int}/instalments", summary="A grant's instalment schedule")
async def list_instalments(request: Request, grant_id: FromPath[int]) -> list[InstalmentOut]:
    if await services.grant(grant_id, funders=_funders(request)) is None:
        raise NotFoundException()
    return [
        InstalmentOut(
            id=r["id"],
            grant_id=r["grant"],
            position=r["position"],
            amount_eur=euros(r["amount_cents"]),
            trigger=r["trigger"],
            due_on=r["due_on"],
            status=r["status"],
        )
        for r in await services.instalments(grant_id)
    ]


@get("/payments", summary="The ledger: payments, reversals and recoveries")
async def list_payments(
    request: Request,
    grant: FromQuery[int | None] = None,
    page: FromQuery[int] = 1,
    per_page: FromQuery[int] = 50,
) -> PaymentPage:
    page, per_page = services.page_bounds(page, per_page)
    rows, total = await services.payments(grant, page, per_page, funders=_funders(request))
    return PaymentPage(
        [
            PaymentOut(
                id=r["id"],
                grant_id=r["grant"],
                instalment_id=r["instalment"],
                kind=r["kind"],
                amount_eur=euros(r["amount_cents"]),
                signed_amount_eur=euros(r["amount_cents"] * (1 if r["kind"] == "payment" else -1)),
                value_date=r["value_date"],
                reference=r["reference"],
                reverses=r["reverses"],
            )
            for r in rows
        ],
        page,
        per_page,
        total,
    )


API = Router(
    path="/api/v1",
    route_handlers=[list_calls, get_call, list_grants, get_grant, list_instalments, list_payments],
    guards=[api_token],
    opt={**PUBLIC, "skip_session": True},
    exception_handlers={Exception: api_error},
    tags=["read-only"],
)

# The pages where staff manage their tokens.
TOKEN_PAGES = Router(
    path="",
    route_handlers=[tokens, create_token, revoke_token],
    guards=[requires("use_api")],
    include_in_schema=False,
)

ROUTES = [TOKEN_PAGES, API]
