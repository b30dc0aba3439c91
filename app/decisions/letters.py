"""Award and rejection letters: the wording template of a call and its placeholders,
what a letter says (``compose``: every word chosen and translated, from the file's
facts gathered by ``letter_facts``), and the PDF itself (on ``core.pdf``'s letter base).

``render_letter`` is a pure function of a ``LetterContent``: the letter batch
(``jobs``) runs it in worker processes, in parallel.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from reportlab.lib.units import mm

from app.applications.tables import Application
from app.calls.tables import Call
from app.core import i18n
from app.core.domain import DomainError
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import amount_in_words, format_amount
from app.core.pdf import TEXT_WIDTH, LetterBuilder, Letterhead
from app.core.storage import FileStorage
from app.core.time import PARIS, long_date
from app.decisions.models import CommitteeDecision, decisions_on
from app.decisions.tables import Decision
from app.funders import services as funder_services
from app.funders.models import FunderLegal
from app.grants import agreement_rule
from app.grants import schedule as schedules
from app.grants.tables import Grant, Instalment
from app.organisations.addressing import salutation
from app.reviews.services import applicant_comments

if TYPE_CHECKING:
    from app.decisions.settings import CommitteeSettings

# The placeholders a letter template may use, with what each becomes.
PLACEHOLDERS = {
    "organisation": N_("the organisation's name"),
    "representant": N_("its legal representative"),
    "projet": N_("the project's title"),
    "reference": N_("the file number"),
    "appel": N_("the call's title"),
    "financeur": N_("the funder"),
    "montant": N_("the amount awarded, in figures"),
    "montant_en_lettres": N_("the amount awarded, in words"),
    "date_deliberation": N_("the date of the deliberation"),
    "reference_deliberation": N_("the deliberation's reference"),
    "motif": N_("the reason for a rejection"),
    "formule_appel": N_("the salutation: « Madame la Présidente », or « Madame, Monsieur »"),
    "instance": N_("the deliberating body (the funder's settings)"),
}

# Letters are official documents written in French; the wording is the call's to edit.
DEFAULT_AWARD = """{formule_appel},

Par délibération {reference_deliberation} du {date_deliberation}, {instance} a décidé d’attribuer à votre structure, {organisation}, une subvention de {montant} ({montant_en_lettres}) pour la réalisation du projet « {projet} », présenté dans le cadre de l’appel à projets « {appel} ».

Vous trouverez ci-dessous l’échéancier de versement de cette subvention et les conditions qui s’y attachent. Pour en bénéficier, acceptez-la en ligne comme indiqué à la fin de ce courrier.

Je vous prie d’agréer, {formule_appel}, l’expression de mes salutations distinguées."""

DEFAULT_REJECTION = """{formule_appel},

Vous avez présenté le projet « {projet} » dans le cadre de l’appel à projets « {appel} ». Par délibération {reference_deliberation} du {date_deliberation}, {instance} n’a pas retenu votre demande, pour le motif indiqué ci-dessous.

Cette décision ne préjuge pas de la qualité de votre action. Nous vous encourageons à présenter de nouveaux projets lors des prochains appels.

