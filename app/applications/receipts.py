"""The acknowledgement of receipt (accusé de réception) of a submitted application:
its layout, on the letter base of ``core.pdf``, its words, and where it is written."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import anyio
import anyio.to_process
from reportlab.lib.units import mm

from app.calls.tables import Call
from app.core import i18n
from app.core.db import for_update, write_transaction
from app.core.i18n import BABEL_LOCALES
from app.core.i18n import gettext as _
from app.core.money import format_amount
from app.core.pdf import TEXT_WIDTH, LetterBuilder, Letterhead, paragraph
from app.core.storage import FileStorage
from app.core.time import PARIS, long_date, paris_datetime_text
from app.funders import services as funder_services
from app.funders.models import FunderLegal
from app.settings import Settings

if TYPE_CHECKING:
    from app.applications.models import ApplicationView, AttachmentView

# --- Layout ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptDocument:
    name: str
    sha256: str


@dataclass(frozen=True, slots=True)
class ReceiptTexts:
    """Every word of an acknowledgement of receipt, translated by the caller.

    ``place_and_date`` and ``page_label`` are format strings (``{place}``, ``{date}``;
    ``{page}``, ``{pages}``)."""

    title: str  # « Accusé de réception »
    place_and_date: str  # « {place}, le {date} »
    subject_label: str  # « Objet : »
    subject: str  # « dépôt de votre dossier de candidature »
    reference_label: str  # « Référence du dossier : »
    salutation: str  # « Madame, Monsieur, »
    intro: str
    call_label: str
    organisation_label: str
    project_label: str
    submitted_at_label: str  # « Date et heure de dépôt (heure de Paris) »
    amount_label: str
    documents_heading: str
    document_name_header: str
    document_hash_header: str
    no_documents: str
    content_hash_label: str
    content_hash_note: str
    closing: Sequence[str]
    signature_lines: Sequence[str]
    page_label: str = "Page {page} / {pages}"
    declaration_heading: str = "Déclaration sur l'honneur"
    # « Je soussigné(e), {name}, {capacity}, certifie exactes… »
    declaration: str = "{name}, {capacity}"
    declaration_made: str = "{date}"  # « Déclaration faite en ligne lors du dépôt, le {date}. »
    service_heading: str = "Service chargé du dossier"
    decision_expected_label: str = "Décision attendue d’ici le"
    incomplete_heading: str = "Dossier incomplet"
    missing_label: str = "Pièces ou informations manquantes :"
    complete_by: str = "{date}"  # « À transmettre avant le {date} (heure de Paris). »
    incomplete_note: str = ""  # the time limit runs once the file is complete
    silence_heading: str = "Délai de réponse et voies de recours"
    integrity_heading: str = "Intégrité"
    integrity_intro: str = ""


@dataclass(frozen=True, slots=True)
class LawfulMentions:
    """What the law asks a receipt to say (CRPA L112-3, R112-5), as printed: the service
    in charge and how to reach it, when silence means rejection and how to appeal against
    that implicit decision, and — for a file sent back — what is missing and by when."""

    service_lines: tuple[str, ...] = ()
    silence: str = ""  # « En l’absence de décision … réputée rejetée. »
    appeal_routes: str = ""
    missing: str = ""  # the officer's message: what is missing
    complete_by: str = ""  # the deadline, in words


def short_hash(sha256: str, length: int = 16) -> str:
    return sha256[:length] + "…" if len(sha256) > length else sha256


def build_receipt(
    *,
    texts: ReceiptTexts,
    letterhead: Letterhead,
    call_title: str,
    organisation_name: str,
    project_title: str,
    reference: str,
    submitted_at: datetime,
    requested_cents: int,
    documents: Sequence[ReceiptDocument],
    content_sha256: str,
    organisation_address: Sequence[str] = (),
    place: str = "",
    locale: str = "fr",
    declarant_name: str = "",
    declarant_capacity: str = "",
    lawful: LawfulMentions | None = None,
    decision_expected_on: date | None = None,
) -> bytes:
    """The acknowledgement of receipt (accusé de réception) of a submitted application,
    as PDF bytes. ``submitted_at`` is aware; it is shown in Paris time. The sworn
    statement of the person who submitted is printed when there is one (files
    submitted before it was asked have none). ``lawful``: the mentions of CRPA R112-5
    (service in charge, silence and appeal routes, what is missing). The SHA-256
    fingerprints go to a final « Intégrité » block, out of the letter's text."""
    babel_locale = BABEL_LOCALES.get(locale, locale)
    submitted_text = paris_datetime_text(submitted_at, locale)
    letter = LetterBuilder(
        letterhead=letterhead,
        title=f"{texts.title} — {reference}",
        subject=texts.subject,
        footer_text=f"{letterhead.name} — {reference}",
        page_label=texts.page_label,
        lang=locale,
    )
    letter.addressee([organisation_name, *organisation_address])
    if place:
        when = long_date(submitted_at.astimezone(PARIS).date(), locale)
        letter.place_and_date(texts.place_and_date.format(place=place, date=when))
    letter.references([(texts.reference_label, reference)])
    letter.subject_line(texts.subject_label, texts.subject)
    letter.document_title(texts.title)
    letter.paragraph(texts.salutation)
    letter.paragraph(texts.intro)
    letter.key_values(
        [
            (texts.call_label, call_title),
            (texts.organisation_label, organisation_name),
            (texts.project_label, project_title),
            (texts.reference_label.rstrip(" :\u00a0\u202f"), reference),
            (texts.submitted_at_label, submitted_text),
            (texts.amount_label, format_amount(requested_cents, locale=babel_locale)),
            *(
                [(texts.decision_expected_label, long_date(decision_expected_on, locale))]
                if decision_expected_on
                else []
            ),
        ]
    )
    if lawful and lawful.missing:
        letter.heading(texts.incomplete_heading)
        letter.paragraph(texts.missing_label)
        letter.paragraph(lawful.missing)
        if lawful.complete_by:
            letter.paragraph(texts.complete_by.format(date=lawful.complete_by))
        if texts.incomplete_note:
            letter.paragraph(texts.incomplete_note)
    if lawful and lawful.service_lines:
        letter.heading(texts.service_heading)
        letter.paragraphs(lawful.service_lines)
    if lawful and (lawful.silence or lawful.appeal_routes):
        letter.heading(texts.silence_heading)
        letter.paragraphs([t for t in (lawful.silence, lawful.appeal_routes) if t])
    letter.heading(texts.documents_heading)
    if documents:
        for document in documents:
            letter.paragraph(f"– {document.name}")
    else:
        letter.paragraph(texts.no_documents)
    if declarant_name:
        letter.heading(texts.declaration_heading)
        letter.paragraph(texts.declaration.format(name=declarant_name, capacity=declarant_capacity))
        letter.paragraph(texts.declaration_made.format(date=submitted_text))
    letter.paragraphs(texts.closing)
    letter.signature(texts.signature_lines)
    # The fingerprints, for whoever checks the file later: at the end, not in the letter.
    letter.heading(texts.integrity_heading)
    if texts.integrity_intro:
        letter.paragraph(texts.integrity_intro)
    if documents:
        letter.table(
            [[d.name, short_hash(d.sha256)] for d in documents],
            header=[texts.document_name_header, texts.document_hash_header],
            col_widths=[110, TEXT_WIDTH / mm - 110],
            mono_columns=[1],
        )
    letter.spacer(3)
    letter.paragraph(texts.content_hash_label)
    letter.story.append(paragraph(content_sha256, "mono"))
    letter.spacer(2)
    letter.paragraph(texts.content_hash_note)
    return letter.build()


