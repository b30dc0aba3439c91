"""The audit trail in words: every action code the app writes has its label (collected
from the source), translated; details read with their amounts formatted."""

import re
from pathlib import Path

import app as package
from app.accounts import journal
from app.core.i18n import catalogue, use_locale

SOURCE = Path(package.__file__).parent
DOMAINS = (
    "accounts", "api", "applications", "audit", "calls", "decisions", "funders", "grants",
    "organisations", "reviews",
)  # fmt: skip
LITERAL = re.compile('"((?:' + "|".join(DOMAINS) + r')\.[a-z_]+)"')
# Codes written from an f-string: the pattern as it appears in the source, and the
# codes it makes (the actions or targets its variable takes).
FORMATTED = {
    'f"grants.instalment_{action}"': ("grants.instalment_approve", "grants.instalment_cancel"),
    'f"grants.{kind}_notice"': ("grants.reduction_notice", "grants.recovery_notice"),
    'f"calls.{target}"': ("calls.published", "calls.closed", "calls.archived"),
    'f"applications.{action}"': ("applications.reviews_complete", "applications.reviews_reopened"),
}
# Literals of that shape that are not audit codes (a table and its column…).
NOT_CODES: set[str] = set()


def emitted_codes() -> set[str]:
    codes: set[str] = set()
    formatted_seen: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if "piccolo_migrations" in path.parts or path.name == "journal.py":
            continue
        text = path.read_text()
        for pattern, made in FORMATTED.items():
            if pattern in text:
                formatted_seen.add(pattern)
                codes.update(made)
        for match in LITERAL.finditer(text):
            codes.add(match.group(1))
    # Each f-string listed is still in the source (else its codes are stale).
    assert formatted_seen == set(FORMATTED)
    return codes - NOT_CODES


def test_every_action_the_app_writes_has_a_label():
    missing = sorted(emitted_codes() - set(journal.ACTION_LABELS))
    assert missing == [], f"add a label to app/accounts/journal.py for {missing}"
    assert "grants.reduced" in emitted_codes()  # the collection sees the grants' codes


def test_every_label_is_translated_and_reads_as_words():
    french = catalogue("fr")
    for code, label in journal.ACTION_LABELS.items():
        assert french.ugettext(label) != label or label.isupper(), code
        assert "." not in label and "_" not in label, code
    with use_locale("fr"):
        assert journal.action_label("grants.reduced") == "Subvention réduite"
        assert journal.action_label("tests.unknown") == "tests.unknown"
    with use_locale("en"):
        assert journal.action_label("grants.reduced") == "Grant reduced"


def test_details_format_amounts_and_name_their_keys():
    with use_locale("fr"):
        shown = journal.details(
            {"amount_cents": 6_172_839, "instalment": 1, "reason": None, "lines": 2, "x": True}
        )
    assert [(k, v.replace("\u202f", " ").replace("\xa0", " ")) for k, v in shown] == [
        ("montant", "61 728,39 €"),
        ("échéance", "1"),
        ("échéances", "2"),
        ("x", "oui"),
    ]


def test_details_name_the_common_keys_in_words_and_skip_empty_lists():
    """The keys the demo's trail writes most (a file's call, a signer, a decision) read in
    French, not as their code; an empty list (a new account's roles) shows nothing."""
    with use_locale("fr"):
        shown = journal.details(
            {"roles": [], "call": 2, "signer": "A. B.", "awarded_cents": 100, "outcome": "award"}
        )
    assert [k for k, _v in shown] == ["appel n°", "signé par", "montant attribué", "décision"]
    with use_locale("en"):
        assert [k for k, _v in journal.details({"call": 2})] == ["call no."]


def test_coded_values_read_in_words():
    """A decision, a signing method, roles and a report's kind are stored as codes; the
    trail shows them in the reader's language (an unknown code as written)."""
    summary = {
        "outcome": "award",
        "method": "email_code",
        "roles": ["officer", "x"],
        "kind": "final",
    }
    with use_locale("fr"):
        assert [v for _k, v in journal.details(summary)] == [
            "attribution",
            "code envoyé par courriel",
            "chargé·e de mission, x",
            "bilan final",
        ]
    for code, label in journal.CODE_LABELS.items():
        assert catalogue("fr").ugettext(label) != label, code
    with use_locale("en"):
        assert journal.details({"outcome": "reject"}) == [("decision", "rejection")]