Je vous prie d’agréer, {formule_appel}, l’expression de mes salutations distinguées."""


class TemplateProblem(DomainError):
    """``code``: unknown | malformed; ``names``: the unknown placeholders."""

    def __init__(
        self, code: str, message: str, field: str | None = None, names: tuple[str, ...] = ()
    ):
        super().__init__(code, message, field, detail=", ".join(names))
        self.names = names


def check_template(text: str, *, field: str | None = None) -> None:
    """Refuse a template with a placeholder we do not know, or with a stray brace
    (``field``: the form field the text was typed in).

    Only bare names are allowed: ``{organisation.__class__}`` or ``{montant:>99}`` are
    unknown placeholders, so a template can never reach into an object."""
    try:
        fields = [
            (name, spec, conv)
            for _literal, name, spec, conv in string.Formatter().parse(text)
            if name is not None
        ]
    except ValueError:
        raise TemplateProblem(
            "malformed",
            N_(
                "A brace is not closed or not opened: write placeholders as {organisation}, and "
                "a brace on its own as {{ or }}."
            ),
            field,
        ) from None
    unknown = tuple(
        dict.fromkeys(
            f"{{{name}}}" for name, spec, conv in fields if name not in PLACEHOLDERS or spec or conv
        )
    )
    if unknown:
        raise TemplateProblem(
            "unknown",
            N_(
                "Unknown placeholder: %(detail)s. Use only the placeholders listed beside the text."
            ),
            field,
            unknown,
        )


def fill(text: str, values: dict[str, str]) -> str:
    """The template with its placeholders replaced (``check_template`` passed)."""
    return text.format_map({name: values.get(name, "") for name in PLACEHOLDERS})


@dataclass(frozen=True, slots=True)
class LetterContent:
    """Everything a letter says, decided and translated before rendering."""

    letterhead: Letterhead
    title: str  # « Notification de subvention »
    kind: str  # award | rejection
    reference: str
    footer: str
    page_label: str
    addressee: tuple[str, ...]
    place_and_date: str
    references: tuple[tuple[str, str], ...]
    subject_label: str
    subject: str
    body: tuple[str, ...]  # the template's paragraphs, filled
    facts: tuple[tuple[str, str], ...] = ()  # amount in figures and words, purpose...
    schedule_heading: str = ""
    schedule_header: tuple[str, ...] = ()
    schedule_rows: tuple[tuple[str, ...], ...] = ()
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (heading, paragraphs)
    signature: tuple[str, ...] = ()
    signature_image: Path | None = None  # drawn above the signatory's name


def render_letter(content: LetterContent) -> bytes:
    """The letter as PDF bytes (pure: safe to run in another process)."""
    letter = LetterBuilder(
        letterhead=content.letterhead,
        title=f"{content.title} — {content.reference}",
        subject=content.subject,
        footer_text=content.footer,
        page_label=content.page_label,
        lang="fr",
    )
    letter.addressee(list(content.addressee))
    if content.place_and_date:
        letter.place_and_date(content.place_and_date)
    letter.references(list(content.references))
    letter.subject_line(content.subject_label, content.subject)
    letter.document_title(content.title)
    # The template's last paragraph is its closing formula: it goes above the signature.
    letter.paragraphs(content.body[:-1])
    if content.facts:
        letter.key_values(list(content.facts))
    if content.schedule_rows:
        letter.heading(content.schedule_heading)
        widths = [15, 45, TEXT_WIDTH / mm - 60]
        letter.table(
            [list(r) for r in content.schedule_rows],
            header=list(content.schedule_header),
            col_widths=widths,
        )
    for heading, paragraphs in content.sections:
        letter.heading(heading)
        letter.paragraphs(list(paragraphs))
    if content.body:
        letter.spacer(3)
        letter.paragraph(content.body[-1])
    letter.signature(list(content.signature), content.signature_image)
    return letter.build()


def render_many(contents: list[LetterContent]) -> list[bytes]:
    """Several letters in one call (one round trip to a worker process)."""
    return [render_letter(c) for c in contents]


def paragraphs_of(text: str) -> tuple[str, ...]:
    """Paragraphs are separated by a blank line; single line breaks join with a space."""
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))
    joined = (
        " ".join(line.strip() for line in block.splitlines() if line.strip()) for block in blocks
    )
    return tuple(b for b in joined if b)


# --- What a letter says ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LetterInstalment:
    position: int
    amount_cents: int
    trigger: str
    due_on: date | None


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """What the letter of one file is about: the file, its organisation and its
    representative, the funder, the decision, the instalments of an award and the
    reviewers' comments meant for the applicant."""

    id: int
    reference: str
    title: str
    organisation_id: int
    call_title: str
    funder_name: str
    funder_address: str
    funder_logo: str | None
    org_name: str
    rep_name: str
    rep_title: str
    org_street: str
    org_postcode: str
    org_city: str
    funder: FunderLegal | None = None
    officer_name: str = ""  # who follows the file: the officer who prepared the call
    officer_email: str = ""
    decision: CommitteeDecision | None = None
    instalments: tuple[LetterInstalment, ...] = ()
    comments: tuple[str, ...] = ()
    agreement_threshold_cents: int = agreement_rule.LEGAL_THRESHOLD_CENTS