# --- Words and storage -------------------------------------------------------------------


def receipt_texts() -> ReceiptTexts:
    """Every word of the receipt, in the active language."""
    return ReceiptTexts(
        title=_("Acknowledgement of receipt"),
        place_and_date=_("{place}, {date}"),
        subject_label=_("Subject:"),
        subject=_("submission of your application"),
        reference_label=_("File number:"),
        salutation=_("Dear Sir or Madam,"),
        intro=_(
            "We acknowledge receipt of the application submitted on behalf of your "
            "organisation. Our services will now examine it; you will be told what follows."
        ),
        call_label=_("Call for projects"),
        organisation_label=_("Organisation"),
        project_label=_("Project"),
        submitted_at_label=_("Received on (Paris time)"),
        amount_label=_("Amount requested"),
        documents_heading=_("Attached documents"),
        document_name_header=_("Document"),
        document_hash_header=_("SHA-256 fingerprint (start)"),
        no_documents=_("No attached document."),
        content_hash_label=_("SHA-256 fingerprint of the submitted file"),
        content_hash_note=_(
            "This fingerprint proves that the content of the file has not changed since it was submitted."
        ),
        declaration_heading=_("Sworn statement"),
        declaration=_(
            "I, the undersigned, {name}, {capacity}, certify that the information in this "
            "file is accurate, in particular the grant requests made to other public funders."
        ),
        declaration_made=_("Statement made online when the file was submitted, on {date}."),
        closing=[
            _("This acknowledgement is not a decision to award a grant."),
            _("Yours faithfully,"),
        ],
        signature_lines=[_("The reviewing department")],
        page_label=_("Page {page} / {pages}"),
        service_heading=_("Department in charge of your file"),
        decision_expected_label=_("Decision expected by"),
        incomplete_heading=_("Your file is incomplete"),
        missing_label=_("Missing items or information:"),
        complete_by=_("To send before {date} (Paris time), from your file's page on Guichet."),
        incomplete_note=_(
            "The time limit after which silence means rejection runs only from the receipt "
            "of the complete file."
        ),
        silence_heading=_("Time limit for an answer and appeal routes"),
        integrity_heading=_("Integrity"),
        integrity_intro=_(
            "SHA-256 fingerprints of what was received: they prove that the file and its "
            "documents have not changed since."
        ),
    )


