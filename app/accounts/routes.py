"""Sign-in and sign-out pages."""

from __future__ import annotations

import logging

from litestar import Request, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts import services
from app.accounts.guards import PUBLIC
from app.accounts.sessions import end_session, start_session
from app.core.forms import FormState, safe_next
from app.core.i18n import gettext as _
from app.core.web import flash, render

log = logging.getLogger("guichet.accounts")

SIGN_IN = "/connexion"
SIGN_OUT = "/deconnexion"


@get(SIGN_IN, opt=PUBLIC, include_in_schema=False, name="accounts:sign-in")
async def sign_in_page(request: Request, suivant: FromQuery[str | None] = None) -> Template:
    return render(request, "accounts/sign_in.html", form=FormState(), next=safe_next(suivant))


@post(SIGN_IN, opt=PUBLIC, include_in_schema=False, name="accounts:sign-in-post")
async def sign_in(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template | Redirect:
    form = FormState(values={"email": data.get("email", "").strip()})
    password = data.get("password", "")
    next_path = safe_next(data.get("next"))
    if not form.values["email"]:
        form.error("email", _("Enter your email address."))
    if not password:
        form.error("password", _("Enter your password."))
    user_id = None
    if form.ok:
        user_id = await services.authenticate(form.values["email"], password)
        if user_id is None:
            form.error("email", _("Email address or password incorrect."))
            log.info("sign-in refused", extra={"event": "sign_in_failed"})
    if user_id is None:
        return render(request, "accounts/sign_in.html", status_code=422, form=form, next=next_path)
    start_session(request, user_id)
    log.info("signed in", extra={"event": "sign_in", "user_id": user_id})
    flash(request, _("You are signed in."))
    return Redirect(next_path, status_code=303)


@post(SIGN_OUT, include_in_schema=False, name="accounts:sign-out")
async def sign_out(request: Request) -> Redirect:
    end_session(request)
    return Redirect("/", status_code=303)


ROUTES = [sign_in_page, sign_in, sign_out]
