"""« À traiter »: where staff land after signing in (``accounts`` sends them here)."""

from __future__ import annotations

import asyncio

from litestar import Request, Router, get
from litestar.di import NamedDependency
from litestar.response import Template

from app.accounts.guards import requires
from app.accounts.landing import WORK_QUEUE
from app.core.audit_checkpoints import latest_checkpoint
from app.core.web import render
from app.permissions import can_administer
from app.settings import Settings
from app.site import queues

QUEUE = WORK_QUEUE


@get(QUEUE, name="site:queue")
async def queue(request: Request, settings: NamedDependency[Settings]) -> Template:
    """Each line says how much waits and links to the list where it is done."""
    checkpoint = None
    if can_administer(request.user):
        checkpoint = await asyncio.to_thread(
            latest_checkpoint, settings.audit_checkpoints_path, settings.audit_key
        )
    return render(
        request,
        "site/queue.html",
        work=await queues.queues_for(request.user),
        checkpoint=checkpoint,
    )


ROUTES = [
    Router(
        path="",
        guards=[requires("staff")],
        include_in_schema=False,
        route_handlers=[queue],
    )
]
