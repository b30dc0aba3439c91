"""When a request arrived, and whether its client left before sending all of it.

The outermost middleware stamps the time before any wait (the session store, the
database's write lock): a submission is checked against the moment it reached us,
not the moment its turn came. (A file posted 1.5 s before the deadline was refused
as late after queuing 12 s behind someone else's autosaves.)

It also notes a client that closes the connection in the middle of its body: that
request ends in an exception in whatever reads the body, which the error handler
then logs as a client disconnect, not as a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

_KEY = "guichet.arrival"


@dataclass(slots=True)
class Arrival:
    at: datetime
    client_left: bool = False


def arrival_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        # One object shared by every copy of the scope the inner middlewares make.
        arrival = scope[_KEY] = Arrival(at=datetime.now(UTC))  # type: ignore[literal-required]

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                arrival.client_left = True
            return message

        await app(scope, watched, send)

    return middleware


def received_at(scope: Any) -> datetime:
    """The time the request reached the server (now, outside a request)."""
    arrival = scope.get(_KEY) if hasattr(scope, "get") else None
    return arrival.at if arrival else datetime.now(UTC)


def client_left(scope: Any) -> bool:
    """The client closed the connection before its request's body was complete."""
    arrival = scope.get(_KEY)
    return bool(arrival and arrival.client_left)
