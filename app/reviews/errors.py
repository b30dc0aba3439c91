"""A refused review action: a ``DomainError`` with its message written where the rule
is (``except ReviewError`` keeps catching the domain's refusals)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.domain import DomainError


class ReviewError(DomainError):
    """``problems``: for a refused review form, every field's message at once (field →
    English message marked ``N_``), so that each mark is shown beside its criterion."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        *,
        problems: Mapping[str, str] | None = None,
        **params: Any,
    ):
        super().__init__(code, message, field, **params)
        self.problems = dict(problems or {})
