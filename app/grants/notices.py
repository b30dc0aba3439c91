"""The notice of a reduced grant and of what must be paid back (avis de réduction et de
reversement): why (the final report's actual spending against the forecast), the new
amount, what to repay, by when and how, and the appeal routes. The PDF is stored as
sent (``GrantNotice``, with its SHA-256), audited, and e-mailed to the organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import anyio

from app.core import audit, i18n
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.i18n import gettext as _
from app.core.money import amount_in_words, format_amount
from app.core.pdf import LetterBuilder, Letterhead
from app.core.storage import FileStorage
from app.core.time import PARIS, long_date
from app.funders import services as funder_services
from app.funders.models import FunderLegal, funder_context
from app.grants import reports
from app.grants.ledger import balance, recovered_on
from app.grants.tables import Grant, GrantNotice, Recovery
from app.organisations.addressing import salutation
from app.organisations.services import email_members

FILE_STEMS = {"reduction": "reduction", "recovery": "reversement"}
# The time given to pay back, from the notice (the recovery order follows it).
REPAY_WITHIN = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What a reduction notice says, gathered from the grant, its final report, its
    ledger and its funder."""

    grant_id: int
    organisation_id: int
    reference: str
    title: str
    call_title: str
    funder: FunderLegal
    funder_logo: str | None
    org_name: str
    rep_name: str
    rep_title: str
    org_street: str
    org_postcode: str
    org_city: str
    amount_cents: int
    reduction_cents: int
    planned_cents: int
    actual_cents: int
    paid_cents: int
    recovery_cents: int  # left to pay back on the latest open recovery
    repay_by: date | None
    kind: str = "reduction"  # reduction (the final report) | recovery (opened by hand)
    reason: str = ""  # the recovery's reason
    received_cents: int = 0  # already paid back on it


