"""Who may do what. Every route is closed unless it says otherwise."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

PUBLIC = {"public": True}


def deny_by_default(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: a route is for signed-in people unless its opt says public."""
    if handler.opt.get("public"):
        return
    if connection.scope.get("user") is None:
        raise NotAuthorizedException()


def require_role(*roles: str):
    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException()
        if not user.has_role(*roles):
            raise PermissionDeniedException()

    guard.__name__ = f"require_role_{'_'.join(roles)}"
    return guard
