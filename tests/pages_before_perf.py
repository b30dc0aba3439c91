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
its change normalised narrowly there (on both sides: the snapshot is normalised again
when read), not new snapshots from today's code. A page rewritten so much that its
HTML is no longer comparable (the finance dashboard) is compared by what it shows
instead (REWRITTEN): every figure of the old page under the same label, and the
parts of it left as they were still as HTML.
"""

from __future__ import annotations

import difflib
import re
import sys
from datetime import date
from html import unescape
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
# counted as tests.factories.QueryCounter counts them); today, rendered: 5, 5, 7, 9, 9,
# 5, 15 (each reads its data versions first), and 2 or 3 when kept (core.web.kept_part).
QUERIES_BEFORE = {
    "officer_table_1": 5,
    "officer_table_2": 5,
    "file_1": 8,
    "ranking_1": 9,
    "ranking_2": 9,
    "reviewer_dashboard": 6,
    "finance_dashboard": 15,
}

# Deliberate changes made after the snapshots, normalised on both sides: (pattern,
# replacement), each as narrow as the change so that any other change still shows.
LATER_FEATURES: list[tuple[re.Pattern[str], str]] = [
    # The officer's table: « Seulement les dossiers complétés après un renvoi ».
    (
        re.compile(
            r'\s*<div class="field field--checkbox"><input type="checkbox" id="filter-completes"'
            r".*?</div>",
            re.S,
        ),
        "",
    ),
    # The officer's table (screening): « Tout sélectionner / Ne rien sélectionner ».
    (
        re.compile(
            r'\s*<span class="select-bar">\s*<button type="submit" name="select" value="all"'
            r'[^>]*>[^<]*</button>\s*<button type="submit" name="select" value="none"'
            r"[^>]*>[^<]*</button>\s*</span>"
        ),
        "",
    ),
    # The ranking (committee work): the compact table and its « au-delà de l’enveloppe ».
    (re.compile(r'<table class="table table--compact ranking">'), '<table class="table">'),
    (re.compile(r'<span class="muted small ranking__over">'), '<span class="muted">'),
    # The spread's cell, styled so that « désaccord » goes under the figure (look pass).
    (re.compile(r'<td class="num ranking__spread">'), '<td class="num">'),
    # The ranking's reviewer filter: the demo's user ids (two staff accounts,
    # instruction-cvl@ and finances-cvl@, are now created before the reviewers), the
    # id replaced by the name it shows.
    (
        re.compile(
            r'<option value="\d+">([^<]+)</option>(?=(?:<option value="\d+">[^<]*</option>)*</select></div>\s*<div class="field"><label class="field__label" for="rank-sort">)'
        ),
        r'<option value="‹\1›">\1</option>',
    ),
    # The finance dashboard's work lists: anchors for the « À traiter » links.
    (re.compile(r'(?<=<h2) id="(?:to-pay|due|recoveries)"'), ""),
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
    # Normalised again: LATER_FEATURES may replace (the ranking's reviewer ids) what
    # the snapshot holds as it was rendered; the rest of normalise changes nothing there.
    return normalise((own if own.exists() else SNAPSHOTS / f"{name}.html").read_text())


def _near(day: date, today: date) -> bool:
    return abs((day - today).days) <= 366


def normalise(html: str, today: date | None = None) -> str:
    today = today or date.today()
    found = re.search(r"<main\b.*?</main>", html, re.S)
    text = found.group(0) if found else html
    text = _CSRF.sub(r"\1‹csrf›\2", text)
    text = _DIGEST.sub("‹sha256›", text)
    for feature, replacement in LATER_FEATURES:
        text = feature.sub(replacement, text)

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


# Pages rewritten on purpose so much since that their HTML is no longer comparable:
# name -> the function giving what they show, compared figure by figure instead.
# The finance dashboard (per funder and per call reworked: reductions, « à reverser »,
# « reste à engager », percentages to one decimal, a labelled monthly chart with its
# table shown, the payment batches' link) keeps its filters and its work lists as HTML
# (``page``: the <main> without the totals, the table and the charts), and every
# figure the old page showed must be shown again under the same label: each total,
# each cell of the table by funder and call under the same row and column, the
# paid amount of each call, the months paid and what was paid over them all. The
# monthly split itself is not compared: the demo's 2017 September payment batch (a
# later feature) dates its payments by value date.
# Nor the calls chart's percentage: it was paid over committed (« 32 % »), it is now
# paid over due (committed less reductions, « 33,1 % »); its paid amount is compared.
_AMOUNT = re.compile(r"-?\d{1,3}(?:[ \u00a0\u202f]\d{3})*,\d{2}[ \u00a0\u202f]€")
_TAG = re.compile(r"<[^>]+>")
_MONTH_ISO = re.compile(r"^(\d{4})-(\d{2})$")
_MONTH_FRENCH = re.compile(r"^(\S+) (\d{4})$")


def _text(html: str) -> str:
    return " ".join(unescape(_TAG.sub(" ", html)).split())


def _cents(amount: str) -> int:
    return int(re.sub(r"[^\d-]", "", amount))


def _month(label: str) -> str:
    iso = _MONTH_ISO.match(label)
    if iso:
        return label
    french = _MONTH_FRENCH.match(label)
    assert french and french.group(1) in _MONTHS, label
    return f"{french.group(2)}-{_MONTHS[french.group(1)]:02d}"


def finance_figures(main: str) -> dict[str, str]:
    """What the (normalised) finance dashboard shows: label -> value."""
    totals = re.search(r'<div class="totals">.*?</dl>\s*</div>\n', main, re.S)
    charts = re.search(r'<div class="columns columns--even">.*?</figure>\n</div>\n', main, re.S)
    table = re.search(r"<h2>Par financeur et par appel</h2>.*?</table>\s*</div>\n", main, re.S)
    assert totals and charts and table, "the finance dashboard's sections moved"
    figures = {"page": main.replace(totals.group(0), "").replace(charts.group(0), "")}
    figures["page"] = figures["page"].replace(table.group(0), "")
    figures["page"] = re.sub(
        r'<p><a class="button button--secondary" href="/finances/lots">'
        r"[^<]*</a></p>",
        "",
        figures["page"],
    )
    for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", totals.group(0), re.S):
        figures[f"totals / {_text(dt)}"] = _AMOUNT.search(dd).group(0)
    head = re.search(r"<thead>(.*?)</thead>", table.group(0), re.S).group(1)
    columns = [_text(h) for h in re.findall(r"<th\b[^>]*>(.*?)</th>", head, re.S)]
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(0), re.S).group(1)
    for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", body, re.S):
        label = _text(re.search(r"<th\b[^>]*>(.*?)</th>", row, re.S).group(1))
        cells = [_text(c) for c in re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S)]
        for column, cell in zip(columns[1:], cells, strict=True):
            figures[f"{label} / {column}"] = cell
    months = re.search(r'id="chart-months-table".*?<tbody>(.*?)</tbody>', charts.group(0), re.S)
    paid = re.findall(r"<tr><t[hd]\b[^>]*>(.*?)</t[hd]><td[^>]*>(.*?)</td></tr>", months.group(1))
    figures["months paid"] = ", ".join(_month(_text(m)) for m, _ in paid)
    figures["months paid / total in cents"] = str(sum(_cents(a) for _, a in paid))
    calls = re.search(r'<ul id="chart-calls-list"[^>]*>(.*?)</ul>', charts.group(0), re.S)
    for item in re.findall(r"<li>(.*?)</li>", calls.group(1), re.S):
        name, amounts = _text(item).rsplit(" : ", 1)
        figures[f"paid, call {name}"] = _AMOUNT.search(amounts).group(0)
    return figures


# name -> (figures of the page, the old figures no longer shown on purpose, each named).
REWRITTEN = {
    "finance_dashboard": (
        finance_figures,
        {
            # The table by funder and call: « Reversé » (recovered) gave way to « À
            # reverser » (to recover); the totals still show « Reversé ».
            "Région Île-de-France / Reversé",
            "Le numérique au service de la formation professionnelle (19 subventions) / Reversé",
            "Région Centre-Val de Loire / Reversé",
            "Compétences numériques et insertion des jeunes (0 subvention) / Reversé",
        },
    ),
}


def differences(name: str, before: str, today: str) -> list[str]:
    """What today's (normalised) page no longer shows as before: for a REWRITTEN page,
    each old figure missing or changed; otherwise the lines of the HTML diff."""
    if name not in REWRITTEN:
        if today == before:
            return []
        return list(
            difflib.unified_diff(
                before.splitlines(), today.splitlines(), "before", "today", lineterm=""
            )
        )
    figures, dropped = REWRITTEN[name]
    old, new = figures(before), figures(today)
    missing = dropped - old.keys()
    assert not missing, ("dropped figures the old page did not show", missing)
    return [
        f"{label}: before {value!r}, today {new.get(label)!r}"
        for label, value in old.items()
        if label not in dropped and new.get(label) != value
    ]


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