async def letter_facts(app_ids: Sequence[int]) -> list[LetterFacts]:
    """Everything the letters of these files need, in a fixed number of queries."""
    ids = list(app_ids) or [0]
    rows = await Application.select(
        Application.id,
        Application.reference,
        Application.title,
        Application.organisation.as_alias("organisation_id"),
        Application.call.title.as_alias("call_title"),
        Application.call.funder.as_alias("funder_id"),
        Application.call.created_by.full_name.as_alias("officer_name"),
        Application.call.created_by.email.as_alias("officer_email"),
        Application.call.funder.name.as_alias("funder_name"),
        Application.call.funder.address.as_alias("funder_address"),
        Application.call.funder.logo_file.as_alias("funder_logo"),
        Application.organisation.name.as_alias("org_name"),
        Application.organisation.legal_rep_name.as_alias("rep_name"),
        Application.organisation.legal_rep_title.as_alias("rep_title"),
        Application.organisation.street.as_alias("org_street"),
        Application.organisation.postcode.as_alias("org_postcode"),
        Application.organisation.city.as_alias("org_city"),
    ).where(Application.id.is_in(ids))
    decisions = await decisions_on(ids)
    grants = {
        g["application"]: g["id"]
        for g in await Grant.select(Grant.id, Grant.application).where(Grant.application.is_in(ids))
    }
    parts: dict[int, list[LetterInstalment]] = {}
    for part in (
        await Instalment.select(
            Instalment.grant,
            Instalment.position,
            Instalment.amount_cents,
            Instalment.trigger,
            Instalment.due_on,
        )
        .where(Instalment.grant.is_in(list(grants.values()) or [0]))
        .order_by(Instalment.position)
    ):
        grant = part.pop("grant")
        parts.setdefault(grant, []).append(LetterInstalment(**part))
    comments = await applicant_comments(ids)
    funders = await funder_services.legal_by_id(list({row["funder_id"] for row in rows}))
    threshold = await agreement_rule.threshold_cents()
    return [
        LetterFacts(
            **{
                **{k: v for k, v in row.items() if k != "funder_id"},
                "reference": row["reference"] or "",
                "funder_address": row["funder_address"] or "",
                "officer_name": row["officer_name"] or "",
                "officer_email": row["officer_email"] or "",
            },
            funder=funders.get(row["funder_id"]),
            decision=decisions.get(row["id"]),
            instalments=tuple(parts.get(grants[row["id"]], ())) if row["id"] in grants else (),
            comments=tuple(comments.get(row["id"], ())),
            agreement_threshold_cents=threshold,
        )
        for row in rows
    ]


def placeholder_values(facts: LetterFacts, decision: CommitteeDecision) -> dict[str, str]:
    """What each placeholder of the wording becomes, in French."""
    when = decision.deliberation_date
    amount = decision.amount_cents or 0
    funder = facts.funder or FunderLegal(id=0, name=facts.funder_name)
    return {
        "organisation": facts.org_name,
        "representant": " ".join(p for p in (facts.rep_title, facts.rep_name) if p),
        "projet": facts.title,
        "reference": facts.reference,
        "appel": facts.call_title,
        "financeur": facts.funder_name,
        "montant": format_amount(amount, locale="fr_FR"),
        "montant_en_lettres": amount_in_words(amount, "fr"),
        "date_deliberation": long_date(when, "fr") if when else "",
        "reference_deliberation": decision.deliberation_reference or "",
        "motif": decision.reason or "",
        "formule_appel": salutation(facts.rep_title),
        "instance": funder.deliberating_body,
    }


