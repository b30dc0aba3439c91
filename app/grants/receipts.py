"""The acknowledgement of receipt (accusé de réception) of a submitted report: the
application receipt's layout (``applications.receipts.build_receipt``, on the letter
base of ``core.pdf``) with a report's words, and where it is written."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import anyio
import anyio.to_process

from app.applications.receipts import ReceiptDocument, ReceiptTexts, build_receipt
from app.core import i18n
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.pdf import Letterhead
from app.core.storage import FileStorage
from app.funders.services import legal_of
from app.grants.models import AttachmentRecord, GrantRecord, ReportRecord
from app.grants.tables import Grant
from app.settings import Settings

KIND_SUBJECTS = {
    "interim": N_("submission of your interim report"),
    "final": N_("submission of your final report"),
}


@dataclass(frozen=True, slots=True)
class ReportReceipt:
    """What a report's receipt prints (picklable: rendered in a worker process)."""

    kind: str
    reference: str
    call_title: str
    organisation_name: str
    project_title: str
    funder_name: str
    funder_address: str
    submitted_at: object  # aware datetime
    declared_cents: int
    documents: tuple[ReceiptDocument, ...]
    content_sha256: str
    # The funder's service in charge (its legal settings): name, postal address,
    # e-mail, telephone; and who signs. Empty: the funder's address and « the department ».
    service_lines: tuple[str, ...] = ()
    signature_lines: tuple[str, ...] = ()
    place: str = ""


def receipt_texts(kind: str) -> ReceiptTexts:
    """Every word of a report's receipt, in the active language."""
    return ReceiptTexts(
        title=_("Acknowledgement of receipt"),
        place_and_date=_("{place}, {date}"),
        subject_label=_("Subject:"),
        subject=_(KIND_SUBJECTS[kind]),
        reference_label=_("File number:"),
        salutation=_("Dear Sir or Madam,"),
        intro=_(
            "We acknowledge receipt of the report submitted on behalf of your organisation "
            "on the grant below. Our services will now examine it; you will be told what "
            "follows."
        ),
        call_label=_("Call for projects"),
        organisation_label=_("Organisation"),
        project_label=_("Project"),
        submitted_at_label=_("Submitted on (Paris time)"),
        amount_label=_("Actual expenses declared"),
        documents_heading=_("Attached documents"),
        document_name_header=_("Document"),
        document_hash_header=_("SHA-256 fingerprint (start)"),
        no_documents=_("No attached document."),
        content_hash_label=_("SHA-256 fingerprint of the submitted report"),
        content_hash_note=_(
            "This fingerprint proves that the content of the report has not changed since it was submitted."
        ),
        closing=[
            _("This acknowledgement is not the approval of the report."),
            _("Yours faithfully,"),
        ],
        signature_lines=[_("The reviewing department")],
        page_label=_("Page {page} / {pages}"),
    )


def receipt_pdf(receipt: ReportReceipt, locale: str) -> bytes:
    with i18n.use_locale(locale):
        texts = receipt_texts(receipt.kind)
    if receipt.signature_lines:
        texts = dataclasses.replace(texts, signature_lines=list(receipt.signature_lines))
    address = [line for line in receipt.funder_address.splitlines() if line.strip()]
    return build_receipt(
        texts=texts,
        letterhead=Letterhead(
            name=receipt.funder_name,
            address_lines=tuple(address),
            contact_lines=receipt.service_lines,
        ),
        call_title=receipt.call_title,
        organisation_name=receipt.organisation_name,
        project_title=receipt.project_title,
        reference=receipt.reference,
        submitted_at=receipt.submitted_at,  # type: ignore[arg-type]
        requested_cents=receipt.declared_cents,
        documents=receipt.documents,
        content_sha256=receipt.content_sha256,
        place=receipt.place or (address[-1].split(" ", 1)[-1] if address else ""),
        locale=locale,
    )


class ReportReceipts:
    """Where report receipts are written (the data dir's file storage)."""

    def __init__(self, settings: Settings):
        self.storage = FileStorage.from_settings(settings)
        self.base_url = settings.base_url

    async def write(
        self,
        grant: GrantRecord,
        report: ReportRecord,
        files: list[AttachmentRecord],
        content_sha256: str,
    ) -> str:
        """Render the receipt in a worker process and store it; its storage id."""
        from app.grants.reports import DOCUMENTS, actual_eligible

        labels = {d.key: d.label for d in DOCUMENTS[report.kind]}
        with i18n.use_locale(i18n.get_locale()):
            documents = tuple(
                ReceiptDocument(
                    name=f"{_(labels.get(f.document, 'Other document'))} : {f.original_name}",
                    sha256=f.sha256,
                )
                for f in files
            )
        legal = await _legal_of_grant(grant.id)
        with i18n.use_locale(i18n.get_locale()):
            signature = legal.signature_lines() if legal and legal.signatory_name else ()
        receipt = ReportReceipt(
            kind=report.kind,
            reference=grant.reference or "",
            call_title=grant.call_title,
            organisation_name=grant.organisation_name,
            project_title=grant.title,
            funder_name=grant.funder_name,
            funder_address=grant.funder_address,
            submitted_at=report.submitted_at,
            declared_cents=actual_eligible(report.actuals),
            documents=documents,
            content_sha256=content_sha256,
            service_lines=legal.contact_lines if legal else (),
            signature_lines=tuple(signature),
            place=legal.town if legal else "",
        )
        data = await anyio.to_process.run_sync(
            receipt_pdf, receipt, i18n.get_locale(), cancellable=False
        )
        name = f"accuse-de-reception-bilan-{report.kind}-{grant.reference}.pdf"
        stored = await anyio.to_thread.run_sync(
            lambda: self.storage.store_bytes(data, filename=name, kinds={"pdf"})
        )
        return stored.storage_id

    def discard(self, storage_id: str) -> None:
        self.storage.delete(storage_id)


async def _legal_of_grant(grant_id: int):
    """The legal settings of the funder of the grant's call (its service in charge)."""
    row = (
        await Grant.select(Grant.call.funder.as_alias("funder_id"))
        .where(Grant.id == grant_id)
        .first()
    )
    return await legal_of(row["funder_id"]) if row else None
