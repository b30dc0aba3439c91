"""Structured logs: one JSON object per line. Query strings, bodies, cookies and
headers are never logged (tokens travel in them)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from litestar.types import Message, Scope

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Uvicorn's access log prints query strings (reset and invitation tokens): ours doesn't.
    logging.getLogger("uvicorn.access").disabled = True


_access = logging.getLogger("guichet.access")


async def access_log(message: Message, scope: Scope) -> None:
    """``before_send`` hook: method, path (without query string) and status."""
    if message["type"] == "http.response.start" and scope.get("type") == "http":
        path = scope.get("path", "")
        if not path.startswith("/static/"):
            _access.info(
                "request",
                extra={"method": scope.get("method"), "path": path, "status": message["status"]},
            )