def site_address(base_url: str) -> str:
    """The public address as people type it: no scheme, no trailing slash."""
    return re.sub(r"^https?://", "", base_url.strip()).rstrip("/")


def compose(
    facts: LetterFacts,
    settings: CommitteeSettings,
    *,
    base_url: str,
    data_dir: Path,
    today: datetime,
) -> LetterContent:
    """The award or rejection letter of one file (its ``facts.decision``), in French
    (the letters' language). A rejection states the appeal routes and time limits; an
    award names who signs « par délégation », who follows the file, and why a written
    agreement is needed when it is."""
    decision = facts.decision
    if decision is None:
        raise ValueError("a letter needs its decision")
    award = decision.is_award
    values = placeholder_values(facts, decision)
    template = settings.template("award" if award else "rejection")
    funder = facts.funder or FunderLegal(id=0, name=facts.funder_name, address=facts.funder_address)
    funder_lines = tuple(facts.funder_address.splitlines())
    files = FileStorage(data_dir / "files")
    logo = files.path_of(facts.funder_logo) if facts.funder_logo else None
    with i18n.use_locale("fr"):
        deliberation = values["reference_deliberation"]
        if values["date_deliberation"]:
            deliberation = _("%(reference)s of %(date)s") % {
                "reference": deliberation,
                "date": values["date_deliberation"],
            }
        sections: list[tuple[str, tuple[str, ...]]] = []
        facts_shown: tuple[tuple[str, str], ...] = ()
        rows: tuple[tuple[str, ...], ...] = ()
        if award:
            facts_shown = (
                (_("Beneficiary"), facts.org_name),
                (_("Purpose of the grant"), facts.title),
                (_("Amount awarded"), values["montant"]),
                (_("Amount in words"), values["montant_en_lettres"]),
            )
            rows = tuple(_schedule_row(part) for part in facts.instalments)
            sections.append((_("Conditions"), _conditions(settings, decision, facts)))
            sections.append(
                (
                    _("How to accept the grant"),
                    (
                        _(
                            "Sign in to Guichet at %(site)s, open file %(reference)s from "
                            "« My files » and choose « Accept the grant ». Give the name and "
                            "capacity of the person who signs for the organisation and confirm "
                            "the conditions. The first instalment can only be paid after this "
                            "acceptance."
                        )
                        % {"site": site_address(base_url), "reference": values["reference"]},
                    ),
                )
            )
        else:
            sections.append((_("Reason"), (values["motif"],)))
            if settings.share_reviews and facts.comments:
                sections.append((_("The reviewers' comments"), facts.comments))
            sections.append((_("Appeal routes and time limits"), (funder.appeal_routes,)))
        place = settings.place or funder.town
        when = long_date(today.astimezone(PARIS).date(), "fr")
        references = [
            (_("File number:"), values["reference"]),
            (_("Deliberation:"), deliberation),
        ]
        followed = followed_by(facts, funder)
        if followed:
            references.append((_("Followed by:"), followed))
        return LetterContent(
            letterhead=Letterhead(
                name=facts.funder_name, address_lines=funder_lines, logo_path=logo
            ),
            title=_("Notification of grant") if award else _("Answer to your grant application"),
            kind="award" if award else "rejection",
            reference=values["reference"],
            footer=f"{facts.funder_name} — {values['reference']}",
            page_label=_("Page {page} / {pages}"),
            addressee=(
                facts.org_name,
                _("For the attention of %(name)s, %(title)s")
                % {"name": facts.rep_name, "title": facts.rep_title},
                facts.org_street,
                f"{facts.org_postcode} {facts.org_city}",
            ),
            place_and_date=_("{place}, {date}").format(place=place, date=when) if place else when,
            references=tuple(references),
            subject_label=_("Subject:"),
            subject=_("award of a grant") if award else _("your grant application"),
            body=paragraphs_of(fill(template, values)),
            facts=facts_shown,
            schedule_heading=_("Payment schedule"),
            schedule_header=(_("No."), _("Amount"), _("Payable")),
            schedule_rows=rows,
            sections=tuple(sections),
            signature=signature_lines(settings, funder),
            signature_image=files.path_of(funder.signature_file)
            if funder.signature_file and not settings.signatory_name
            else None,
        )


