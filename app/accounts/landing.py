"""Where a person lands after sign-in when no page asked for them: the one place that
decides it. Applicants and grantees go to « Mon espace »; staff to « À traiter », the
work waiting for their roles."""

from __future__ import annotations

from app.permissions import Person, is_staff

# « Mon espace »: served by ``app.site.routes`` (which imports this constant).
MY_SPACE = "/mon-espace"
# « À traiter »: served by ``app.site.queue_routes`` (which imports this constant).
WORK_QUEUE = "/a-traiter"


def landing_for(user: Person) -> str:
    """The page a person starts from after signing in."""
    if is_staff(user):
        return WORK_QUEUE
    return MY_SPACE
