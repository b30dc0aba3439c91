"""The key pages of issue 20 (performance) as rendered before its work, on the demo:
what tests/integration/test_same_html.py compares today's pages with.

The snapshots in tests/data/pages_before_perf/ were rendered by commit 34f6563 (main
just before the performance branches were merged: kept connections, prepared
formatters, the ranking in SQL…) serving a copy of a database filled by today's
``guichet demo``, then normalised by ``normalise`` below. To render them again from
that commit (never from today's code, which is what they check)::

    git worktree add /tmp/oldperf 34f6563   # its own venv, translations compiled
    DATABASE_URL=sqlite:////tmp/demo-copy.db guichet serve --port N   # in /tmp/oldperf
    python -m tests.pages_before_perf http://127.0.0.1:N

(postgresql/: the same from a PostgreSQL database filled by ``guichet demo``.)

Only the page's ``<main>`` is compared (the layout around it has changed since, on
purpose: « À traiter » in the menu, the footer's personal-data link), and only what
legitimately varies is normalised: CSRF tokens, date-times within a year of today
(the demo's « now »), the current year in references (CVL-2026-0001), SHA-256
digests (the demo's documents are written at each load), and the later
features named in LATER_FEATURES. A page changed on purpose by a later feature gets
its change normalised narrowly there, not new snapshots from today's code.
"""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

SNAPSHOTS = Path(__file__).resolve().parent / "data" / "pages_before_perf"
PASSWORD = "demo-guichet-2026"

# name -> (the demo account, the path): the officer's table, a file, the ranking (the
# decided 2017 call and the call under review), the reviewer's and finance dashboards.
PAGES = {
    "officer_table_1": ("instruction@demo.guichet.test", "/instruction/appels/1/dossiers"),
    "officer_table_2": ("instruction@demo.guichet.test", "/instruction/appels/2/dossiers"),
    "file_1": ("instruction@demo.guichet.test", "/instruction/dossiers/1"),
    "ranking_1": ("instruction@demo.guichet.test", "/instruction/appels/1/classement"),
    "ranking_2": ("instruction@demo.guichet.test", "/instruction/appels/2/classement"),
    "reviewer_dashboard": ("evaluation@demo.guichet.test", "/evaluation"),
    "finance_dashboard": ("finances@demo.guichet.test", "/finances"),
}

# SQL queries each page issued before the performance work (34f6563, same demo data,
# counted as tests.factories.QueryCounter counts them); today: 4, 4, 7, 8, 8, 4, 13.
QUERIES_BEFORE = {
    "officer_table_1": 5,
    "officer_table_2": 5,
    "file_1": 8,
    "ranking_1": 9,
    "ranking_2": 9,
    "reviewer_dashboard": 6,
    "finance_dashboard": 15,
}

# Deliberate changes made after the snapshots, removed from both sides.
LATER_FEATURES = [
    # The officer's table: « Seulement les dossiers complétés après un renvoi ».
    re.compile(
        r'\s*<div class="field field--checkbox"><input type="checkbox" id="filter-completes"'
        r".*?</div>",
        re.S,
    ),
    # The finance dashboard's work lists: anchors for the « À traiter » links.
    re.compile(r'(?<=<h2) id="(?:to-pay|due|recoveries)"'),
]

_MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("janv.", "janvier"),
            ("févr.", "février"),
            ("mars",),
            ("avr.", "avril"),
            ("mai",),
            ("juin",),
            ("juil.", "juillet"),
            ("août",),
            ("sept.", "septembre"),
            ("oct.", "octobre"),
            ("nov.", "novembre"),
            ("déc.", "décembre"),
        ],
        start=1,
    )
    for name in names
}
_FRENCH_DATE = re.compile(
    r"\b(\d{1,2})(?:er)? (" + "|".join(re.escape(m) for m in _MONTHS) + r")(?!\w) (\d{4})"
    r"(?:,? (?:à )?\d{1,2}[:h]\d{2}(?::\d{2})?)?"
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b")
_REFERENCE = re.compile(r"\b([A-Z]{2,5})-(\d{4})-(\d{4})\b")
_CSRF = re.compile(r'(name="_csrf_token" value=")[^"]*(")')
# The demo's documents are PDFs written at each load (their dates inside): their
# SHA-256, and the submitted content's hash that includes them, change with each load.
_DIGEST = re.compile(r"\b[0-9a-f]{64}\b|(?<=SHA-256 )[0-9a-f]{16}(?=…)")


def snapshot(name: str, backend: str) -> str:
    """The page as rendered before, on this database: ``postgresql/`` holds the pages
    whose rows PostgreSQL orders otherwise (files without a reference sort last there,
    first on SQLite: the same ORDER BY before and after the work)."""
    own = SNAPSHOTS / backend / f"{name}.html"
    return (own if own.exists() else SNAPSHOTS / f"{name}.html").read_text()


def _near(day: date, today: date) -> bool:
    return abs((day - today).days) <= 366


def normalise(html: str, today: date | None = None) -> str:
    today = today or date.today()
    found = re.search(r"<main\b.*?</main>", html, re.S)
    text = found.group(0) if found else html
    text = _CSRF.sub(r"\1‹csrf›\2", text)
    text = _DIGEST.sub("‹sha256›", text)
    for feature in LATER_FEATURES:
        text = feature.sub("", text)

    def french(m: re.Match) -> str:
        try:
            day = date(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1)))
        except ValueError:
            return m.group(0)
        return "‹now›" if _near(day, today) else m.group(0)

    def iso(m: re.Match) -> str:
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return m.group(0)
        return "‹now›" if _near(day, today) else m.group(0)

    def reference(m: re.Match) -> str:
        year = int(m.group(2))
        return f"{m.group(1)}-‹year›-{m.group(3)}" if abs(year - today.year) <= 1 else m.group(0)

    text = _FRENCH_DATE.sub(french, text)
    text = _ISO_DATE.sub(iso, text)
    return _REFERENCE.sub(reference, text)


def main(base: str) -> None:
    """Fetch PAGES from a server (of the old code) and write them normalised."""
    import httpx

    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    clients: dict[str, httpx.Client] = {}
    for name, (email, path) in PAGES.items():
        if email not in clients:
            http = clients[email] = httpx.Client(base_url=base)
            http.get("/connexion")
            http.post(
                "/connexion",
                data={
                    "email": email,
                    "password": PASSWORD,
                    "_csrf_token": http.cookies["guichet_csrf"],
                },
            )
        response = clients[email].get(path)
        assert response.status_code == 200, (path, response.status_code)
        (SNAPSHOTS / f"{name}.html").write_text(normalise(response.text))
        print(name, len(response.text))


if __name__ == "__main__":
    main(sys.argv[1])
