"""Pages reached by e-mailed links or leading to them: sign-up and the confirmation of
the address, the forgotten password, a staff member's invitation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts import passwords, services
from app.accounts.credentials import AccountError, check_password_rules, token_owner
from app.accounts.guards import PUBLIC
from app.accounts.routes.sign_in import sign_in_url
from app.accounts.sessions import end_session
from app.accounts.tables import TokenPurpose
from app.core import i18n
from app.core.audit import Actor
from app.core.forms import FormState, require_email, safe_next
from app.core.i18n import gettext as _
from app.core.ratelimit import Limit, RateLimiter
from app.core.web import client_ip, render
from app.settings import Settings

SIGN_UP = "/inscription"
CONFIRM_EMAIL = "/compte/confirmer"
RESEND_CONFIRMATION = "/compte/confirmer/renvoyer"
FORGOT_PASSWORD = "/mot-de-passe-oublie"  # nosec B105  # a URL path
NEW_PASSWORD = "/mot-de-passe/nouveau"  # nosec B105  # a URL path
STAFF_INVITATION = "/invitation"

# Each sends an e-mail: limited per client address and per address written to.
SIGN_UP_PER_IP = Limit("sign_up_ip", 10, 3600)
RESET_PER_IP = Limit("reset_ip", 10, 3600)
RESET_PER_ACCOUNT = Limit("reset_account", 3, 3600)


def _token_problem(request: Request, exc: AccountError) -> Template:
    return render(request, "accounts/token_problem.html", status_code=400, message=exc.text())


# --- Sign-up and e-mail confirmation ---------------------------------------------------------


@get(SIGN_UP, opt=PUBLIC, name="accounts:sign-up")
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


@post(SIGN_UP, opt=PUBLIC, name="accounts:sign-up-post")
async def sign_up(
    request: Request,
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    limiter: NamedDependency[RateLimiter],
) -> Template:
    form = FormState(
        values={
            "full_name": data.get("full_name", "").strip(),
            "email": data.get("email", "").strip(),
            # Ticked stays ticked when the form comes back with an error.
            "accept_terms": "yes" if data.get("accept_terms") == "yes" else "",
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
            check_password_rules(password, email=form.values["email"])
        except AccountError as exc:
            form.refuse(exc, field="password")
    if data.get("accept_terms") != "yes":
        form.error("accept_terms", _("Confirm that you have read how your personal data is used."))
    next_path = safe_next(data.get("next"), "")
    if not form.ok:
        return render(request, "accounts/sign_up.html", status_code=422, form=form, next=next_path)
    await limiter.check(SIGN_UP_PER_IP, client_ip(request))
    await passwords.register_applicant(
        email=form.values["email"],
        full_name=form.values["full_name"],
        password=password,
        language=i18n.get_locale(),
        base_url=settings.base_url,
        actor=actor,
        # Carried by the confirmation link (not a session: none before signing in).
        next_path=next_path,
    )
    return render(
        request, "accounts/check_email.html", email=form.values["email"], reason="sign_up"
    )


@post(RESEND_CONFIRMATION, opt=PUBLIC, name="accounts:resend-confirmation")
async def resend_confirmation(
    request: Request,
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    limiter: NamedDependency[RateLimiter],
) -> Template:
    email = data.get("email", "").strip()
    await limiter.check(RESET_PER_IP, client_ip(request))
    if email:
        await limiter.check(RESET_PER_ACCOUNT, services.normalise_email(email))
        await passwords.resend_verification(email=email, base_url=settings.base_url, actor=actor)
    return render(request, "accounts/check_email.html", email=email, reason="sign_up")


@get(CONFIRM_EMAIL, opt=PUBLIC, name="accounts:confirm-email")
async def confirm_email_page(
    request: Request, jeton: FromQuery[str] = "", suivant: FromQuery[str | None] = None
) -> Template:
    """Shows a button: the token is used by the POST, never by a mail scanner's GET;
    ``suivant``: where sign-up was to lead (an organisation invitation)."""
    try:
        await token_owner(jeton, TokenPurpose.verify_email)
    except AccountError as exc:
        return _token_problem(request, exc)
    return render(request, "accounts/confirm_email.html", token=jeton, next=safe_next(suivant, ""))


@post(CONFIRM_EMAIL, opt=PUBLIC, name="accounts:confirm-email-post")
async def confirm_email(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    try:
        await passwords.confirm_email(data.get("token", ""), actor=actor)
    except AccountError as exc:
        return _token_problem(request, exc)
    return Redirect(
        sign_in_url("adresse-confirmee", safe_next(data.get("next"), "")), status_code=303
    )


# --- Password reset -------------------------------------------------------------------------


@get(FORGOT_PASSWORD, opt=PUBLIC, name="accounts:forgot-password")
async def forgot_password_page(request: Request) -> Template:
    return render(request, "accounts/forgot_password.html", form=FormState())


@post(FORGOT_PASSWORD, opt=PUBLIC, name="accounts:forgot-password-post")
async def forgot_password(
    request: Request,
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    limiter: NamedDependency[RateLimiter],
) -> Template:
    form = FormState(values={"email": data.get("email", "").strip()})
    require_email(form)
    if not form.ok:
        return render(request, "accounts/forgot_password.html", status_code=422, form=form)
    await limiter.check(RESET_PER_IP, client_ip(request))
    await limiter.check(RESET_PER_ACCOUNT, services.normalise_email(form.values["email"]))
    await passwords.request_password_reset(
        email=form.values["email"], base_url=settings.base_url, actor=actor
    )
    return render(request, "accounts/check_email.html", email=form.values["email"], reason="reset")


@get(NEW_PASSWORD, opt=PUBLIC, name="accounts:new-password")
async def new_password_page(request: Request, jeton: FromQuery[str] = "") -> Template:
    return await _password_page(request, jeton, TokenPurpose.reset_password)


async def _password_page(request: Request, token: str, purpose: TokenPurpose) -> Template:
    """The « choose your password » page of a reset link or a staff invitation."""
    try:
        owner = await token_owner(token, purpose)
    except AccountError as exc:
        return _token_problem(request, exc)
    return render(
        request,
        "accounts/new_password.html",
        form=FormState(),
        token=token,
        email=owner["email"],
        post_to=POST_TO[purpose],
        invitation=purpose == TokenPurpose.staff_invitation,
    )


@post(NEW_PASSWORD, opt=PUBLIC, name="accounts:new-password-post")
async def new_password(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    return await _set_password_from_token(
        request,
        data,
        TokenPurpose.reset_password,
        passwords.reset_password,
        actor,
        "mot-de-passe-change",
    )


async def _set_password_from_token(
    request: Request,
    data: dict[str, str],
    purpose: TokenPurpose,
    service: Callable[..., Awaitable[int]],
    actor: Actor,
    done_notice: str,
) -> Template | Redirect:
    token = data.get("token", "")
    password = data.get("password", "")
    form = FormState()
    try:
        owner = await token_owner(token, purpose)
    except AccountError as exc:
        return _token_problem(request, exc)
    if password != data.get("password_again", ""):
        form.error("password_again", _("The two passwords are different."))
    try:
        if form.ok:
            await service(token, password, actor=actor)
    except AccountError as exc:
        if exc.code.startswith("token_"):
            return _token_problem(request, exc)
        form.refuse(exc, field="password")
    if not form.ok:
        return render(
            request,
            "accounts/new_password.html",
            status_code=422,
            form=form,
            token=token,
            email=owner["email"],
            post_to=POST_TO[purpose],
        )
    end_session(request)
    return Redirect(sign_in_url(done_notice), status_code=303)


# --- Staff invitation -------------------------------------------------------------------------


@get(STAFF_INVITATION, opt=PUBLIC, name="accounts:staff-invitation")
async def staff_invitation_page(request: Request, jeton: FromQuery[str] = "") -> Template:
    return await _password_page(request, jeton, TokenPurpose.staff_invitation)


@post(STAFF_INVITATION, opt=PUBLIC, name="accounts:staff-invitation-post")
async def staff_invitation(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    return await _set_password_from_token(
        request,
        data,
        TokenPurpose.staff_invitation,
        services.accept_staff_invitation,
        actor,
        "bienvenue",
    )


# Where the « choose your password » form of each kind of link is sent (a route name).
POST_TO = {
    TokenPurpose.reset_password: "accounts:new-password-post",
    TokenPurpose.staff_invitation: "accounts:staff-invitation-post",
}

router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
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
    ],
)
