"""Where a person lands after sign-in when no page asked for them: the one place that
decides it. Applicants and grantees go to « Mon espace »; the staff keep the home page.
(A staff work queue plugs in here, for the staff's roles.)"""

from __future__ import annotations

from app.permissions import Person, is_staff

# « Mon espace »: served by ``app.site.routes`` (which imports this constant).
MY_SPACE = "/mon-espace"
HOME = "/"


def landing_for(user: Person) -> str:
    """The page a person starts from after signing in."""
    if is_staff(user):
        return HOME
    return MY_SPACE