def followed_by(facts: LetterFacts, funder: FunderLegal) -> str:
    """« Affaire suivie par »: the officer's name and e-mail, the service's telephone
    (the service's e-mail when no officer is known). Inside ``use_locale("fr")``."""
    parts = [facts.officer_name, facts.officer_email or funder.service_email]
    if funder.service_phone:
        parts.append(_("tel. %(phone)s") % {"phone": funder.service_phone})
    return ", ".join(p for p in parts if p)


def signature_lines(settings: CommitteeSettings, funder: FunderLegal) -> tuple[str, ...]:
    """Who signs, « par délégation »: the call's signatory when its committee names one,
    else the funder's (``FunderLegal.signature_lines``)."""
    if not settings.signatory_name:
        return funder.signature_lines()
    delegation = _("For %(funder)s and by delegation,") % {"funder": funder.name}
    return tuple(
        line for line in (delegation, settings.signatory_title, settings.signatory_name) if line
    )


def _schedule_row(part: LetterInstalment) -> tuple[str, ...]:
    """An instalment as the award letter lists it (inside ``use_locale("fr")``)."""
    if part.trigger == "date" and part.due_on:
        payable = _("on %(date)s") % {"date": long_date(part.due_on, "fr")}
    else:
        trigger = schedules.TRIGGERS.get(part.trigger)
        payable = _(trigger) if trigger else part.trigger
    return (str(part.position), format_amount(part.amount_cents, locale="fr_FR"), payable)


def _conditions(
    settings: CommitteeSettings, decision: CommitteeDecision, facts: LetterFacts
) -> tuple[str, ...]:
    """The conditions of an award: the call's own, else the standard ones; the written
    agreement with the rule that asks for it (``grants.agreement_rule``, with the threshold in force)."""
    conditions = list(paragraphs_of(settings.conditions)) or [
        _(
            "An interim report is due halfway through the project and a final report, "
            "with the financial report (compte rendu financier, CERFA n° 15059), within "
            "six months after the end of the financial year of the grant."
        ),
        _(
            "Every communication about the project mentions the funder's support and shows its logo."
        ),
        _(
            "Any part of the grant that is not used for the project, or not "
            "justified, will be claimed back."
        ),
    ]
    reason = agreement_rule.agreement_reason(
        decision.amount_cents or 0,
        call_asks=settings.agreement_required,
        threshold_cents=facts.agreement_threshold_cents,
    )
    if reason == "law":
        conditions.append(
            _(
                "As this grant exceeds %(threshold)s, a written agreement (convention) between "
                "%(funder)s and %(organisation)s defines its object, amount and conditions of "
                "use (article 10 of loi n° 2000-321 of 12 April 2000 and décret n° 2001-495 of "
                "6 June 2001); it must be signed before the first payment."
            )
            % {
                "threshold": format_amount(facts.agreement_threshold_cents, "fr_FR"),
                "funder": facts.funder_name,
                "organisation": facts.org_name,
            }
        )
    elif reason == "call":
        conditions.append(
            _(
                "The call « %(call)s » asks every laureate for a written agreement "
                "(convention) with %(funder)s: it must be signed before the first payment."
            )
            % {"call": facts.call_title, "funder": facts.funder_name}
        )
    return tuple(conditions)


# --- A preview of the wording -----------------------------------------------------------------

_SAMPLE = LetterFacts(
    id=0,
    reference="XXX-0001",
    title="Projet",
    organisation_id=0,
    call_title="Appel à projets",
    funder_name="Financeur",
    funder_address="",
    funder_logo=None,
    org_name="Association",
    rep_name="Camille Exemple",
    rep_title="Présidente",
    org_street="1 rue de l'Exemple",
    org_postcode="75001",
    org_city="Paris",
)


