"""What a grantee is expected to do next, across the grants of their organisations:
accept an award, send the signed agreement, submit a report (overdue ones flagged).
Read for « Mon espace » in a fixed number of queries, whatever the number of grants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.grants.states import REPORT_IN
from app.grants.tables import Grant, GrantStatus, Report
from app.organisations.tables import Membership

KINDS = ("interim", "final")


@dataclass(frozen=True, slots=True)
class GrantTask:
    """One thing the organisation must do on a grant, and by when.

    ``kind``: ``accept`` (the award), ``agreement`` (send it signed), ``report_interim``
    or ``report_final`` (submit it; ``returned``: sent back for corrections)."""

    kind: str
    application: int
    reference: str | None
    title: str
    organisation_name: str
    due: date | None = None
    overdue: bool = False
    returned: bool = False


async def tasks_of(user_id: int, today: date) -> list[GrantTask]:
    """The grants' tasks of this person's organisations, the overdue first, then by
    date (two queries)."""
    members = Membership.select(Membership.organisation).where(Membership.user == user_id)
    grants = await Grant.select(
        Grant.id,
        Grant.application,
        Grant.status,
        Grant.agreement_required,
        Grant.agreement_file,
        Grant.interim_report_due,
        Grant.final_report_due,
        Grant.application.reference.as_alias("reference"),
        Grant.application.title.as_alias("title"),
        Grant.organisation.name.as_alias("organisation_name"),
    ).where(Grant.organisation.is_in(members))
    if not grants:
        return []
    reports = await Report.select(Report.grant, Report.kind, Report.status).where(
        Report.grant.is_in(Grant.select(Grant.id).where(Grant.organisation.is_in(members)))
    )
    status_of = {(r["grant"], r["kind"]): r["status"] for r in reports}
    tasks: list[GrantTask] = []
    for g in grants:
        about = {
            "application": g["application"],
            "reference": g["reference"],
            "title": g["title"],
            "organisation_name": g["organisation_name"],
        }
        if g["status"] == GrantStatus.awaiting_acceptance:
            tasks.append(GrantTask("accept", **about))
            continue
        if g["agreement_required"] and not g["agreement_file"]:
            tasks.append(GrantTask("agreement", **about))
        for kind in KINDS:
            due = g[f"{kind}_report_due"]
            status = status_of.get((g["id"], kind))
            if due is None or status in REPORT_IN:
                continue
            tasks.append(
                GrantTask(
                    f"report_{kind}",
                    **about,
                    due=due,
                    overdue=due < today,
                    returned=status == "returned",
                )
            )
    return sorted(tasks, key=lambda t: (not t.overdue, t.due or date.max, t.application))