async def notice_facts(grant_id: int, today: date, kind: str = "reduction") -> NoticeFacts | None:
    row = (
        await Grant.select(
            Grant.id,
            Grant.organisation,
            Grant.amount_cents,
            Grant.reduction_cents,
            Grant.application.reference.as_alias("reference"),
            Grant.application.title.as_alias("title"),
            Grant.application.budget.as_alias("budget"),
            Grant.application.requested_cents.as_alias("requested_cents"),
            Grant.call.title.as_alias("call_title"),
            Grant.call.funder.as_alias("funder_id"),
            Grant.call.funder.logo_file.as_alias("funder_logo"),
            Grant.organisation.name.as_alias("org_name"),
            Grant.organisation.legal_rep_name.as_alias("rep_name"),
            Grant.organisation.legal_rep_title.as_alias("rep_title"),
            Grant.organisation.street.as_alias("org_street"),
            Grant.organisation.postcode.as_alias("org_postcode"),
            Grant.organisation.city.as_alias("org_city"),
        )
        .where(Grant.id == grant_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        return None
    funder = await funder_services.legal_of(row["funder_id"])
    final = await reports.find(grant_id, "final")
    owed = (
        await Recovery.select(Recovery.id, Recovery.amount_cents, Recovery.reason)
        .where((Recovery.grant == grant_id) & (Recovery.status == "open"))
        .order_by(Recovery.id, ascending=False)
        .first()
    )
    money = await balance(grant_id)
    received = await recovered_on(owed["id"]) if owed else 0
    recovery = owed["amount_cents"] - received if owed else 0
    return NoticeFacts(
        grant_id=grant_id,
        organisation_id=row["organisation"],
        reference=row["reference"] or "",
        title=row["title"],
        call_title=row["call_title"],
        funder=funder or FunderLegal(id=0, name=""),
        funder_logo=row["funder_logo"],
        org_name=row["org_name"],
        rep_name=row["rep_name"],
        rep_title=row["rep_title"],
        org_street=row["org_street"],
        org_postcode=row["org_postcode"],
        org_city=row["org_city"],
        amount_cents=row["amount_cents"],
        reduction_cents=row["reduction_cents"],
        planned_cents=reports.planned_eligible(row["budget"] or {}, row["requested_cents"] or 0),
        actual_cents=reports.actual_eligible(final.actuals) if final else 0,
        paid_cents=money.net_paid_cents,
        recovery_cents=recovery,
        repay_by=today + REPAY_WITHIN if recovery else None,
        kind=kind,
        reason=owed["reason"] if owed and kind == "recovery" else "",
        received_cents=received,
    )


def render_notice(facts: NoticeFacts, *, today: date, files: FileStorage) -> bytes:
    """The notice as PDF bytes, in French (``files``: where the logo and signature are)."""
    funder = facts.funder
    with i18n.use_locale("fr"):
        due = facts.amount_cents - facts.reduction_cents
        recovery = facts.kind == "recovery"
        heading = _("Notice of recovery") if recovery else _("Notice of reduction of a grant")
        subject = _("paying back part of the grant") if recovery else _("reduction of the grant")
        letter = LetterBuilder(
            letterhead=Letterhead(
                name=funder.name,
                address_lines=tuple(funder.address.splitlines()),
                logo_path=files.path_of(facts.funder_logo) if facts.funder_logo else None,
            ),
            title=f"{heading} — {facts.reference}",
            subject=subject,
            footer_text=f"{funder.name} — {facts.reference}",
            page_label=_("Page {page} / {pages}"),
            lang="fr",
        )
        letter.addressee(
            [
                facts.org_name,
                _("For the attention of %(name)s, %(title)s")
                % {"name": facts.rep_name, "title": facts.rep_title},
                facts.org_street,
                f"{facts.org_postcode} {facts.org_city}",
            ]
        )
        when = long_date(today, "fr")
        letter.place_and_date(
            _("{place}, {date}").format(place=funder.town, date=when) if funder.town else when
        )
        references = [(_("File number:"), facts.reference)]
        if funder.contact_lines:
            references.append((_("Followed by:"), ", ".join(funder.contact_lines)))
        letter.references(references)
        letter.subject_line(_("Subject:"), subject)
        letter.document_title(heading)
        greeting = salutation(facts.rep_title)
        if recovery:
            _recovery_body(letter, facts, greeting)
        else:
            _reduction_body(letter, facts, greeting, due)
        if facts.recovery_cents and facts.repay_by:
            _paying_back(letter, facts)
        else:
            letter.paragraph(
                _(
                    "Nothing is to be paid back: the instalments not yet paid are reduced "
                    "accordingly."
                )
            )
        _closing(letter, facts, greeting, files)
        return letter.build()


def _reduction_body(letter: LetterBuilder, facts: NoticeFacts, greeting: str, due: int) -> None:
    fr = "fr_FR"
    letter.paragraphs(
        [
            f"{greeting},",
            _(
                "The final report of the project « %(project)s » (call « %(call)s ») shows "
                "eligible spending of %(actual)s against %(planned)s in the forecast budget. "
                "As the conditions of the grant provide, the grant is reduced in proportion."
            )
            % {
                "project": facts.title,
                "call": facts.call_title,
                "actual": format_amount(facts.actual_cents, fr),
                "planned": format_amount(facts.planned_cents, fr),
            },
        ]
    )
    letter.key_values(
        [
            (_("Amount awarded"), format_amount(facts.amount_cents, fr)),
            (_("Forecast eligible spending"), format_amount(facts.planned_cents, fr)),
            (_("Actual eligible spending"), format_amount(facts.actual_cents, fr)),
            (_("Reduction"), format_amount(facts.reduction_cents, fr)),
            (_("Amount now due"), format_amount(due, fr)),
            (_("Already paid"), format_amount(facts.paid_cents, fr)),
            (_("To pay back"), format_amount(facts.recovery_cents, fr)),
        ]
    )


def _recovery_body(letter: LetterBuilder, facts: NoticeFacts, greeting: str) -> None:
    fr = "fr_FR"
    letter.paragraphs(
        [
            f"{greeting},",
            _(
                "For the project « %(project)s » (call « %(call)s »), the funder asks you to "
                "pay back part of the grant, for this reason: %(reason)s"
            )
            % {"project": facts.title, "call": facts.call_title, "reason": facts.reason},
        ]
    )
    rows = [
        (_("Amount awarded"), format_amount(facts.amount_cents, fr)),
        (_("Amount now due"), format_amount(facts.amount_cents - facts.reduction_cents, fr)),
        (_("Already paid"), format_amount(facts.paid_cents, fr)),
    ]
    if facts.received_cents:
        rows.append((_("Already paid back"), format_amount(facts.received_cents, fr)))
    rows.append((_("To pay back"), format_amount(facts.recovery_cents, fr)))
    letter.key_values(rows)


def _paying_back(letter: LetterBuilder, facts: NoticeFacts) -> None:
    fr = "fr_FR"
    letter.heading(_("Paying back"))
    letter.paragraphs(
        [
            _(
                "You are asked to pay back %(amount)s (%(words)s) by %(date)s at the "
                "latest. A recovery order (titre de recette) will be sent to you: pay "
                "by bank transfer to the public accountant named on it, quoting its "
                "number and file %(reference)s."
            )
            % {
                "amount": format_amount(facts.recovery_cents, fr),
                "words": amount_in_words(facts.recovery_cents, "fr"),
                "date": long_date(facts.repay_by, "fr"),
                "reference": facts.reference,
            }
        ]
    )


def _closing(letter: LetterBuilder, facts: NoticeFacts, greeting: str, files: FileStorage) -> None:
    funder = facts.funder
    letter.heading(_("Appeal routes and time limits"))
    letter.paragraph(funder.appeal_routes)
    letter.spacer(3)
    letter.paragraph(
        _("Please accept, %(greeting)s, the expression of my best regards.")
        % {"greeting": greeting}
    )
    letter.signature(
        list(funder.signature_lines()),
        files.path_of(funder.signature_file)
        if funder.signatory_name and funder.signature_file
        else None,
    )


async def issue_reduction_notice(
    grant_id: int,
    *,
    storage: FileStorage,
    base_url: str,
    actor: Actor,
    today: datetime,
) -> int | None:
    """After a reduction: its notice (``issue_notice``)."""
    return await issue_notice(
        grant_id, kind="reduction", storage=storage, base_url=base_url, actor=actor, today=today
    )


async def issue_recovery_notice(
    grant_id: int,
    *,
    storage: FileStorage,
    base_url: str,
    actor: Actor,
    today: datetime,
) -> int | None:
    """After a recovery is opened by hand, or part of it paid back: the notice of what is
    left to pay back (``issue_notice``); each one is a new notice, the earlier kept."""
    return await issue_notice(
        grant_id, kind="recovery", storage=storage, base_url=base_url, actor=actor, today=today
    )


async def issue_notice(
    grant_id: int,
    *,
    kind: str,
    storage: FileStorage,
    base_url: str,
    actor: Actor,
    today: datetime,
) -> int | None:
    """A notice (``kind``: reduction or recovery) rendered (off the loop), stored,
    recorded with its fingerprint, audited and e-mailed to the organisation's members,
    in one transaction. Returns the notice's id (None: no such grant)."""
    day = today.astimezone(PARIS).date()
    facts = await notice_facts(grant_id, day, kind)
    if facts is None:
        return None
    data = await anyio.to_thread.run_sync(lambda: render_notice(facts, today=day, files=storage))
    stored = await anyio.to_thread.run_sync(
        lambda: storage.store_bytes(
            data, filename=f"avis-{FILE_STEMS[kind]}-{facts.reference}.pdf", kinds={"pdf"}
        )
    )
    try:
        async with write_transaction():
            notice_id = (
                await GrantNotice.insert(
                    GrantNotice(
                        grant=grant_id,
                        kind=kind,
                        reduction_cents=facts.reduction_cents,
                        recovery_cents=facts.recovery_cents,
                        repay_by=facts.repay_by,
                        storage_id=stored.storage_id,
                        filename=stored.filename,
                        sha256=stored.sha256,
                        created_by=actor.user_id,
                    )
                ).returning(GrantNotice.id)
            )[0]["id"]
            await audit.record_by(
                actor,
                f"grants.{kind}_notice",
                "grant",
                grant_id,
                notice=notice_id,
                sha256=stored.sha256,
                reduction_cents=facts.reduction_cents,
                recovery_cents=facts.recovery_cents,
            )
            await email_members(
                facts.organisation_id,
                "grant_reduced" if kind == "reduction" else "grant_recovery",
                {
                    "reference": facts.reference,
                    "title": facts.title,
                    "reduction": format_amount(facts.reduction_cents, "fr_FR"),
                    "recovery": format_amount(facts.recovery_cents, "fr_FR")
                    if facts.recovery_cents
                    else "",
                    "repay_by": long_date(facts.repay_by, "fr") if facts.repay_by else "",
                    "reason": facts.reason,
                    "received": format_amount(facts.received_cents, "fr_FR")
                    if facts.received_cents
                    else "",
                    "url": f"{base_url}/suivi/subventions/{grant_id}/avis/{notice_id}",
                    **funder_context(facts.funder),
                },
            )
    except BaseException:
        storage.delete(stored.storage_id)
        raise
    return notice_id


async def notices_of(grant_id: int) -> list[dict]:
    return (
        await GrantNotice.select(
            GrantNotice.id,
            GrantNotice.kind,
            GrantNotice.recovery_cents,
            GrantNotice.filename,
            GrantNotice.created_at,
        )
        .where(GrantNotice.grant == grant_id)
        .order_by(GrantNotice.id)
    )


async def notice(grant_id: int, notice_id: int) -> dict | None:
    """One notice of this grant (the grant's access is checked by the caller)."""
    return (
        await GrantNotice.select()
        .where((GrantNotice.id == notice_id) & (GrantNotice.grant == grant_id))
        .first()
    )