async def preview(
    call_id: int,
    kind: str,
    settings: CommitteeSettings,
    *,
    base_url: str,
    data_dir: Path,
    today: datetime,
) -> bytes:
    """A PDF of the call's ``kind`` letter as ``settings`` word it (a template as typed,
    not saved), with a file of the call, or sample data under the call's letterhead."""
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
    found = await letter_facts([decided["application"]]) if decided else []
    if found:
        facts = found[0]
    else:
        call = (
            await Call.select(
                Call.title.as_alias("call_title"),
                Call.funder.as_alias("funder_id"),
                Call.funder.name.as_alias("funder_name"),
                Call.funder.address.as_alias("funder_address"),
                Call.funder.logo_file.as_alias("funder_logo"),
            )
            .where(Call.id == call_id)
            .first()
        )
        facts = _SAMPLE
        if call:
            facts = replace(
                _SAMPLE,
                call_title=call["call_title"],
                funder_name=call["funder_name"],
                funder_address=call["funder_address"] or "",
                funder_logo=call["funder_logo"],
                funder=await funder_services.legal_of(call["funder_id"]),
            )
    return await _sample_letter(
        facts, outcome, settings, base_url=base_url, data_dir=data_dir, today=today
    )


async def funder_preview(
    funder_id: int, *, base_url: str, data_dir: Path, today: datetime, kind: str = "award"
) -> bytes | None:
    """A sample award (or rejection) letter under this funder's letterhead, legal texts
    and signatory: what its settings look like on paper (None: no such funder)."""
    legal = await funder_services.legal_of(funder_id)
    row = await funder_services.get_funder(funder_id)
    if legal is None or row is None:
        return None
    facts = replace(
        _SAMPLE,
        funder_name=legal.name,
        funder_address=legal.address,
        funder_logo=row["logo_file"],
        funder=legal,
        officer_name="Dominique Exemple",
        officer_email=legal.service_email or "instruction@example.org",
    )
    from app.decisions.settings import CommitteeSettings  # it imports this module

    settings = CommitteeSettings(
        call_id=0,
        deliberation_reference="CP 0000-000",
        deliberation_date=today.astimezone(PARIS).date(),
        default_schedule=schedules.PRESETS["50-30-20"],
    )
    return await _sample_letter(
        facts,
        "award" if kind == "award" else "reject",
        settings,
        base_url=base_url,
        data_dir=data_dir,
        today=today,
    )


async def _sample_letter(
    facts: LetterFacts,
    outcome: str,
    settings: CommitteeSettings,
    *,
    base_url: str,
    data_dir: Path,
    today: datetime,
) -> bytes:
    call_id = settings.call_id
    known = facts.decision
    reason = (known and known.reason) or _("(the reason written on the decision sheet)")
    decision = CommitteeDecision(
        id=0,
        application_id=facts.id,
        call_id=call_id,
        outcome=outcome,
        amount_cents=(known and known.amount_cents) or 20_000_000,
        reason=reason,
        deliberation_reference=(known and known.deliberation_reference)
        or settings.deliberation_reference,
        deliberation_date=(known and known.deliberation_date) or settings.deliberation_date,
        schedule={},
        updated_at=None,
        published_at=None,
        letter_job_id=None,
    )
    instalments = facts.instalments
    if not instalments and outcome == "award":
        instalments = tuple(
            LetterInstalment(
                position=n, amount_cents=p.amount_cents, trigger=p.trigger, due_on=p.due_on
            )
            for n, p in enumerate(
                schedules.amounts(decision.amount_cents, dict(settings.default_schedule)), start=1
            )
        )
    facts = replace(facts, decision=decision, instalments=instalments)
    content = compose(facts, settings, base_url=base_url, data_dir=data_dir, today=today)
    return await anyio.to_thread.run_sync(render_letter, content)
