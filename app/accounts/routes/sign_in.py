"""Sign-in pages: password, then the second step when the person has one; confirming
the password again before a sensitive action; signing out."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts import passwords, services, two_factor
from app.accounts.guards import ENROLMENT, PUBLIC, REAUTH_PAGE, SECURITY_PAGE, must_enrol
from app.accounts.landing import landing_for
from app.accounts.lockout import password_attempt, remember_device
from app.accounts.passwords import SignInResult
from app.accounts.sessions import (
    confirm_recent_authentication,
    end_session,
    forget_second_factor,
    pending_second_factor,
    session_seconds_left,
    start_second_factor,
    start_session,
)
from app.core import i18n
from app.core.audit import Actor
from app.core.errors import SESSION_ENDED_NOTICE
from app.core.forms import FormState, safe_next
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.ratelimit import Limit, RateLimiter
from app.core.web import client_ip, flash, render

SIGN_IN = "/connexion"
SECOND_FACTOR = "/connexion/verification"
REAUTH = REAUTH_PAGE
SIGN_OUT = "/deconnexion"
KEEP_ALIVE = "/connexion/prolonger"

# What the sign-in page says when another page sends a visitor there: in the address,
# not in a flash, so nobody gets a session before signing in.
SIGN_IN_NOTICES = {
    "delai": ("error", N_("Your sign-in took too long: please start again.")),
    "adresse-confirmee": ("success", N_("Your email address is confirmed. You can sign in.")),
    "mot-de-passe-change": ("success", N_("Your password has been changed. You can sign in.")),
    "bienvenue": ("success", N_("Welcome! Your password is set. You can sign in.")),
    SESSION_ENDED_NOTICE: (
        "warning",
        N_(
            "Your session has ended after a while without activity. Sign in again to go "
            "on where you were."
        ),
    ),
    "reponses-conservees": (
        "warning",
        N_(
            "Your session had ended, so your answers could not be saved: they are kept "
            "for you. Sign in again to find them on your file, then save."
        ),
    ),
    "document-a-renvoyer": (
        "warning",
        N_(
            "Your session had ended when you sent a document: your answers are kept for "
            "you, but the document was not received. Sign in again, check your answers, "
            "then choose the document again."
        ),
    ),
    "candidater": (
        "info",
        N_(
            "To apply to a call, sign in, or create your account first: you will then come "
            "back to the call."
        ),
    ),
}

# Second-step guesses per account; password guesses: see accounts.lockout.
SECOND_FACTOR_PER_ACCOUNT = Limit("second_factor_account", 5, 15 * 60)


def sign_in_url(notice: str, next_path: str = "") -> str:
    query = {"info": notice} | ({"suivant": next_path} if next_path else {})
    return f"{SIGN_IN}?{urlencode(query)}"


async def password_ok(request: Request, password: str) -> bool:
    """The signed-in person's password, under the same brute-force limits as sign-in."""
    async with password_attempt(request, request.user.email, client_ip(request)) as attempt:
        attempt.succeeded = await passwords.check_password(request.user.id, password)
    return attempt.succeeded


@get(SIGN_IN, opt=PUBLIC, name="accounts:sign-in")
async def sign_in_page(
    request: Request, suivant: FromQuery[str | None] = None, info: FromQuery[str] = ""
) -> Template:
    """``info`` names one of ``SIGN_IN_NOTICES`` (anything else says nothing)."""
    notice = SIGN_IN_NOTICES.get(info)
    return render(
        request,
        "accounts/sign_in.html",
        form=FormState(),
        next=safe_next(suivant, default=""),
        unverified=False,
        notice=(notice[0], _(notice[1])) if notice else None,
    )


