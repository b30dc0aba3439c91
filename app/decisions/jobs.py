"""Writing the letters of a publication, off the request path.

A publication queues a ``LetterJob``; a worker claims it (a conditional update of its
heartbeat, so several app workers never run one job twice), renders the letters in
chunks on worker processes (reportlab is CPU-bound: two cores, two processes), then
stores each chunk in one transaction: the letter rows, the e-mails to the
organisation's members and the progress. A letter is written for a decision only if
its batch has none yet, so a worker that died mid-way is resumed (after
``STALE_AFTER``, or ``LETTER_STALE_AFTER_S``) without duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import anyio.to_process

from app.accounts.services import Actor
from app.applications.tables import Application
from app.calls.tables import Call
from app.core import audit, i18n
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext as _
from app.core.money import amount_in_words, format_amount
from app.core.outbox import enqueue_email
from app.core.pdf import Letterhead
from app.core.periodic import Rounds
from app.core.storage import FileStorage
from app.core.time import PARIS, long_date
from app.decisions import services
from app.decisions.letters import LetterContent, fill, paragraphs_of, render_letter, render_many
from app.decisions.tables import Decision, Letter, LetterJob
from app.grants import schedule as schedules
from app.grants import services as grant_services
from app.grants.tables import Grant, Instalment
from app.organisations.tables import Membership
from app.reviews.tables import Assignment

log = logging.getLogger("guichet.letters")
CHUNK = 25
PROCESSES = 2
STALE_AFTER = timedelta(seconds=60)
RETRY_AFTER = timedelta(minutes=5)


def now() -> datetime:
    return datetime.now(UTC)


# --- What a letter says -----------------------------------------------------------------------


async def _letter_rows(app_ids: Sequence[int]) -> list[dict]:
    """Everything the letters of these files need, in a fixed number of queries."""
    rows = await Application.select(
        Application.id,
        Application.reference,
        Application.title,
        Application.call,
        Application.organisation,
        Application.call.title.as_alias("call_title"),
        Application.call.funder.name.as_alias("funder_name"),
        Application.call.funder.address.as_alias("funder_address"),
        Application.call.funder.logo_file.as_alias("funder_logo"),
        Application.organisation.name.as_alias("org_name"),
        Application.organisation.legal_rep_name.as_alias("rep_name"),
        Application.organisation.legal_rep_title.as_alias("rep_title"),
        Application.organisation.street.as_alias("org_street"),
        Application.organisation.postcode.as_alias("org_postcode"),
        Application.organisation.city.as_alias("org_city"),
    ).where(Application.id.is_in(list(app_ids) or [0]))
    decisions = {
        d["application"]: d
        for d in await Decision.select().where(Decision.application.is_in(list(app_ids) or [0]))
    }
    grants = {
        g["application"]: g
        for g in await Grant.select(Grant.id, Grant.application).where(
            Grant.application.is_in(list(app_ids) or [0])
        )
    }
    parts: dict[int, list[dict]] = {}
    for part in (
        await Instalment.select()
        .where(Instalment.grant.is_in([g["id"] for g in grants.values()] or [0]))
        .order_by(Instalment.position)
    ):
        parts.setdefault(part["grant"], []).append(part)
    comments: dict[int, list[str]] = {}
    for review in (
        await Assignment.select(Assignment.application, Assignment.comment_applicant)
        .where(
            Assignment.application.is_in(list(app_ids) or [0])
            & Assignment.submitted_at.is_not_null()
        )
        .order_by(Assignment.id)
    ):
        if review["comment_applicant"].strip():
            comments.setdefault(review["application"], []).append(review["comment_applicant"])
    for row in rows:
        row["decision"] = decisions.get(row["id"])
        grant = grants.get(row["id"])
        row["instalments"] = parts.get(grant["id"], []) if grant else []
        row["comments"] = comments.get(row["id"], [])
    return rows


def placeholder_values(row: dict, decision: dict) -> dict[str, str]:
    when = decision.get("deliberation_date")
    amount = decision.get("amount_cents") or 0
    return {
        "organisation": row["org_name"],
        "representant": " ".join(p for p in (row["rep_title"], row["rep_name"]) if p),
        "projet": row["title"],
        "reference": row["reference"] or "",
        "appel": row["call_title"],
        "financeur": row["funder_name"],
        "montant": format_amount(amount, locale="fr_FR"),
        "montant_en_lettres": amount_in_words(amount, "fr"),
        "date_deliberation": long_date(when, "fr") if when else "",
        "reference_deliberation": decision.get("deliberation_reference") or "",
        "motif": decision.get("reason") or "",
    }


def compose(
    row: dict, decision: dict, settings: dict, *, base_url: str, data_dir: Path, today: datetime
) -> LetterContent:
    """The award or rejection letter of one file, in French (the letters' language)."""
    award = decision["outcome"] == "award"
    values = placeholder_values(row, decision)
    template = settings["award_template"] if award else settings["rejection_template"]
    funder_lines = tuple((row["funder_address"] or "").splitlines())
    logo = (
        FileStorage(data_dir / "files").path_of(row["funder_logo"]) if row["funder_logo"] else None
    )
    with i18n.use_locale("fr"):
        deliberation = values["reference_deliberation"]
        if values["date_deliberation"]:
            deliberation = _("%(reference)s of %(date)s") % {
                "reference": deliberation,
                "date": values["date_deliberation"],
            }
        sections: list[tuple[str, tuple[str, ...]]] = []
        facts: tuple[tuple[str, str], ...] = ()
        rows: tuple[tuple[str, ...], ...] = ()
        if award:
            facts = (
                (_("Beneficiary"), row["org_name"]),
                (_("Purpose of the grant"), row["title"]),
                (_("Amount awarded"), values["montant"]),
                (_("Amount in words"), values["montant_en_lettres"]),
            )
            labels = {k: _(v) for k, v in schedules.TRIGGERS.items()}
            rows = tuple(
                (
                    str(part["position"]),
                    format_amount(part["amount_cents"], locale="fr_FR"),
                    _("on %(date)s") % {"date": long_date(part["due_on"], "fr")}
                    if part["trigger"] == "date" and part["due_on"]
                    else labels.get(part["trigger"], part["trigger"]),
                )
                for part in row["instalments"]
            )
            conditions = list(paragraphs_of(settings["conditions"])) or [
                _(
                    "An interim report is due halfway through the project and a final report, "
                    "with the financial report (compte rendu financier, CERFA n° 15059), within "
                    "six months after the end of the financial year of the grant."
                ),
                _(
                    "Every communication about the project mentions the funder's support and "
                    "shows its logo."
                ),
                _(
                    "Any part of the grant that is not used for the project, or not "
                    "justified, will be claimed back."
                ),
            ]
            if (
                settings["agreement_required"]
                or decision["amount_cents"] > grant_services.AGREEMENT_THRESHOLD_CENTS
            ):
                conditions.append(
                    _(
                        "A written agreement (convention) is signed before the first payment, "
                        "as the grant is above 23 000 € or the call asks for one."
                    )
                )
            sections.append((_("Conditions"), tuple(conditions)))
            sections.append(
                (
                    _("How to accept the grant"),
                    (
                        _(
                            "Sign in to Guichet, open file %(reference)s from « My files » and "
                            "choose « Accept the grant ». Give the name and capacity of the "
                            "person who signs for the organisation and confirm the conditions. "
                            "The first instalment can only be paid after this acceptance."
                        )
                        % {"reference": values["reference"]},
                        f"{base_url}/dossiers/{row['id']}",
                    ),
                )
            )
        else:
            sections.append((_("Reason"), (values["motif"],)))
            if settings["share_reviews"] and row["comments"]:
                sections.append((_("The reviewers' comments"), tuple(row["comments"])))
        town = funder_lines[-1].split(" ", 1)[-1] if funder_lines else ""
        place = settings["place"] or re.sub(r"\s+cedex\b.*$", "", town, flags=re.I)
        when = long_date(today.astimezone(PARIS).date(), "fr")
        return LetterContent(
            letterhead=Letterhead(
                name=row["funder_name"], address_lines=funder_lines, logo_path=logo
            ),
            title=_("Notification of grant") if award else _("Answer to your grant application"),
            kind="award" if award else "rejection",
            reference=values["reference"],
            footer=f"{row['funder_name']} — {values['reference']}",
            page_label=_("Page {page} / {pages}"),
            addressee=(
                row["org_name"],
                _("For the attention of %(name)s, %(title)s")
                % {"name": row["rep_name"], "title": row["rep_title"]},
                row["org_street"],
                f"{row['org_postcode']} {row['org_city']}",
            ),
            place_and_date=_("{place}, {date}").format(place=place, date=when) if place else when,
            references=(
                (_("File number:"), values["reference"]),
                (_("Deliberation:"), deliberation),
            ),
            subject_label=_("Subject:"),
            subject=_("award of a grant") if award else _("your grant application"),
            body=paragraphs_of(fill(template, values)),
            facts=facts,
            schedule_heading=_("Payment schedule"),
            schedule_header=(_("No."), _("Amount"), _("Payable")),
            schedule_rows=rows,
            sections=tuple(sections),
            signature=tuple(
                line for line in (settings["signatory_title"], settings["signatory_name"]) if line
            )
            or (row["funder_name"],),
        )


async def preview(
    call_id: int, kind: str, template: str, *, base_url: str, data_dir: Path
) -> bytes:
    """A PDF of a template as typed (not saved), with a file of the call, or sample data."""
    settings = await services.settings_for(call_id)
    settings = {**settings, f"{'award' if kind == 'award' else 'rejection'}_template": template}
    outcome = "award" if kind == "award" else "reject"
    decided = (
        await Decision.select(Decision.application)
        .where((Decision.call == call_id) & (Decision.outcome == outcome))
        .first()
    )
    if decided is None:
        decided = (
            await Application.select(Application.id.as_alias("application"))
            .where(Application.call == call_id)
            .first()
        )
    rows = await _letter_rows([decided["application"]]) if decided else []
    if rows:
        row = rows[0]
        decision = row["decision"] or {}
    else:
        # No file yet: sample data under the call's own letterhead.
        call = (
            await Call.select(
                Call.title.as_alias("call_title"),
                Call.funder.name.as_alias("funder_name"),
                Call.funder.address.as_alias("funder_address"),
                Call.funder.logo_file.as_alias("funder_logo"),
            )
            .where(Call.id == call_id)
            .first()
        )
        row = {**_SAMPLE_ROW, **(call or {})}
        decision = {}
    decision = {
        "outcome": outcome,
        "amount_cents": decision.get("amount_cents") or 20_000_000,
        "reason": decision.get("reason") or _("(the reason written on the decision sheet)"),
        "deliberation_reference": decision.get("deliberation_reference")
        or settings["deliberation_reference"],
        "deliberation_date": decision.get("deliberation_date") or settings["deliberation_date"],
    }
    if not row["instalments"] and outcome == "award":
        row = {
            **row,
            "instalments": [
                {
                    "position": n,
                    "amount_cents": p.amount_cents,
                    "trigger": p.trigger,
                    "due_on": p.due_on,
                }
                for n, p in enumerate(
                    schedules.amounts(decision["amount_cents"], settings["default_schedule"]),
                    start=1,
                )
            ],
        }
    content = compose(row, decision, settings, base_url=base_url, data_dir=data_dir, today=now())
    return await anyio.to_thread.run_sync(render_letter, content)


_SAMPLE_ROW = {
    "id": 0,
    "reference": "XXX-0001",
    "title": "Projet",
    "call_title": "Appel à projets",
    "funder_name": "Financeur",
    "funder_address": "",
    "funder_logo": None,
    "org_name": "Association",
    "rep_name": "Camille Exemple",
    "rep_title": "Présidente",
    "org_street": "1 rue de l'Exemple",
    "org_postcode": "75001",
    "org_city": "Paris",
    "instalments": [],
    "comments": [],
}


# --- Storing letters --------------------------------------------------------------------------


async def _store(
    job_id: int | None,
    items: list[tuple[dict, LetterContent, bytes]],
    *,
    storage: FileStorage,
    base_url: str,
    actor: Actor,
    worker: str = "",
) -> int:
    """Store rendered letters and record them, one transaction for the lot: a letter
    row per file (next version), the e-mails to the organisation's members, the batch's
    progress. Only the worker holding the batch's claim writes (the row is locked and
    checked); a file that already has its letter in this batch is skipped."""
    stored = []
    for row, content, data in items:
        name = f"{'notification-subvention' if content.kind == 'award' else 'reponse-demande'}-{content.reference}.pdf"
        stored.append(
            (
                row,
                content,
                await anyio.to_thread.run_sync(
                    lambda data=data, name=name: storage.store_bytes(
                        data, filename=name, kinds={"pdf"}
                    )
                ),
            )
        )
    written = 0
    try:
        async with write_transaction():
            if job_id is not None:
                holder = await for_update(
                    LetterJob.select(LetterJob.worker).where(LetterJob.id == job_id)
                )
                if not holder or holder[0]["worker"] != worker:
                    raise LostClaim()
            app_ids = [row["id"] for row, _c, _s in stored]
            done = set()
            if job_id is not None:
                done = {
                    r["application"]
                    for r in await Letter.select(Letter.application).where(
                        (Letter.job == job_id) & Letter.application.is_in(app_ids)
                    )
                }
            versions: dict[int, int] = {}
            for letter in await Letter.select(Letter.application, Letter.version).where(
                Letter.application.is_in(app_ids)
            ):
                versions[letter["application"]] = max(
                    versions.get(letter["application"], 0), letter["version"]
                )
            members: dict[int, list[dict]] = {}
            for member in await Membership.select(
                Membership.organisation,
                Membership.user.email.as_alias("email"),
                Membership.user.language.as_alias("language"),
            ).where(Membership.organisation.is_in([row["organisation"] for row, _c, _s in stored])):
                members.setdefault(member["organisation"], []).append(member)
            keep = []
            for row, content, file in stored:
                if row["id"] in done:
                    continue
                keep.append(file.storage_id)
                version = versions.get(row["id"], 0) + 1
                await Letter.insert(
                    Letter(
                        application=row["id"],
                        job=job_id,
                        kind=content.kind,
                        version=version,
                        storage_id=file.storage_id,
                        filename=file.filename,
                        size=file.size,
                        sha256=file.sha256,
                        created_by=actor.user_id,
                    )
                )
                await audit.record_by(
                    actor,
                    "decisions.letter_written",
                    "application",
                    row["id"],
                    kind=content.kind,
                    version=version,
                    sha256=file.sha256,
                )
                for member in members.get(row["organisation"], []):
                    await enqueue_email(
                        to=member["email"],
                        template="decision_letter",
                        language=member["language"],
                        context={
                            "reference": row["reference"],
                            "call": row["call_title"],
                            "title": row["title"],
                            "award": content.kind == "award",
                            "version": version,
                            "url": f"{base_url}/dossiers/{row['id']}",
                        },
                    )
                written += 1
            if job_id is not None:
                await LetterJob.update(
                    {LetterJob.done: LetterJob.done + written, LetterJob.heartbeat_at: now()}
                ).where(LetterJob.id == job_id)
    except BaseException:
        for _row, _content, file in stored:
            storage.delete(file.storage_id)
        raise
    for _row, _content, file in stored:
        if file.storage_id not in keep:
            storage.delete(file.storage_id)
    return written


def _claimable(at: datetime, stale_after: timedelta = STALE_AFTER):
    """Pending, or running with a silent worker, or failed a while ago (tried again)."""
    return (
        (LetterJob.status == "pending")
        | ((LetterJob.status == "running") & (LetterJob.heartbeat_at < at - stale_after))
        | ((LetterJob.status == "failed") & (LetterJob.heartbeat_at < at - RETRY_AFTER))
    )


async def _claim(job_id: int | None = None, stale_after: timedelta = STALE_AFTER) -> dict | None:
    """Take a claimable job; the claim is a random worker id that every later write of
    this worker checks, so a worker that lost its claim stops writing."""
    at = now()
    query = LetterJob.select(LetterJob.id).where(_claimable(at, stale_after))
    if job_id is not None:
        query = query.where(LetterJob.id == job_id)
    for candidate in await query.order_by(LetterJob.id):
        worker = uuid.uuid4().hex
        async with write_transaction():
            claimed = (
                await LetterJob.update(
                    {
                        LetterJob.status: "running",
                        LetterJob.heartbeat_at: at,
                        LetterJob.worker: worker,
                    }
                )
                .where((LetterJob.id == candidate["id"]) & _claimable(at, stale_after))
                .returning(LetterJob.id, LetterJob.call, LetterJob.created_by, LetterJob.worker)
            )
        if claimed:
            return claimed[0]
    return None


class LostClaim(Exception):
    """Another worker took this batch over (this one was too slow to beat)."""


async def _beat(job: dict) -> None:
    async with write_transaction():
        alive = (
            await LetterJob.update({LetterJob.heartbeat_at: now()})
            .where((LetterJob.id == job["id"]) & (LetterJob.worker == job["worker"]))
            .returning(LetterJob.id)
        )
    if not alive:
        raise LostClaim()


async def _missing(job_id: int) -> list[int]:
    written = Letter.select(Letter.application).where(Letter.job == job_id)
    rows = (
        await Decision.select(Decision.application)
        .where((Decision.letter_job == job_id) & Decision.application.not_in(written))
        .order_by(Decision.application)
    )
    return [r["application"] for r in rows]


async def run_job(
    job: dict, *, storage: FileStorage, base_url: str, data_dir: Path, processes: int = PROCESSES
) -> None:
    """Write every missing letter of a claimed batch, chunk by chunk, ``processes``
    chunks rendering at a time."""
    settings = await services.settings_for(job["call"])
    actor = Actor(user_id=job["created_by"], label="letters")
    today = now()
    missing = await _missing(job["id"])
    limiter = anyio.CapacityLimiter(processes)
    chunks = [missing[i : i + CHUNK] for i in range(0, len(missing), CHUNK)]
    lock = anyio.Lock()

    async def one(chunk: list[int]) -> None:
        await _beat(job)
        rows = await _letter_rows(chunk)
        contents = [
            compose(r, r["decision"], settings, base_url=base_url, data_dir=data_dir, today=today)
            for r in rows
        ]
        if processes > 1:
            pdfs = await anyio.to_process.run_sync(render_many, contents, limiter=limiter)
        else:
            pdfs = await anyio.to_thread.run_sync(render_many, contents)
        async with lock:
            await _store(
                job["id"],
                list(zip(rows, contents, pdfs, strict=True)),
                storage=storage,
                base_url=base_url,
                actor=actor,
                worker=job["worker"],
            )

    async def worker() -> None:
        while chunks:
            await one(chunks.pop(0))

    async with anyio.create_task_group() as group:
        for _ in range(max(1, processes)):
            group.start_soon(worker)
    async with write_transaction():
        await LetterJob.update(
            {LetterJob.status: "done", LetterJob.finished_at: now(), LetterJob.heartbeat_at: now()}
        ).where((LetterJob.id == job["id"]) & (LetterJob.worker == job["worker"]))


async def run_pending(
    *,
    storage: FileStorage,
    base_url: str,
    data_dir: Path,
    processes: int = PROCESSES,
    stale_after: timedelta = STALE_AFTER,
) -> int:
    """Run every claimable batch; the number of batches run."""
    count = 0
    while (job := await _claim(stale_after=stale_after)) is not None:
        try:
            await run_job(
                job, storage=storage, base_url=base_url, data_dir=data_dir, processes=processes
            )
        except LostClaim:
            log.warning("letter batch taken over by another worker", extra={"job": job["id"]})
        except Exception as exc:
            log.exception("letter batch failed", extra={"job": job["id"]})
            async with write_transaction():
                await LetterJob.update(
                    {
                        LetterJob.status: "failed",
                        LetterJob.error: type(exc).__name__,
                        LetterJob.heartbeat_at: now(),
                    }
                ).where((LetterJob.id == job["id"]) & (LetterJob.worker == job["worker"]))
        count += 1
    return count


async def regenerate(
    app_id: int, *, storage: FileStorage, base_url: str, data_dir: Path, actor: Actor
) -> None:
    """Write the letter of one published decision again (after a correction): a new
    version; the earlier ones are kept."""
    decision = await services.decision_of(app_id)
    if (
        decision is None
        or decision["published_at"] is None
        or decision["outcome"] not in services.LETTER_KIND
    ):
        raise services.DecisionError("no_letter")
    settings = await services.settings_for(decision["call"])
    rows = await _letter_rows([app_id])
    content = compose(
        rows[0], rows[0]["decision"], settings, base_url=base_url, data_dir=data_dir, today=now()
    )
    data = await anyio.to_thread.run_sync(render_letter, content)
    await _store(None, [(rows[0], content, data)], storage=storage, base_url=base_url, actor=actor)


async def job_of(call_id: int) -> dict | None:
    """The call's latest letter batch, with its progress."""
    return (
        await LetterJob.select()
        .where(LetterJob.call == call_id)
        .order_by(LetterJob.id, ascending=False)
        .first()
    )


async def letters_of(app_id: int) -> list[dict]:
    return (
        await Letter.select()
        .where(Letter.application == app_id)
        .order_by(Letter.version, ascending=False)
    )


def letters_lifespan(settings, *, every_s: float = 2.0):
    """For ``Litestar(lifespan=[...])``: run letter batches in the background (off in
    tests, which run them explicitly). ``wake()`` on the returned function starts a
    batch at once after a publication."""
    wake = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_app=None):
        if settings.env == "test":
            yield
            return
        stop = asyncio.Event()
        storage = FileStorage.from_settings(settings)

        async def loop() -> None:
            rounds = Rounds(log, "letter batches")
            while not stop.is_set():
                try:
                    await run_pending(
                        storage=storage,
                        base_url=settings.base_url,
                        data_dir=settings.data_dir,
                        stale_after=timedelta(seconds=settings.letter_stale_after_s),
                    )
                    rounds.succeeded()
                except Exception as exc:
                    rounds.failed(exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=every_s)
                wake.clear()

        task = asyncio.create_task(loop(), name="guichet-letters")
        try:
            yield
        finally:
            stop.set()
            wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, timeout=30)

    lifespan.wake = wake.set  # type: ignore[attr-defined]
    return lifespan
