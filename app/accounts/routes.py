"""Account pages: sign-in (with two-factor), sign-up, e-mail confirmation, password
reset, staff invitations, profile, security and personal data."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import segno
from litestar import Request, Response, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts import services
from app.accounts.guards import (
    ENROLMENT,
    PUBLIC,
    SECURITY_PAGE,
    must_enrol,
    require_recent_authentication,
    staff_mfa_required,
)
from app.accounts.lockout import password_attempt, remember_device
from app.accounts.services import AccountError, Actor, SignInResult
from app.accounts.sessions import (
    confirm_recent_authentication,
    end_session,
    forget_second_factor,
    pending_second_factor,
    refresh_session,
    start_second_factor,
    start_session,
)
from app.accounts.tables import TokenPurpose
from app.core import i18n
from app.core.forms import FormState, safe_next, valid_email
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.ratelimit import Limit
from app.core.web import actor_of, client_ip, flash, limiter_of, render, settings_of

SIGN_IN = "/connexion"
SECOND_FACTOR = "/connexion/verification"
REAUTH = "/connexion/confirmer"
SIGN_OUT = "/deconnexion"
SIGN_UP = "/inscription"
CONFIRM_EMAIL = "/compte/confirmer"
RESEND_CONFIRMATION = "/compte/confirmer/renvoyer"
FORGOT_PASSWORD = "/mot-de-passe-oublie"  # nosec B105  # a URL path
NEW_PASSWORD = "/mot-de-passe/nouveau"  # nosec B105  # a URL path
STAFF_INVITATION = "/invitation"
ACCOUNT = "/compte"
CHANGE_PASSWORD = "/compte/mot-de-passe"  # nosec B105  # a URL path
SECURITY = SECURITY_PAGE
TOTP_ENABLE = "/compte/securite/activer"
TOTP_DISABLE = "/compte/securite/desactiver"
PERSONAL_DATA = "/compte/donnees"
PERSONAL_DATA_EXPORT = "/compte/donnees/export.json"
ERASE = "/compte/supprimer"

# What the sign-in page says when another page sends a visitor there: in the address,
# not in a flash, so nobody gets a session before signing in.
SIGN_IN_NOTICES = {
    "delai": ("error", N_("Your sign-in took too long: please start again.")),
    "adresse-confirmee": ("success", N_("Your email address is confirmed. You can sign in.")),
    "mot-de-passe-change": ("success", N_("Your password has been changed. You can sign in.")),
    "bienvenue": ("success", N_("Welcome! Your password is set. You can sign in.")),
}


def sign_in_url(notice: str, next_path: str = "") -> str:
    query = {"info": notice} | ({"suivant": next_path} if next_path else {})
    return f"{SIGN_IN}?{urlencode(query)}"


# Brute-force limits (per IP and per account); password guesses: see accounts.lockout.
SIGN_UP_PER_IP = Limit("sign_up_ip", 10, 3600)
RESET_PER_IP = Limit("reset_ip", 10, 3600)
RESET_PER_ACCOUNT = Limit("reset_account", 3, 3600)
SECOND_FACTOR_PER_ACCOUNT = Limit("second_factor_account", 5, 15 * 60)

ERRORS = {
    "password_too_short": N_("Choose a password of at least 12 characters."),
    "password_too_long": N_("Choose a password of at most 128 characters."),
    "password_common": N_(
        "This password is too common: choose another one, for example a few unrelated words."
    ),
    "password_wrong": N_("The password is not correct."),
    "token_invalid": N_(
        "This link is not valid. Check that you copied it whole, or ask for a new one."
    ),
    "token_used": N_("This link has already been used. Ask for a new one if you need it."),
    "token_expired": N_("This link has expired. Ask for a new one."),
    "totp_wrong": N_(
        "This code is not correct. Check the time on your phone and type the current code."
    ),
    "email_taken": N_("An account already uses this email address."),
    "last_admin": N_("This is the last administrator: give the role to someone else first."),
    "roles_required": N_("Choose at least one role."),
    "user_not_found": N_("This person does not exist."),
    "last_owner_of_organisation": N_(
        "You are the only owner of an organisation: make another member its owner first (« My organisations »)."
    ),
    "email_unconfirmed": N_(
        "This address has an account that is not confirmed yet: ask the person to confirm it first."
    ),
}


def error_text(exc: AccountError) -> str:
    return _(ERRORS.get(exc.code, N_("Something is not valid.")))


def actor(request: Request) -> Actor:
    return actor_of(request)


def limiter(request: Request):
    return limiter_of(request)


def base_url(request: Request) -> str:
    return settings_of(request).base_url


async def password_ok(request: Request, password: str) -> bool:
    """The signed-in person's password, under the same brute-force limits as sign-in."""
    async with password_attempt(request, request.user.email, client_ip(request)) as attempt:
        attempt.succeeded = await services.check_password(request.user.id, password)
    return attempt.succeeded


