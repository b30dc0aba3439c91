"""The staff's screening (recevabilité): eligible, ineligible with a reason, or sent
back « à compléter » with a message and a deadline. The applicant is told by e-mail."""

from __future__ import annotations

from datetime import datetime

from app.accounts.services import CurrentUser
from app.applications import states
from app.applications.ineligibility import store_decision
from app.applications.models import NOT_FOUND, ApplicationError
from app.applications.reading import application_for, now
from app.applications.receipts import Receipts, rewrite_for_completion
from app.applications.tables import Application
from app.applications.thread import MESSAGE_REQUIRED
from app.calls.tables import Call
from app.core import audit
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.storage import FileStorage
from app.funders.models import funder_context
from app.funders.services import legal_by_id, legal_of
from app.organisations.services import email_members

NOT_NOW = N_("This change of status is not possible now.")


async def request_completion(
    app_id: int,
    *,
    message: str,
    complete_by: datetime,
    user: CurrentUser,
    actor: Actor,
    base_url: str,
    receipts: Receipts | None = None,
) -> None:
    """An officer sends the file back « à compléter » with a message and a deadline;
    with ``receipts``, the file's receipt is written again with what is missing and by
    when (``receipts.rewrite_for_completion``)."""
    if not message.strip():
        raise ApplicationError("message_required", MESSAGE_REQUIRED, field="message")
    if complete_by <= now():
        raise ApplicationError(
            "deadline_past", N_("Choose a deadline in the future."), field="complete_by"
        )
    async with write_transaction():
        app = await application_for(user, app_id)
        if app is None:
            raise ApplicationError("not_found", NOT_FOUND)
        if not states.APPLICATION.can("request_completion", app.status, "officer"):
            raise ApplicationError("transition", NOT_NOW)
        await Application.update(
            {
                Application.status: states.APPLICATION.fire(
                    "request_completion", app.status, "officer"
                ),
                Application.completion_message: message.strip()[:5000],
                Application.complete_by: complete_by,
                Application.version: Application.version + 1,
                Application.updated_at: now(),
            }
        ).where(Application.id == app_id)
        await audit.record_by(
            actor,
            "applications.sent_back",
            "application",
            app_id,
            complete_by=complete_by.isoformat(),
        )
        await email_members(
            app.organisation,
            "application_to_complete",
            {
                "reference": app.reference,
                "message": message.strip(),
                "complete_by": complete_by,
                "url": f"{base_url}/dossiers/{app_id}",
                **funder_context(await legal_of(app.funder_id)),
            },
        )
    if receipts is not None:
        sent_back = await application_for(user, app_id)
        if sent_back is not None:
            await rewrite_for_completion(sent_back, receipts)


# The screening decisions, as the staff choose them, and the action each fires.
SCREENING = {"eligible": "mark_eligible", "ineligible": "mark_ineligible"}


async def screen(
    app_ids: list[int],
    decision: str,
    *,
    reason: str,
    user: CurrentUser,
    actor: Actor,
    base_url: str,
    files: FileStorage | None = None,
) -> int:
    """Screening (recevabilité), for one file or many: all of them or none. An
    ineligible file needs a reason, which the applicant receives by e-mail; with
    ``files``, its decision (PDF) is stored once, after the screening commits."""
    action = SCREENING.get(decision)
    if action is None:
        raise ApplicationError("transition", NOT_NOW, field="decision")
    reason = reason.strip()
    if decision == "ineligible" and not reason:
        raise ApplicationError(
            "reason_required",
            N_("Give the reason the file is ineligible: it is sent to the applicant."),
            field="reason",
        )
    if not app_ids:
        raise ApplicationError(
            "nothing_selected", N_("Select at least one file."), field="decision"
        )
    at = now()
    async with write_transaction():
        # PostgreSQL locks no row through an outer join: lock, then read the titles.
        rows = await for_update(
            Application.select(
                Application.id,
                Application.status,
                Application.reference,
                Application.title,
                Application.organisation,
                Application.call,
            ).where(Application.id.is_in(sorted(set(app_ids))))
        )
        if len(rows) != len(set(app_ids)):
            raise ApplicationError("not_found", NOT_FOUND, field="decision")
        calls = {
            c["id"]: c
            for c in await Call.select(Call.id, Call.title, Call.funder).where(
                Call.id.is_in([r["call"] for r in rows])
            )
        }
        funders = await legal_by_id([c["funder"] for c in calls.values()])
        refused = [
            r["reference"] or str(r["id"])
            for r in rows
            if not states.APPLICATION.can(action, r["status"], "officer")
        ]
        if refused:
            raise ApplicationError(
                "not_screenable",
                N_("These files are not waiting for screening: %(refs)s."),
                field="decision",
                refs=", ".join(refused),
            )
        for row in rows:
            await Application.update(
                {
                    Application.status: states.APPLICATION.fire(action, row["status"], "officer"),
                    Application.screened_at: at,
                    Application.screening_reason: reason if decision == "ineligible" else "",
                    Application.version: Application.version + 1,
                    Application.updated_at: at,
                }
            ).where(Application.id == row["id"])
            await audit.record_by(
                actor,
                f"applications.{decision}",
                "application",
                row["id"],
                reason=reason[:200] or None,
            )
            await email_members(
                row["organisation"],
                f"application_{decision}",
                {
                    "reference": row["reference"],
                    "call": calls[row["call"]]["title"],
                    "title": row["title"],
                    "reason": reason,
                    "url": f"{base_url}/dossiers/{row['id']}",
                    **funder_context(funders.get(calls[row["call"]]["funder"])),
                },
            )
    if decision == "ineligible" and files is not None:
        for row in rows:
            screened_out = await application_for(user, row["id"])
            if screened_out is not None:
                await store_decision(screened_out, files)
    return len(rows)
