"""What a funder's documents say about it: the service in charge and how to reach it,
who signs « par délégation », the appeal routes and the deliberating body."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.i18n import gettext as _

# Official documents are written in French: the default texts are French, not msgids.
DEFAULT_APPEAL_ROUTES = (
    "Cette décision peut faire l’objet, dans un délai de deux mois à compter de sa "
    "notification, d’un recours gracieux auprès de {financeur}, ou d’un recours "
    "contentieux devant le tribunal administratif territorialement compétent. Le "
    "tribunal administratif peut être saisi par l’application « Télérecours citoyens », "
    "accessible sur le site www.telerecours.fr. Un recours gracieux prolonge le délai du "
    "recours contentieux, qui court à nouveau à compter de la réponse (le silence gardé "
    "deux mois valant rejet)."
)
DEFAULT_DELIBERATION_BODY = "la commission permanente"


@dataclass(frozen=True, slots=True)
class FunderLegal:
    """A funder's legal texts and contacts, the defaults filled in."""

    id: int
    name: str
    address: str = ""
    service_name: str = ""
    service_address: str = ""
    service_email: str = ""
    service_phone: str = ""
    signatory_name: str = ""
    signatory_capacity: str = ""
    signature_file: str | None = None
    appeal_text: str = ""  # as typed: "" means the default
    deliberation_body: str = ""
    siret: str = ""

    @property
    def appeal_routes(self) -> str:
        """The appeal routes and time limits, as every unfavourable decision states them."""
        text = self.appeal_text.strip() or DEFAULT_APPEAL_ROUTES
        return text.replace("{financeur}", self.name)

    @property
    def deliberating_body(self) -> str:
        return self.deliberation_body.strip() or DEFAULT_DELIBERATION_BODY

    @property
    def town(self) -> str:
        """Where its letters are written: the town of its address's last line."""
        lines = self.address.strip().splitlines()
        town = lines[-1].split(" ", 1)[-1] if lines else ""
        return re.sub(r"\s+cedex\b.*$", "", town, flags=re.I).strip()

    @property
    def contact_lines(self) -> tuple[str, ...]:
        """The service in charge, its postal address (the funder's when none), e-mail and
        telephone: one line each, the empty ones left out."""
        address = self.service_address.strip() or self.address.strip()
        lines = [self.service_name.strip(), *address.splitlines()]
        if self.service_email:
            lines.append(self.service_email)
        if self.service_phone:
            lines.append(self.service_phone)
        return tuple(line.strip() for line in lines if line.strip())

    def signature_lines(self) -> tuple[str, ...]:
        """Who signs its documents: « Pour … et par délégation, », the capacity and the
        name of its signatory; its name alone when it has none (inside the document's
        locale: ``i18n.use_locale``)."""
        if not self.signatory_name:
            return (self.name,)
        delegation = _("For %(funder)s and by delegation,") % {"funder": self.name}
        return tuple(
            line for line in (delegation, self.signatory_capacity, self.signatory_name) if line
        )

    @property
    def service_reach(self) -> tuple[str, ...]:
        """``contact_lines`` without the service's name: its postal address (the
        funder's when none), e-mail and telephone."""
        return self.contact_lines[1:] if self.service_name.strip() else self.contact_lines

    @property
    def contact_sentence(self) -> str:
        """The service and its contact on one line (for e-mails' signature)."""
        return " — ".join(self.contact_lines)


def funder_legal(row: dict) -> FunderLegal:
    """A ``Funder`` row (all columns) as its legal read model."""
    return FunderLegal(
        id=row["id"],
        name=row["name"],
        address=row.get("address") or "",
        service_name=row.get("service_name") or "",
        service_address=row.get("service_address") or "",
        service_email=row.get("service_email") or "",
        service_phone=row.get("service_phone") or "",
        signatory_name=row.get("signatory_name") or "",
        signatory_capacity=row.get("signatory_capacity") or "",
        signature_file=row.get("signature_file"),
        appeal_text=row.get("appeal_routes") or "",
        deliberation_body=row.get("deliberation_body") or "",
        siret=row.get("siret") or "",
    )


def funder_context(legal: FunderLegal | None) -> dict:
    """What an e-mail about a file of this funder may show: its name, its service's
    contact, the appeal routes (``emails/_appeal_routes.*`` shows them) and the lines
    its service signs with (``emails/_signature.*``: the service, not the software)."""
    if legal is None:
        default = DEFAULT_APPEAL_ROUTES.replace("{financeur}", "l’autorité qui l’a prise")
        return {
            "funder": "",
            "service_contact": "",
            "appeal_routes": default,
            "service": "",
            "signature": [],
        }
    return {
        "funder": legal.name,
        "service_contact": legal.contact_sentence,
        "appeal_routes": legal.appeal_routes,
        "service": legal.service_name.strip(),
        "signature": list(legal.service_reach),
    }