# Official texts are written in French (as ``funders.models.DEFAULT_APPEAL_ROUTES``): the
# routes against the implicit rejection, which arises without notification.
IMPLICIT_REJECTION_APPEAL = (
    "Cette décision implicite de rejet peut faire l’objet, dans un délai de deux mois à "
    "compter de la date à laquelle elle est née, d’un recours gracieux auprès de "
    "{financeur}, ou d’un recours contentieux devant le tribunal administratif "
    "territorialement compétent, qui peut être saisi par l’application « Télérecours "
    "citoyens », accessible sur le site www.telerecours.fr. Dans ce même délai, vous "
    "pouvez demander les motifs de cette décision (article L232-4 du code des relations "
    "entre le public et l’administration)."
)


def lawful_mentions(
    app: ApplicationView, legal: FunderLegal | None, silence_months: int, locale: str
) -> LawfulMentions:
    """The receipt's lawful mentions for this file, from its funder's legal settings
    (the service in charge: ``FunderLegal.contact_lines``) and its call (the months of
    silence that mean rejection); a file sent back « à compléter » adds what is missing
    and the deadline."""
    with i18n.use_locale(locale):
        silence = i18n.ngettext(
            "If no decision is notified to you within %(n)d month of the receipt of your "
            "complete file, your request is deemed rejected (implicit rejection decision).",
            "If no decision is notified to you within %(n)d months of the receipt of your "
            "complete file, your request is deemed rejected (implicit rejection decision).",
            silence_months,
        ) % {"n": silence_months}
    incomplete = app.status == "to_complete" and bool(app.completion_message)
    name = legal.name if legal else app.funder_name
    return LawfulMentions(
        service_lines=legal.contact_lines if legal else (app.funder_name,),
        silence=silence,
        appeal_routes=IMPLICIT_REJECTION_APPEAL.replace("{financeur}", name),
        missing=app.completion_message if incomplete else "",
        complete_by=paris_datetime_text(app.complete_by, locale)
        if incomplete and app.complete_by
        else "",
    )


