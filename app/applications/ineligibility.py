"""The decision that a file is ineligible (décision d'irrecevabilité) as a PDF: the
reason given at screening, the date, and the appeal routes of the funder.

Stored once, just after the screening commits (``store_decision``: written once in the
file storage, its id in ``application.ineligibility_file``, which the crash recovery
knows); its page serves the stored one, and a GET never writes. A file screened out
before the decision was stored (or a server stopped in between) has its decision made
again from the file, which never changes once screened out — and not stored by the GET."""

from __future__ import annotations

import anyio

from app.applications.models import ApplicationView
from app.applications.tables import Application
from app.calls.tables import Call
from app.core import i18n
from app.core.db import write_transaction
from app.core.i18n import gettext as _
from app.core.pdf import LetterBuilder, Letterhead
from app.core.storage import FileStorage
from app.core.time import PARIS, long_date
from app.funders import services as funder_services
from app.funders.models import FunderLegal
from app.organisations.addressing import salutation
from app.organisations.tables import Organisation


def render(
    app: ApplicationView, funder: FunderLegal, rep: dict, logo: str | None, files: FileStorage
) -> bytes:
    """The decision as PDF bytes, in French (pure: run it in a thread)."""
    with i18n.use_locale("fr"):
        screened = app.screened_at.astimezone(PARIS).date() if app.screened_at else None
        when = long_date(screened, "fr") if screened else ""
        letter = LetterBuilder(
            letterhead=Letterhead(
                name=funder.name,
                address_lines=tuple(funder.address.splitlines()),
                logo_path=files.path_of(logo) if logo else None,
            ),
            title=f"{_('Decision: ineligible file')} — {app.reference or ''}",
            subject=_("your grant application"),
            footer_text=f"{funder.name} — {app.reference or ''}",
            page_label=_("Page {page} / {pages}"),
            lang="fr",
        )
        letter.addressee(
            [
                app.organisation_name,
                _("For the attention of %(name)s, %(title)s")
                % {"name": rep["legal_rep_name"], "title": rep["legal_rep_title"]},
                app.organisation_street,
                f"{app.organisation_postcode} {app.organisation_city}",
            ]
        )
        if when:
            letter.place_and_date(
                _("{place}, {date}").format(place=funder.town, date=when) if funder.town else when
            )
        references = [(_("File number:"), app.reference or "")]
        if funder.contact_lines:
            references.append((_("Followed by:"), ", ".join(funder.contact_lines)))
        letter.references(references)
        letter.subject_line(_("Subject:"), _("your grant application"))
        letter.document_title(_("Decision: ineligible file"))
        greeting = salutation(rep["legal_rep_title"])
        letter.paragraphs(
            [
                f"{greeting},",
                _(
                    "Your file « %(title)s », submitted for the call « %(call)s », cannot be "
                    "examined: it was found ineligible on %(date)s, for the reason below."
                )
                % {"title": app.title, "call": app.call_title, "date": when},
            ]
        )
        letter.heading(_("Reason"))
        letter.paragraph(app.screening_reason)
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
        return letter.build()


async def ineligibility_decision(app: ApplicationView, files: FileStorage) -> bytes | None:
    """The PDF of a screened-out file's decision (None: the file is not ineligible)."""
    if not app.screened_out or not app.screening_reason:
        return None
    call = (
        await Call.select(Call.funder, Call.funder.logo_file.as_alias("logo"))
        .where(Call.id == app.call)
        .first()
    )
    funder = await funder_services.legal_of(call["funder"])
    rep = (
        await Organisation.select(Organisation.legal_rep_name, Organisation.legal_rep_title)
        .where(Organisation.id == app.organisation)
        .first()
    )
    if funder is None or rep is None:
        return None
    return await anyio.to_thread.run_sync(lambda: render(app, funder, rep, call["logo"], files))


def file_name(app: ApplicationView) -> str:
    return f"irrecevabilite-{app.reference or app.id}.pdf"


async def store_decision(app: ApplicationView, files: FileStorage) -> str | None:
    """Write the decision of a screened-out file once and record it (the first stored
    stays: a second call, or a race, discards its copy); its storage id."""
    if app.ineligibility_file:
        return app.ineligibility_file
    data = await ineligibility_decision(app, files)
    if data is None:
        return None
    stored = await anyio.to_thread.run_sync(
        lambda: files.store_bytes(data, filename=file_name(app), kinds={"pdf"})
    )
    try:
        async with write_transaction():
            updated = (
                await Application.update({Application.ineligibility_file: stored.storage_id})
                .where((Application.id == app.id) & Application.ineligibility_file.is_null())
                .returning(Application.id)
            )
    except BaseException:
        files.delete(stored.storage_id)
        raise
    if updated:
        return stored.storage_id
    files.delete(stored.storage_id)
    row = (
        await Application.select(Application.ineligibility_file)
        .where(Application.id == app.id)
        .first()
    )
    return row["ineligibility_file"] if row else None