@post(SIGN_IN, opt=PUBLIC, name="accounts:sign-in-post")
async def sign_in(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    form = FormState(values={"email": data.get("email", "").strip()})
    password = data.get("password", "")
    next_path = safe_next(data.get("next"), default="")
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
            result = await passwords.authenticate(email, password, actor=actor)
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
    await passwords.record_sign_in(user_id, actor=Actor(user_id, client_ip(request)))
    i18n.activate(user.language)
    flash(request, _("You are signed in."))
    # Staff who must set up two-factor do it now, before any other page; a person no
    # page sent here starts from their own landing page (``accounts.landing``).
    enrol_first = await must_enrol(request, user)
    landing = next_path if next_path not in ("", "/") else landing_for(user)
    response = Redirect(SECURITY_PAGE if enrol_first else landing, status_code=303)
    response.set_cookie(
        i18n.LOCALE_COOKIE, user.language, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
    )
    # This browser signed in: its own guesses are counted apart from now on.
    remember_device(request, response, user.email)
    return response


@get(SECOND_FACTOR, opt=PUBLIC, name="accounts:second-factor")
async def second_factor_page(
    request: Request, suivant: FromQuery[str | None] = None
) -> Template | Redirect:
    if pending_second_factor(request) is None:
        return Redirect(SIGN_IN, status_code=303)
    return render(
        request,
        "accounts/second_factor.html",
        form=FormState(),
        next=safe_next(suivant, default=""),
    )


@post(SECOND_FACTOR, opt=PUBLIC, name="accounts:second-factor-post")
async def second_factor(
    request: Request, data: URLEncodedBody[dict[str, str]], limiter: NamedDependency[RateLimiter]
) -> Template | Redirect:
    user_id = pending_second_factor(request)
    next_path = safe_next(data.get("next"), default="")
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
    elif not await _second_factor_ok(request, limiter, user_id, code):
        form.error(
            "code",
            _("This code is not correct. Check the time on your phone and type the current code."),
        )
    if not form.ok:
        return render(
            request, "accounts/second_factor.html", status_code=422, form=form, next=next_path
        )
    return await _complete_sign_in(request, user_id, next_path)


async def _second_factor_ok(
    request: Request, limiter: RateLimiter, user_id: int, code: str
) -> bool:
    # Counted before the code is checked: parallel guesses are counted too.
    async with limiter.attempt(SECOND_FACTOR_PER_ACCOUNT, str(user_id)):
        ok = await two_factor.verify_second_factor(
            user_id, code, actor=Actor(user_id, client_ip(request))
        )
    if ok:
        await limiter.reset(SECOND_FACTOR_PER_ACCOUNT, str(user_id))
    return ok


@get(REAUTH, opt=ENROLMENT, name="accounts:reauth")
async def reauth_page(request: Request, suivant: FromQuery[str | None] = None) -> Template:
    return render(request, "accounts/reauth.html", form=FormState(), next=safe_next(suivant))


@post(REAUTH, opt=ENROLMENT, name="accounts:reauth-post")
async def reauth(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template | Redirect:
    next_path = safe_next(data.get("next"))
    form = FormState()
    if not await password_ok(request, data.get("password", "")):
        form.refuse(passwords.wrong_password("password"))
        return render(request, "accounts/reauth.html", status_code=422, form=form, next=next_path)
    confirm_recent_authentication(request)
    flash(request, _("Password confirmed. You can go on."))
    return Redirect(next_path, status_code=303)


@post(KEEP_ALIVE, name="accounts:keep-alive")
async def keep_alive(request: Request) -> Response:
    """« Stay signed in »: a signed-in request is activity (the session middleware
    counts the idle time from now); answers the seconds the session has left."""
    return Response(
        content=b"",
        status_code=204,
        headers={"X-Session-Seconds": str(session_seconds_left(request, request.user))},
    )


@post(SIGN_OUT, opt=ENROLMENT, name="accounts:sign-out")
async def sign_out(request: Request, actor: NamedDependency[Actor]) -> Redirect:
    await passwords.record_sign_out(request.user.id, actor=actor)
    end_session(request)
    return Redirect("/", status_code=303)


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        sign_in_page,
        sign_in,
        second_factor_page,
        second_factor,
        reauth_page,
        reauth,
        keep_alive,
        sign_out,
    ],
)
