"""Account pages, by concern: ``sign_in`` (password, second step, confirming the
password again, signing out), ``sign_up`` (sign-up and the pages of e-mailed links:
confirmation, password reset, staff invitation), ``profile`` (details and password,
two-step verification, personal data). The admin pages are in ``accounts.admin``."""

from __future__ import annotations

from litestar import Request

from app.accounts.routes import profile, sign_in, sign_up
from app.core.audit import Actor
from app.core.web import actor_of, settings_of

ROUTES = [sign_in.router, sign_up.router, profile.router]


# Kept while other domains' routes still import them; handlers now declare
# ``actor: Actor`` and ``settings: Settings`` (core.web's dependencies). Remove when
# ``grep -rn "accounts.routes import" app`` finds nothing.
def actor(request: Request) -> Actor:
    return actor_of(request)


def base_url(request: Request) -> str:
    return settings_of(request).base_url