def receipt_pdf(
    app: ApplicationView,
    attachments: list[AttachmentView],
    locale: str,
    legal: FunderLegal | None = None,
    silence_months: int = 2,
) -> bytes:
    with i18n.use_locale(locale):
        texts = receipt_texts()
    if legal and legal.service_name.strip():
        # Signed by the funder's service in charge, named (its contact is in the text).
        texts = dataclasses.replace(texts, signature_lines=[legal.service_name.strip(), legal.name])
    address = app.funder_address.splitlines()
    return build_receipt(
        texts=texts,
        lawful=lawful_mentions(app, legal, silence_months, locale),
        letterhead=Letterhead(name=app.funder_name, address_lines=tuple(address)),
        call_title=app.call_title,
        organisation_name=app.organisation_name,
        organisation_address=(
            app.organisation_street,
            f"{app.organisation_postcode} {app.organisation_city}",
        ),
        project_title=app.title,
        reference=app.reference or "",
        submitted_at=app.submitted_at,
        requested_cents=app.requested_cents,
        documents=[ReceiptDocument(name=a.original_name, sha256=a.sha256) for a in attachments],
        content_sha256=app.content_sha256 or "",
        place=address[-1].split(" ", 1)[-1] if address else "",
        locale=locale,
        declarant_name=app.declarant_name,
        declarant_capacity=app.declarant_capacity,
        decision_expected_on=app.call_decision_expected_on,
    )


class Receipts:
    """Where receipts are written (the data dir's file storage)."""

    def __init__(self, settings: Settings):
        self.storage = FileStorage.from_settings(settings)
        self.base_url = settings.base_url

    def url(self, app_id: int) -> str:
        """The receipt's address on Guichet (for the submission e-mail)."""
        return f"{self.base_url}/dossiers/{app_id}/accuse-de-reception.pdf"

    async def write(self, app: ApplicationView, attachments: list[AttachmentView]) -> str:
        """Generate the receipt in a worker process (a PDF is ~35 ms of CPU; a surge of
        submissions then uses every core, not the server's one) and store it; return
        its storage id."""
        call = (
            await Call.select(Call.funder, Call.silence_months).where(Call.id == app.call).first()
        )
        legal = await funder_services.legal_of(call["funder"]) if call else None
        silence = call["silence_months"] if call else 2
        data = await anyio.to_process.run_sync(
            receipt_pdf, app, attachments, i18n.get_locale(), legal, silence, cancellable=False
        )
        stored = await anyio.to_thread.run_sync(
            lambda: self.storage.store_bytes(
                data, filename=f"accuse-de-reception-{app.reference}.pdf", kinds={"pdf"}
            )
        )
        return stored.storage_id

    def discard(self, storage_id: str) -> None:
        self.storage.delete(storage_id)


async def rewrite_for_completion(app: ApplicationView, receipts: Receipts) -> str | None:
    """A file sent back « à compléter » gets a new receipt that lists what is missing and
    by when (CRPA L114-5); it replaces the first one, written at submission (same date
    of receipt, same fingerprints). Called after the sending back commits (no PDF inside
    a write transaction); the old file goes once the new one is recorded."""
    from app.applications.reading import current_attachments
    from app.applications.tables import Application

    if not app.submitted_at or not app.reference:
        return None
    written = await receipts.write(app, await current_attachments(app.id))
    try:
        async with write_transaction():
            row = await for_update(
                Application.select(Application.receipt_file, Application.status).where(
                    Application.id == app.id
                )
            ).first()
            if row is None or row["status"] != app.status:
                receipts.discard(written)  # resubmitted meanwhile: its own receipt stands
                return None
            await Application.update({Application.receipt_file: written}).where(
                Application.id == app.id
            )
    except BaseException:
        receipts.discard(written)
        raise
    if row["receipt_file"] and row["receipt_file"] != written:
        receipts.discard(row["receipt_file"])
    return written
