"""State machines as data: every status of Guichet changes through one of these.

A ``Machine`` is a table of transitions: the action's name, the states it may start
from, the state it leads to, and who fires it (``applicant``, ``officer``,
``finance``, ``system`` — the side of the work, not a staff role: who holds which
role is ``app.permissions``' business). Services write a status only as
``machine.fire(action, current, who)``; pages show the buttons of
``machine.allowed(current, who)``, never a comparison with a status string.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.core import i18n
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    who: str


class Machine:
    def __init__(self, name: str, labels: dict[str, str], transitions: Iterable[Transition]):
        self.name = name
        self.labels = labels  # state -> English label (N_), shown translated
        self.transitions = {t.action: t for t in transitions}
        unknown = {
            s for t in self.transitions.values() for s in (*t.sources, t.target) if s not in labels
        }
        if unknown:
            raise ValueError(f"{name}: states without a label: {sorted(unknown)}")

    @property
    def states(self) -> list[str]:
        return list(self.labels)

    def can(self, action: str, state: str, who: str) -> bool:
        transition = self.transitions[action]
        return state in transition.sources and who == transition.who

    def target(self, action: str) -> str:
        return self.transitions[action].target

    def sources(self, action: str) -> frozenset[str]:
        return self.transitions[action].sources

    def fire(self, action: str, state: str, who: str) -> str:
        """The state ``action`` leads to from ``state``; refused with a ``DomainError``
        when this side may not fire it from there (a stale page, a double click)."""
        if not self.can(action, state, who):
            raise DomainError(
                "transition",
                N_("This cannot be done now: it is %(state)s."),
                state=i18n.gettext(self.labels.get(state, state)),
            )
        return self.transitions[action].target

    def step(self, action: str, who: str) -> Transition:
        """The transition, for a write over many rows at once (``UPDATE … SET status =
        step.target WHERE status IN step.sources``); this side must be the one that
        fires it."""
        transition = self.transitions[action]
        if transition.who != who:
            raise ValueError(f"{self.name}.{action} is fired by {transition.who}, not {who}")
        return transition

    def allowed(self, state: str, who: str | Iterable[str]) -> frozenset[str]:
        """The actions this side (or these sides) may fire from ``state``."""
        sides = {who} if isinstance(who, str) else set(who)
        return frozenset(
            t.action for t in self.transitions.values() if state in t.sources and t.who in sides
        )
