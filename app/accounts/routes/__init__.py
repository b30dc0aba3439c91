"""Account pages, by concern: ``sign_in`` (password, second step, confirming the
password again, signing out), ``sign_up`` (sign-up and the pages of e-mailed links:
confirmation, password reset, staff invitation), ``profile`` (details and password,
two-step verification, personal data). The admin pages are in ``accounts.admin``."""

from __future__ import annotations

from app.accounts.routes import profile, sign_in, sign_up

ROUTES = [sign_in.router, sign_up.router, profile.router]
