"""The acknowledgement of receipt (accusé de réception) of a submitted application."""

from __future__ import annotations

import anyio
import anyio.to_process

from app.core import i18n
from app.core.i18n import gettext as _
from app.core.pdf import Letterhead, ReceiptDocument, ReceiptTexts, build_receipt
from app.core.storage import FileStorage
from app.settings import Settings


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
        submitted_at_label=_("Submitted on (Paris time)"),
        amount_label=_("Amount requested"),
        documents_heading=_("Attached documents"),
        document_name_header=_("Document"),
        document_hash_header=_("SHA-256 fingerprint (start)"),
        no_documents=_("No attached document."),
        content_hash_label=_("SHA-256 fingerprint of the submitted file"),
        content_hash_note=_(
            "This fingerprint proves that the content of the file has not changed since it was submitted."
        ),
        closing=[
            _("This acknowledgement is not a decision to award a grant."),
            _("Yours faithfully,"),
        ],
        signature_lines=[_("The reviewing department")],
        page_label=_("Page {page} / {pages}"),
    )


def receipt_pdf(app: dict, attachments: list[dict], locale: str) -> bytes:
    with i18n.use_locale(locale):
        texts = receipt_texts()
    return build_receipt(
        texts=texts,
        letterhead=Letterhead(
            name=app["funder_name"], address_lines=tuple((app["funder_address"] or "").splitlines())
        ),
        call_title=app["call_title"],
        organisation_name=app["organisation_name"],
        organisation_address=(
            app["organisation_street"],
            f"{app['organisation_postcode']} {app['organisation_city']}",
        ),
        project_title=app["title"],
        reference=app["reference"],
        submitted_at=app["submitted_at"],
        requested_cents=app["requested_cents"],
        documents=[
            ReceiptDocument(name=a["original_name"], sha256=a["sha256"]) for a in attachments
        ],
        content_sha256=app["content_sha256"],
        place=(app["funder_address"] or "").splitlines()[-1].split(" ", 1)[-1]
        if app["funder_address"]
        else "",
        locale=locale,
    )


class Receipts:
    """Where receipts are written (the data dir's file storage)."""

    def __init__(self, settings: Settings):
        self.storage = FileStorage.from_settings(settings)
        self.base_url = settings.base_url

    def url(self, app_id: int) -> str:
        """The receipt's address on Guichet (for the submission e-mail)."""
        return f"{self.base_url}/dossiers/{app_id}/accuse-de-reception.pdf"

    async def write(self, app: dict, attachments: list[dict]) -> str:
        """Generate the receipt in a worker process (a PDF is ~35 ms of CPU; a surge of
        submissions then uses every core, not the server's one) and store it; return
        its storage id."""
        data = await anyio.to_process.run_sync(
            receipt_pdf, app, attachments, i18n.get_locale(), cancellable=False
        )
        stored = await anyio.to_thread.run_sync(
            lambda: self.storage.store_bytes(
                data, filename=f"accuse-de-reception-{app['reference']}.pdf", kinds={"pdf"}
            )
        )
        return stored.storage_id

    def discard(self, storage_id: str) -> None:
        self.storage.delete(storage_id)
