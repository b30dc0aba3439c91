"""Every translatable string has its French text, and the catalogue is compiled."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.core import i18n
from app.settings import BASE_DIR, LOCALES_DIR

METHODS = [("**.py", "python"), ("**.html", "jinja2"), ("emails/**.txt", "jinja2")]


def extracted_messages() -> set[str]:
    found = set()
    for folder in ("app", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(BASE_DIR / folder), METHODS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_french_translation():
    with (LOCALES_DIR / "fr/LC_MESSAGES/messages.po").open("rb") as fh:
        catalogue = read_po(fh, locale="fr")

    def complete(m) -> bool:
        if isinstance(m.string, str):
            return bool(m.string)
        # Every plural form the language has (French: 3 in CLDR) must be there.
        return len(m.string) >= catalogue.num_plurals and all(m.string)

    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalogue
        if m.id and complete(m) and not m.fuzzy
    }
    missing = sorted(extracted_messages() - translated)
    assert not missing, f"run `make messages` and translate: {missing}"


def test_french_catalogue_is_compiled_and_used():
    assert Path(LOCALES_DIR / "fr/LC_MESSAGES/messages.mo").exists()
    with i18n.use_locale("fr"):
        assert i18n.gettext("Page not found") == "Page introuvable"
    with i18n.use_locale("en"):
        assert i18n.gettext("Page not found") == "Page not found"


def test_file_sizes_read_the_users_way_and_never_below_their_size():
    from app.core.templating import file_size

    mb = 1024 * 1024
    cases = [
        (100 * mb, "100 Mo", "100 MB"),
        (int(98.5 * mb), "98,5 Mo", "98.5 MB"),
        (int(20.3 * mb), "20,3 Mo", "20.3 MB"),
        (10 * mb + 1, "10,1 Mo", "10.1 MB"),  # just over a limit never reads as the limit
        (700 * 1024, "700 Ko", "700 KB"),
        (1, "1 Ko", "1 KB"),
        (1500 * mb, "1\u202f500 Mo", "1,500 MB"),
    ]
    for size, french, english in cases:
        with i18n.use_locale("fr"):
            assert file_size(size) == french
        with i18n.use_locale("en"):
            assert file_size(size) == english
