"""The articles of a grant agreement (convention): the default text, its placeholders,
the check of a text typed by staff and its filling. Pure functions.

A template is plain text: a line starting with « # » opens an article (its title);
paragraphs are separated by a blank line; a single line break stays a line break.
Placeholders are bare names in braces, ``{montant}``; a brace on its own is written
``{{`` or ``}}``. Filled values are plain text, escaped when the PDF is drawn."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_

# The placeholders an agreement may use, with what each becomes.
PLACEHOLDERS = {
    "financeur": N_("the funder"),
    "adresse_financeur": N_("the funder's postal address, on one line"),
    "siret_financeur": N_("the funder's SIRET"),
    "signataire_financeur": N_("who signs for the funder (its settings)"),
    "qualite_signataire_financeur": N_("their capacity"),
    "service": N_("the department in charge"),
    "organisation": N_("the organisation's name"),
    "siret": N_("its SIRET"),
    "rna": N_("its RNA number (associations)"),
    "adresse_organisation": N_("its postal address, on one line"),
    "representant": N_("its legal representative"),
    "qualite_representant": N_("their capacity"),
    "projet": N_("the project's title"),
    "reference": N_("the file number"),
    "appel": N_("the call's title"),
    "montant": N_("the amount awarded, in figures"),
    "montant_en_lettres": N_("the amount awarded, in words"),
    "cout_projet": N_("the project's forecast cost (without contributions in kind)"),
    "part_cout": N_("the grant's share of that cost"),
    "echeancier": N_("the payment schedule, one instalment a line"),
}

# Official documents are written in French: the default text is French, not a msgid.
DEFAULT_TEMPLATE = """\
# Préambule
La présente convention est conclue en application de l’article 10 de la loi n° 2000-321 du 12 avril 2000 relative aux droits des citoyens dans leurs relations avec les administrations et du décret n° 2001-495 du 6 juin 2001, qui imposent une convention écrite pour toute subvention dont le montant annuel dépasse 23 000 €.

Entre {financeur}, {adresse_financeur}, SIRET {siret_financeur}, représenté(e) par {signataire_financeur}, {qualite_signataire_financeur}, ci-après « le financeur »,

et {organisation}, {adresse_organisation}, SIRET {siret}, RNA {rna}, représentée par {representant}, {qualite_representant}, dûment habilité(e), ci-après « le bénéficiaire »,

il est convenu ce qui suit.

# Article 1 — Objet
Par la présente convention, le bénéficiaire s’engage à réaliser, à son initiative et sous sa responsabilité, le projet « {projet} » (dossier {reference}), présenté dans le cadre de l’appel à projets « {appel} » et décrit en annexe. Le financeur contribue financièrement à ce projet ; il n’attend aucune contrepartie directe de cette contribution.

# Article 2 — Montant de la subvention
Le financeur attribue au bénéficiaire une subvention d’un montant de {montant} ({montant_en_lettres}).

Le coût total prévisionnel éligible du projet est de {cout_projet}, selon le budget prévisionnel annexé ; la subvention en représente {part_cout}. Elle ne peut être revue à la hausse. Si le coût réel du projet est inférieur au coût prévisionnel, son montant est réduit dans la même proportion.

# Article 3 — Modalités de versement
La subvention est versée selon l’échéancier suivant, chaque tranche étant débloquée par l’événement indiqué :
{echeancier}

Aucune tranche n’est versée avant la signature de la présente convention par les deux parties. Les versements sont effectués sur le compte bancaire du bénéficiaire dont le relevé d’identité bancaire figure à son dossier.

# Article 4 — Obligations du bénéficiaire
Le bénéficiaire s’engage à utiliser la subvention conformément à son objet, à tenir une comptabilité conforme au plan comptable des associations et à informer sans délai le financeur de toute modification de son projet, de ses statuts ou de ses coordonnées bancaires.

Il fait apparaître le soutien du financeur dans toute communication relative au projet (mention « Avec le soutien de {financeur} » et logo du financeur).

