"""How a letter addresses an organisation's legal representative, from the title they
gave (« Présidente » → « Madame la Présidente »). French only: official letters are."""

from __future__ import annotations

import re

# Titles whose grammatical gender says how to address their holder. An unknown title
# (« Responsable », « Secrétaire ») gives the neutral « Madame, Monsieur ».
_FEMININE = (
    "présidente",
    "co-présidente",
    "coprésidente",
    "vice-présidente",
    "directrice",
    "directrice générale",
    "gérante",
    "trésorière",
    "déléguée générale",
    "administratrice",
    "fondatrice",
)
_MASCULINE = (
    "président",
    "co-président",
    "coprésident",
    "vice-président",
    "directeur",
    "directeur général",
    "gérant",
    "trésorier",
    "délégué général",
    "administrateur",
    "fondateur",
)
NEUTRAL = "Madame, Monsieur"


def salutation(title: str) -> str:
    """« Madame la Présidente », « Monsieur le Directeur général », or « Madame,
    Monsieur » when the title does not say."""
    words = re.sub(r"\s+", " ", (title or "").strip().rstrip(".,")).lower()
    words = re.sub(r"^(la|le|l’|l')\s*", "", words)
    if words in _FEMININE:
        return f"Madame la {words[:1].upper()}{words[1:]}"
    if words in _MASCULINE:
        return f"Monsieur le {words[:1].upper()}{words[1:]}"
    return NEUTRAL