def require_email(form: FormState, name: str = "email", *, own: bool = True) -> None:
    """``own``: the person's own address (else someone else's, as in invitations)."""
    value = form.values.get(name, "")
    if not value:
        form.error(
            name,
            _("Enter your email address.") if own else _("Enter the email address of the person."),
        )
    elif not valid_email(value):
        form.error(name, _("Enter an email address like nom@exemple.fr."))


# --- Sign-in ----------------------------------------------------------------------------


@get(SIGN_IN, opt=PUBLIC, include_in_schema=False, name="accounts:sign-in")
async def sign_in_page(
    request: Request, suivant: FromQuery[str | None] = None, info: FromQuery[str] = ""
) -> Template:
    """``info`` names one of ``SIGN_IN_NOTICES`` (anything else says nothing)."""
    notice = SIGN_IN_NOTICES.get(info)
    return render(
        request,
        "accounts/sign_in.html",
        form=FormState(),
        next=safe_next(suivant),
        unverified=False,
        notice=(notice[0], _(notice[1])) if notice else None,
    )


@post(SIGN_IN, opt=PUBLIC, include_in_schema=False, name="accounts:sign-in-post")
async def sign_in(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template | Redirect:
    form = FormState(values={"email": data.get("email", "").strip()})
    password = data.get("password", "")
    next_path = safe_next(data.get("next"))
    if not form.values["email"]:
        form.error("email", _("Enter your email address."))
    if not password:
        form.error("password", _("Enter your password."))
    result = SignInResult(user_id=None)
    if form.ok:
        email = services.normalise_email(form.values["email"])
        # Counted before the password is checked (parallel guesses too), per client
        # and account, so that a guesser elsewhere cannot lock the owner out.
        async with password_attempt(
            request, email, client_ip(request), per_address=True
        ) as attempt:
            result = await services.authenticate(email, password, actor=actor(request))
            attempt.succeeded = result.user_id is not None
        if result.unverified:
            form.error("email", _("Confirm your email address first: use the link we sent you."))
        elif result.user_id is None:
            form.error("email", _("Email address or password incorrect."))
    if result.user_id is None:
        return render(
            request,
            "accounts/sign_in.html",
            status_code=422,
            form=form,
            next=next_path,
            unverified=result.unverified,
        )
    if result.needs_second_factor:
        start_second_factor(request, result.user_id)
        return Redirect(f"{SECOND_FACTOR}?{urlencode({'suivant': next_path})}", status_code=303)
    return await _complete_sign_in(request, result.user_id, next_path)


async def _complete_sign_in(request: Request, user_id: int, next_path: str) -> Redirect:
    user = await services.load_current_user(user_id)
    if user is None:
        raise NotAuthorizedException()
    start_session(request, user)
    await services.record_sign_in(user_id, actor=Actor(user_id, client_ip(request)))
    i18n.activate(user.language)
    flash(request, _("You are signed in."))
    # Staff who must set up two-factor do it now, before any other page.
    enrol_first = await must_enrol(request, user)
    response = Redirect(SECURITY if enrol_first else next_path, status_code=303)
    response.set_cookie(
        i18n.LOCALE_COOKIE, user.language, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
    )
    # This browser signed in: its own guesses are counted apart from now on.
    remember_device(request, response, user.email)
    return response


@get(SECOND_FACTOR, opt=PUBLIC, include_in_schema=False, name="accounts:second-factor")
async def second_factor_page(
    request: Request, suivant: FromQuery[str | None] = None
) -> Template | Redirect:
    if pending_second_factor(request) is None:
        return Redirect(SIGN_IN, status_code=303)
    return render(request, "accounts/second_factor.html", form=FormState(), next=safe_next(suivant))


@post(SECOND_FACTOR, opt=PUBLIC, include_in_schema=False, name="accounts:second-factor-post")
async def second_factor(
    request: Request, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    user_id = pending_second_factor(request)
    next_path = safe_next(data.get("next"))
    if user_id is None:
        # No session for anyone not half-signed-in (an outlived one is deleted).
        forget_second_factor(request)
        return Redirect(sign_in_url("delai", next_path), status_code=303)
    form = FormState()
    code = data.get("code", "").strip()
    if not code:
        form.error(
            "code", _("Enter the code shown by your authentication app, or a recovery code.")
        )
    elif not await _second_factor_ok(request, user_id, code):
        form.error(
            "code",
            _("This code is not correct. Check the time on your phone and type the current code."),
        )
    if not form.ok:
        return render(
            request, "accounts/second_factor.html", status_code=422, form=form, next=next_path
        )
    return await _complete_sign_in(request, user_id, next_path)


async def _second_factor_ok(request: Request, user_id: int, code: str) -> bool:
    # Counted before the code is checked: parallel guesses are counted too.
    async with limiter(request).attempt(SECOND_FACTOR_PER_ACCOUNT, str(user_id)):
        ok = await services.verify_second_factor(
            user_id, code, actor=Actor(user_id, client_ip(request))
        )
    if ok:
        await limiter(request).reset(SECOND_FACTOR_PER_ACCOUNT, str(user_id))
    return ok


@get(REAUTH, include_in_schema=False, opt=ENROLMENT, name="accounts:reauth")
async def reauth_page(request: Request, suivant: FromQuery[str | None] = None) -> Template:
    return render(request, "accounts/reauth.html", form=FormState(), next=safe_next(suivant))


@post(REAUTH, include_in_schema=False, opt=ENROLMENT, name="accounts:reauth-post")
async def reauth(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template | Redirect:
    next_path = safe_next(data.get("next"))
    form = FormState()
    if not await password_ok(request, data.get("password", "")):
        form.error("password", _("The password is not correct."))
        return render(request, "accounts/reauth.html", status_code=422, form=form, next=next_path)
    confirm_recent_authentication(request)
    flash(request, _("Password confirmed. You can go on."))
    return Redirect(next_path, status_code=303)


@post(SIGN_OUT, include_in_schema=False, opt=ENROLMENT, name="accounts:sign-out")
async def sign_out(request: Request) -> Redirect:
    await services.record_sign_out(request.user.id, actor=actor(request))
    end_session(request)
    return Redirect("/", status_code=303)


# --- Sign-up and e-mail confirmation ---------------------------------------------------------


@get(SIGN_UP, opt=PUBLIC, include_in_schema=False, name="accounts:sign-up")
async def sign_up_page(
    request: Request, suivant: FromQuery[str | None] = None, email: FromQuery[str] = ""
) -> Template:
    """``suivant``: where to go once signed in (e.g. the organisation invitation that
    brought the person here); ``email`` pre-fills the address."""
    return render(
        request,
        "accounts/sign_up.html",
        form=FormState(values={"email": email[:254]}),
        next=safe_next(suivant, ""),
    )


@post(SIGN_UP, opt=PUBLIC, include_in_schema=False, name="accounts:sign-up-post")
async def sign_up(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template:
    form = FormState(
        values={
            "full_name": data.get("full_name", "").strip(),
            "email": data.get("email", "").strip(),
        }
    )
    password = data.get("password", "")
    if not form.values["full_name"]:
        form.error("full_name", _("Enter your first and last name."))
    elif len(form.values["full_name"]) > 200:
        form.error("full_name", _("Enter at most 200 characters."))
    require_email(form)
    if not password:
        form.error("password", _("Choose a password."))
    else:
        try:
            services.check_password_rules(password, email=form.values["email"])
        except AccountError as exc:
            form.error("password", error_text(exc))
    if data.get("accept_terms") != "yes":
        form.error("accept_terms", _("Confirm that you have read how your personal data is used."))
    next_path = safe_next(data.get("next"), "")
    if not form.ok:
        return render(request, "accounts/sign_up.html", status_code=422, form=form, next=next_path)
    await limiter(request).check(SIGN_UP_PER_IP, client_ip(request))
    await services.register_applicant(
        email=form.values["email"],
        full_name=form.values["full_name"],
        password=password,
        language=i18n.get_locale(),
        base_url=base_url(request),
        actor=actor(request),
        # Carried by the confirmation link (not a session: none before signing in).
        next_path=next_path,
    )
    return render(
        request, "accounts/check_email.html", email=form.values["email"], reason="sign_up"
    )


@post(RESEND_CONFIRMATION, opt=PUBLIC, include_in_schema=False, name="accounts:resend-confirmation")
async def resend_confirmation(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template:
    email = data.get("email", "").strip()
    await limiter(request).check(RESET_PER_IP, client_ip(request))
    if email:
        await limiter(request).check(RESET_PER_ACCOUNT, services.normalise_email(email))
        await services.resend_verification(
            email=email, base_url=base_url(request), actor=actor(request)
        )
    return render(request, "accounts/check_email.html", email=email, reason="sign_up")


@get(CONFIRM_EMAIL, opt=PUBLIC, include_in_schema=False, name="accounts:confirm-email")
async def confirm_email_page(
    request: Request, jeton: FromQuery[str] = "", suivant: FromQuery[str | None] = None
) -> Template:
    """Shows a button: the token is used by the POST, never by a mail scanner's GET;
    ``suivant``: where sign-up was to lead (an organisation invitation)."""
    try:
        await services.token_owner(jeton, TokenPurpose.verify_email)
    except AccountError as exc:
        return render(
            request, "accounts/token_problem.html", status_code=400, message=error_text(exc)
        )
    return render(request, "accounts/confirm_email.html", token=jeton, next=safe_next(suivant, ""))


@post(CONFIRM_EMAIL, opt=PUBLIC, include_in_schema=False, name="accounts:confirm-email-post")
async def confirm_email(
    request: Request, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    try:
        await services.confirm_email(data.get("token", ""), actor=actor(request))
    except AccountError as exc:
        return render(
            request, "accounts/token_problem.html", status_code=400, message=error_text(exc)
        )
    return Redirect(
        sign_in_url("adresse-confirmee", safe_next(data.get("next"), "")), status_code=303
    )


# --- Password reset -------------------------------------------------------------------------


@get(FORGOT_PASSWORD, opt=PUBLIC, include_in_schema=False, name="accounts:forgot-password")
async def forgot_password_page(request: Request) -> Template:
    return render(request, "accounts/forgot_password.html", form=FormState())


@post(FORGOT_PASSWORD, opt=PUBLIC, include_in_schema=False, name="accounts:forgot-password-post")
async def forgot_password(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template:
    form = FormState(values={"email": data.get("email", "").strip()})
    require_email(form)
    if not form.ok:
        return render(request, "accounts/forgot_password.html", status_code=422, form=form)
    await limiter(request).check(RESET_PER_IP, client_ip(request))
    await limiter(request).check(RESET_PER_ACCOUNT, services.normalise_email(form.values["email"]))
    await services.request_password_reset(
        email=form.values["email"], base_url=base_url(request), actor=actor(request)
    )
    return render(request, "accounts/check_email.html", email=form.values["email"], reason="reset")


@get(NEW_PASSWORD, opt=PUBLIC, include_in_schema=False, name="accounts:new-password")
async def new_password_page(request: Request, jeton: FromQuery[str] = "") -> Template:
    return await _password_page(request, jeton, TokenPurpose.reset_password, NEW_PASSWORD)


async def _password_page(
    request: Request, token: str, purpose: TokenPurpose, action: str
) -> Template:
    """The « choose your password » page of a reset link or a staff invitation."""
    try:
        owner = await services.token_owner(token, purpose)
    except AccountError as exc:
        return render(
            request, "accounts/token_problem.html", status_code=400, message=error_text(exc)
        )
    return render(
        request,
        "accounts/new_password.html",
        form=FormState(),
        token=token,
        email=owner["email"],
        action=action,
        invitation=purpose == TokenPurpose.staff_invitation,
    )


@post(NEW_PASSWORD, opt=PUBLIC, include_in_schema=False, name="accounts:new-password-post")
async def new_password(
    request: Request, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    return await _set_password_from_token(
        request,
        data,
        TokenPurpose.reset_password,
        services.reset_password,
        NEW_PASSWORD,
        "mot-de-passe-change",
    )


async def _set_password_from_token(
    request, data, purpose, service, action, done_notice: str
) -> Template | Redirect:
    token = data.get("token", "")
    password = data.get("password", "")
    form = FormState()
    try:
        owner = await services.token_owner(token, purpose)
    except AccountError as exc:
        return render(
            request, "accounts/token_problem.html", status_code=400, message=error_text(exc)
        )
    if password != data.get("password_again", ""):
        form.error("password_again", _("The two passwords are different."))
    try:
        if form.ok:
            await service(token, password, actor=actor(request))
    except AccountError as exc:
        if exc.code.startswith("token_"):
            return render(
                request, "accounts/token_problem.html", status_code=400, message=error_text(exc)
            )
        form.error("password", error_text(exc))
    if not form.ok:
        return render(
            request,
            "accounts/new_password.html",
            status_code=422,
            form=form,
            token=token,
            email=owner["email"],
            action=action,
        )
    end_session(request)
    return Redirect(sign_in_url(done_notice), status_code=303)


# --- Staff invitation -------------------------------------------------------------------------


@get(STAFF_INVITATION, opt=PUBLIC, include_in_schema=False, name="accounts:staff-invitation")
async def staff_invitation_page(request: Request, jeton: FromQuery[str] = "") -> Template:
    return await _password_page(request, jeton, TokenPurpose.staff_invitation, STAFF_INVITATION)


@post(STAFF_INVITATION, opt=PUBLIC, include_in_schema=False, name="accounts:staff-invitation-post")
async def staff_invitation(
    request: Request, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    return await _set_password_from_token(
        request,
        data,
        TokenPurpose.staff_invitation,
        services.accept_staff_invitation,
        STAFF_INVITATION,
        "bienvenue",
    )


# --- Profile and password -----------------------------------------------------------------------


@get(ACCOUNT, include_in_schema=False, name="accounts:account")
async def account_page(request: Request) -> Template:
    user = request.user
    return render(
        request,
        "accounts/account.html",
        form=FormState(values={"full_name": user.full_name, "language": user.language}),
        password_form=FormState(),
    )


@post(ACCOUNT, include_in_schema=False, name="accounts:account-post")
async def update_account(
    request: Request, data: URLEncodedBody[dict[str, str]]
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
        actor=actor(request),
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


@post(CHANGE_PASSWORD, include_in_schema=False, name="accounts:change-password")
async def change_password(
    request: Request, data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    user = request.user
    form = FormState()
    new = data.get("new_password", "")
    if new != data.get("new_password_again", ""):
        form.error("new_password_again", _("The two passwords are different."))
    if form.ok:
        async with password_attempt(request, user.email, client_ip(request)) as attempt:
            try:
                await services.change_password(
                    user.id, data.get("current_password", ""), new, actor=actor(request)
                )
                attempt.succeeded = True
            except AccountError as exc:
                attempt.succeeded = exc.code != "password_wrong"
                form.error(
                    "current_password" if exc.code == "password_wrong" else "new_password",
                    error_text(exc),
                )
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
        secret = request.session.get(SESSION_TOTP_SECRET) or services.new_totp_secret()
        request.session[SESSION_TOTP_SECRET] = secret
        uri = services.totp_uri(secret, user.email)
        context.update(
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr=_qr_data_uri(uri),
        )
    return context


async def _totp_required(request: Request) -> bool:
    return await services.totp_required(
        request.user, staff_mfa_required=staff_mfa_required(request)
    )


@get(SECURITY, include_in_schema=False, opt=ENROLMENT, name="accounts:security")
async def security_page(request: Request) -> Template:
    context = _security_context(request)
    context["must_enrol"] = await must_enrol(request, request.user)
    context["required"] = await _totp_required(request)
    if request.user.totp_enabled:
        context["remaining_codes"] = await services.remaining_recovery_codes(request.user.id)
    return render(request, "accounts/security.html", **context)


@post(
    TOTP_ENABLE,
    include_in_schema=False,
    opt=ENROLMENT,
    guards=[require_recent_authentication],
    name="accounts:totp-enable",
)
async def totp_enable(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template:
    user = request.user
    secret = request.session.get(SESSION_TOTP_SECRET)
    if user.totp_enabled or not secret:
        return Redirect(SECURITY, status_code=303)
    try:
        codes = await services.enable_totp(
            user.id, secret, data.get("code", ""), actor=actor(request)
        )
    except AccountError as exc:
        context = _security_context(request)
        context["form"].error("code", error_text(exc))
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


@post(
    TOTP_DISABLE,
    include_in_schema=False,
    guards=[require_recent_authentication],
    name="accounts:totp-disable",
)
async def totp_disable(
    request: Request, data: URLEncodedBody[dict[str, str]]
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
        context["form"].error("password", _("The password is not correct."))
        context["must_enrol"] = False
        context["required"] = False
        context["remaining_codes"] = await services.remaining_recovery_codes(user.id)
        return render(request, "accounts/security.html", status_code=422, **context)
    await services.disable_totp(user.id, actor=actor(request))
    refresh_session(request, await services.load_current_user(user.id))
    flash(request, _("Two-step verification is turned off."))
    return Redirect(SECURITY, status_code=303)


# --- Personal data -------------------------------------------------------------------------------


@get(PERSONAL_DATA, include_in_schema=False, name="accounts:personal-data")
async def personal_data_page(request: Request) -> Template:
    keep = await services.must_keep_records(request.user.id)
    return render(request, "accounts/personal_data.html", form=FormState(), keep_records=keep)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@get(PERSONAL_DATA_EXPORT, include_in_schema=False, name="accounts:personal-data-export")
async def personal_data_export(request: Request) -> Response:
    data = await services.export_personal_data(request.user.id)
    body = json.dumps(data, default=_json_default, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="guichet-mes-donnees.json"'},
    )


@post(ERASE, include_in_schema=False, name="accounts:erase")
async def erase(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template | Redirect:
    form = FormState()
    if data.get("confirm") != "yes":
        form.error("confirm", _("Tick the box to confirm."))
    outcome = None
    if form.ok:
        async with password_attempt(request, request.user.email, client_ip(request)) as attempt:
            try:
                outcome = await services.erase_account(
                    request.user.id, data.get("password", ""), actor=actor(request)
                )
                attempt.succeeded = True
            except AccountError as exc:
                attempt.succeeded = exc.code != "password_wrong"
                form.error("password", error_text(exc))
    if outcome is None:
        keep = await services.must_keep_records(request.user.id)
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


ROUTES = [
    sign_in_page,
    sign_in,
    second_factor_page,
    second_factor,
    reauth_page,
    reauth,
    sign_out,
    sign_up_page,
    sign_up,
    resend_confirmation,
    confirm_email_page,
    confirm_email,
    forgot_password_page,
    forgot_password,
    new_password_page,
    new_password,
    staff_invitation_page,
    staff_invitation,
    account_page,
    update_account,
    change_password,
    security_page,
    totp_enable,
    totp_disable,
    personal_data_page,
    personal_data_export,
    erase,
]