Il transmet au financeur un compte rendu intermédiaire à mi-parcours, puis le compte rendu financier du projet (formulaire CERFA n° 15059) dans les six mois suivant la fin de l’exercice au cours duquel la subvention a été accordée, accompagné de ses comptes annuels et de son rapport d’activité.

# Article 5 — Contrôle
Le bénéficiaire facilite le contrôle par le financeur, sur pièces et sur place, de la réalisation du projet et de l’utilisation de la subvention. Il conserve les pièces justificatives pendant dix ans.

# Article 6 — Reversement en cas d’inexécution
En cas d’inexécution, de modification substantielle sans accord écrit du financeur ou de retard significatif des conditions d’exécution de la présente convention, ainsi qu’en cas d’utilisation de tout ou partie de la subvention à d’autres fins que son objet, le financeur peut exiger le reversement de tout ou partie des sommes versées, après examen des justificatifs présentés par le bénéficiaire.

# Article 7 — Durée
La présente convention prend effet à la date de sa signature par la dernière des parties. Elle prend fin lorsque le financeur a approuvé le compte rendu financier final et, le cas échéant, recouvré les sommes dues.

# Article 8 — Avenant et résiliation
Toute modification du montant ou de l’échéancier fait l’objet d’un avenant signé par les deux parties. En cas de non-respect par l’une des parties de ses engagements, la présente convention peut être résiliée par l’autre partie à l’expiration d’un délai d’un mois suivant l’envoi d’une mise en demeure restée sans effet.

# Article 9 — Litiges
Les parties recherchent d’abord un règlement amiable de tout différend. À défaut, le litige est porté devant le tribunal administratif territorialement compétent.

# Annexes
Annexe 1 : le projet, tel que présenté par le bénéficiaire. Annexe 2 : le budget prévisionnel du projet, tel que présenté. Les annexes font partie de la présente convention.
"""


class AgreementTextError(DomainError):
    """A template refused: an unknown placeholder, a stray brace, no article."""


def check(text: str) -> None:
    """Refuse a template with a placeholder we do not know, a stray brace or no
    article. Only bare names are allowed: ``{siret.__class__}`` or ``{montant:>9}`` are
    unknown, so a template never reaches into an object."""
    if len(text) > 50_000:
        raise AgreementTextError("too_long", N_("The text is too long."), "body")
    try:
        fields = [
            (name, spec, conv)
            for _literal, name, spec, conv in string.Formatter().parse(text)
            if name is not None
        ]
    except ValueError:
        raise AgreementTextError(
            "malformed",
            N_(
                "A brace is not closed or not opened: write placeholders as {organisation}, and "
                "a brace on its own as {{ or }}."
            ),
            "body",
        ) from None
    unknown = [
        f"{{{name}}}" for name, spec, conv in fields if name not in PLACEHOLDERS or spec or conv
    ]
    if unknown:
        raise AgreementTextError(
            "unknown",
            N_("Unknown placeholder: %(names)s. Use only the placeholders listed beside the text."),
            "body",
            names=", ".join(dict.fromkeys(unknown)),
        )
    if not any(line.startswith("#") for line in text.splitlines()):
        raise AgreementTextError(
            "no_article", N_("Open each article with a line starting with « # »."), "body"
        )


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]


def articles(text: str, values: dict[str, str]) -> tuple[Article, ...]:
    """The template (``check`` passed) filled and cut into articles; text before the
    first « # » line is dropped."""
    filled = text.replace("\r\n", "\n").format_map(
        {name: values.get(name, "") for name in PLACEHOLDERS}
    )
    found: list[Article] = []
    title, lines = None, []

    def close() -> None:
        if title is not None:
            blocks = re.split(r"\n[ \t]*\n", "\n".join(lines))
            paragraphs = tuple(b.strip("\n") for b in blocks if b.strip())
            found.append(Article(title, paragraphs))

    for line in filled.split("\n"):
        if line.startswith("#"):
            close()
            title, lines = line.lstrip("#").strip(), []
        else:
            lines.append(line.rstrip())
    close()
    return tuple(found)
