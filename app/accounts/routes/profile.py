"""A signed-in person's own pages: details and password, two-step verification,
personal data (export, erasure)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import segno
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts import passwords, personal_data, services, two_factor
from app.accounts.credentials import AccountError
from app.accounts.guards import (
    ENROLMENT,
    SECURITY_PAGE,
    must_enrol,
    require_recent_authentication,
    staff_mfa_required,
)
from app.accounts.lockout import password_attempt
from app.accounts.routes.sign_in import password_ok
from app.accounts.sessions import end_session, refresh_session
from app.core import i18n
from app.core.audit import Actor
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.web import client_ip, flash, render

ACCOUNT = "/compte"
CHANGE_PASSWORD = "/compte/mot-de-passe"  # nosec B105  # a URL path
SECURITY = SECURITY_PAGE
TOTP_ENABLE = "/compte/securite/activer"
TOTP_DISABLE = "/compte/securite/desactiver"
PERSONAL_DATA = "/compte/donnees"
PERSONAL_DATA_EXPORT = "/compte/donnees/export.json"
ERASE = "/compte/supprimer"


# --- Profile and password -----------------------------------------------------------------------


@get(ACCOUNT, name="accounts:account")
async def account_page(request: Request) -> Template:
    user = request.user
    return render(
        request,
        "accounts/account.html",
        form=FormState(values={"full_name": user.full_name, "language": user.language}),
        password_form=FormState(),
    )


@post(ACCOUNT, name="accounts:account-post")
async def update_account(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    form = FormState(
        values={
            "full_name": data.get("full_name", "").strip(),
            "language": data.get("language", ""),
        }
    )
    if not form.values["full_name"]:
        form.error("full_name", _("Enter your first and last name."))
    elif len(form.values["full_name"]) > 200:
        form.error("full_name", _("Enter at most 200 characters."))
    if form.values["language"] not in i18n.LOCALES:
        form.error("language", _("Choose a language from the list."))
    if not form.ok:
        return render(
            request, "accounts/account.html", status_code=422, form=form, password_form=FormState()
        )
    await services.update_profile(
        request.user.id,
        full_name=form.values["full_name"],
        language=form.values["language"],
        actor=actor,
    )
    i18n.activate(form.values["language"])
    flash(request, _("Your details are saved."))
    response = Redirect(ACCOUNT, status_code=303)
    response.set_cookie(
        i18n.LOCALE_COOKIE,
        form.values["language"],
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
    )
    return response


@post(CHANGE_PASSWORD, name="accounts:change-password")
async def change_password(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    user = request.user
    form = FormState()
    new = data.get("new_password", "")
    if new != data.get("new_password_again", ""):
        form.error("new_password_again", _("The two passwords are different."))
    if form.ok:
        async with password_attempt(request, user.email, client_ip(request)) as attempt:
            try:
                await passwords.change_password(
                    user.id, data.get("current_password", ""), new, actor=actor
                )
                attempt.succeeded = True
            except AccountError as exc:
                attempt.succeeded = exc.code != "password_wrong"
                form.refuse(exc, field="new_password")
    if not form.ok:
        return render(
            request,
            "accounts/account.html",
            status_code=422,
            form=FormState(values={"full_name": user.full_name, "language": user.language}),
            password_form=form,
        )
    refresh_session(request, await services.load_current_user(user.id))
    flash(request, _("Your password has been changed. Your other sessions have been closed."))
    return Redirect(ACCOUNT, status_code=303)


# --- Two-factor ------------------------------------------------------------------------------------

SESSION_TOTP_SECRET = "totp_setup_secret"  # nosec B105  # a session key name


def _qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#1e1e1e", light="#ffffff")


def _security_context(request: Request) -> dict[str, Any]:
    user = request.user
    context: dict[str, Any] = {"form": FormState(), "recovery_codes": None}
    if not user.totp_enabled:
        secret = request.session.get(SESSION_TOTP_SECRET) or two_factor.new_totp_secret()
        request.session[SESSION_TOTP_SECRET] = secret
        uri = two_factor.totp_uri(secret, user.email)
        context.update(
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr=_qr_data_uri(uri),
        )
    return context


async def _totp_required(request: Request) -> bool:
    return await services.totp_required(
        request.user, staff_mfa_required=staff_mfa_required(request)
    )


@get(SECURITY, opt=ENROLMENT, name="accounts:security")
async def security_page(request: Request) -> Template:
    context = _security_context(request)
    context["must_enrol"] = await must_enrol(request, request.user)
    context["required"] = await _totp_required(request)
    if request.user.totp_enabled:
        context["remaining_codes"] = await two_factor.remaining_recovery_codes(request.user.id)
    return render(request, "accounts/security.html", **context)


@post(
    TOTP_ENABLE,
    opt=ENROLMENT,
    guards=[require_recent_authentication],
    name="accounts:totp-enable",
)
async def totp_enable(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    user = request.user
    secret = request.session.get(SESSION_TOTP_SECRET)
    if user.totp_enabled or not secret:
        return Redirect(SECURITY, status_code=303)
    try:
        codes = await two_factor.enable_totp(user.id, secret, data.get("code", ""), actor=actor)
    except AccountError as exc:
        context = _security_context(request)
        context["form"].refuse(exc, field="code")
        context["must_enrol"] = await must_enrol(request, user)
        context["required"] = await _totp_required(request)
        return render(request, "accounts/security.html", status_code=422, **context)
    request.session.pop(SESSION_TOTP_SECRET, None)
    fresh = await services.load_current_user(user.id)
    refresh_session(request, fresh)
    request.scope["user"] = fresh
    return render(
        request,
        "accounts/security.html",
        form=FormState(),
        recovery_codes=codes,
        must_enrol=False,
        required=await _totp_required(request),
        remaining_codes=len(codes),
    )


@post(TOTP_DISABLE, guards=[require_recent_authentication], name="accounts:totp-disable")
async def totp_disable(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    user = request.user
    if await _totp_required(request):
        # Their role requires it: turning it off would only send them back to enrolment.
        flash(
            request,
            _("Your role requires two-step verification: it cannot be turned off."),
            "error",
        )
        return Redirect(SECURITY, status_code=303)
    if not await password_ok(request, data.get("password", "")):
        context = (
            _security_context(request)
            if not user.totp_enabled
            else {"form": FormState(), "recovery_codes": None}
        )
        context["form"].refuse(passwords.wrong_password("password"))
        context["must_enrol"] = False
        context["required"] = False
        context["remaining_codes"] = await two_factor.remaining_recovery_codes(user.id)
        return render(request, "accounts/security.html", status_code=422, **context)
    await two_factor.disable_totp(user.id, actor=actor)
    refresh_session(request, await services.load_current_user(user.id))
    flash(request, _("Two-step verification is turned off."))
    return Redirect(SECURITY, status_code=303)


# --- Personal data -------------------------------------------------------------------------------


@get(PERSONAL_DATA, name="accounts:personal-data")
async def personal_data_page(request: Request) -> Template:
    keep = await personal_data.must_keep_records(request.user.id)
    return render(request, "accounts/personal_data.html", form=FormState(), keep_records=keep)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@get(PERSONAL_DATA_EXPORT, name="accounts:personal-data-export")
async def personal_data_export(request: Request) -> Response:
    data = await personal_data.export_personal_data(request.user.id)
    body = json.dumps(data, default=_json_default, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="guichet-mes-donnees.json"'},
    )


@post(ERASE, name="accounts:erase")
async def erase(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    form = FormState()
    if data.get("confirm") != "yes":
        form.error("confirm", _("Tick the box to confirm."))
    outcome = None
    if form.ok:
        async with password_attempt(request, request.user.email, client_ip(request)) as attempt:
            try:
                outcome = await personal_data.erase_account(
                    request.user.id, data.get("password", ""), actor=actor
                )
                attempt.succeeded = True
            except AccountError as exc:
                attempt.succeeded = exc.code != "password_wrong"
                # Whatever stands in the way, the summary links to the password field.
                form.refuse(exc, field="password")
    if outcome is None:
        keep = await personal_data.must_keep_records(request.user.id)
        return render(
            request, "accounts/personal_data.html", status_code=422, form=form, keep_records=keep
        )
    end_session(request)
    flash(
        request,
        _("Your account has been deleted.")
        if outcome == "deleted"
        else _(
            "Your account has been closed and your identity removed from the records we must keep."
        ),
    )
    return Redirect("/", status_code=303)


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        account_page,
        update_account,
        change_password,
        security_page,
        totp_enable,
        totp_disable,
        personal_data_page,
        personal_data_export,
        erase,
    ],
)
