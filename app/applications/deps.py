"""The application a request is about, for this domain's routes and the later domains'
(decisions, grants): found with its access checked, or 404."""

from __future__ import annotations

from litestar import Request
from litestar.exceptions import NotFoundException

from app.applications import services
from app.applications.models import ApplicationView


async def visible_application(request: Request, app_id: int) -> ApplicationView:
    """An application this person may read (members of its organisation, staff)."""
    app = await services.application_for(request.user, app_id)
    if app is None:
        raise NotFoundException()
    return app


async def own_application(request: Request, app_id: int) -> ApplicationView:
    """An application of one of this person's organisations: the applicant's pages
    and actions. Staff work from /instruction."""
    app = await services.application_for(request.user, app_id)
    if app is None or not await services.is_member(request.user.id, app.organisation):
        raise NotFoundException()
    return app
