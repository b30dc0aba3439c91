"""Tables on a phone read as cards (``table--stack``): in a card no cell keeps to one
line, else a long cell (a file number with its unread marker, the sole owner's
sentence) runs past the card and is cut. Browser screenshots at 360 px showed it; this
keeps the rules that fixed it."""

from pathlib import Path

CSS = (Path(__file__).parents[3] / "static" / "css" / "guichet.css").read_text()


def _phone_rules() -> str:
    start = CSS.index("@media (max-width: 40rem) {\n  .table--stack thead")
    return CSS[start : CSS.index("\n}", start)]


def test_cells_kept_on_one_line_on_a_wide_screen_wrap_in_a_card():
    assert ".table .actions, .table .ref { white-space: nowrap; }" in CSS
    phone = _phone_rules()
    assert ".table--stack td.actions, .table--stack td.ref { white-space: normal; }" in phone
    # A file number itself is not cut at its dashes.
    assert ".table--stack td.ref a { white-space: nowrap; }" in phone


def test_the_members_and_my_files_tables_are_stacked_on_a_phone():
    templates = Path(__file__).parents[3] / "templates"
    for page in ("applications/mine.html", "organisations/detail.html"):
        html = (templates / page).read_text()
        assert 'class="table table--stack"' in html, page
        assert "data-label=" in html, page
