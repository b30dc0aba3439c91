"""No CSP violation and no console error on any page type, for every demo role.

Each role signs in and follows the links from its home page, breadth first, and opens
in the browser one page of each type (the route that answers it: /dossiers/12 and
/dossiers/31 are one type). Links are read from the HTML the server sends (with
the browser's cookies), so a page type already opened by an earlier role is not
rendered again, but its links are still followed. Downloads are left out (no
document runs in them). Only GET requests: nothing in the shared demo changes.
htmx is exercised too: a boosted link from the home page, and the applications
table's live filter (a partial swapped in)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Watched
from tests.integration.test_route_matrix import MATRIX

PASSWORD = "demo-guichet-2026"

# role -> (account, page types its crawl must reach: proof the crawl went deep enough)
ROLES = {
    "porteur": (
        "porteur@demo.guichet.test",
        ["/dossiers/{app_id:int}", "/dossiers/{app_id:int}/decision"],
    ),
    "evaluation": ("evaluation@demo.guichet.test", ["/evaluation/{assignment_id:int}"]),
    "instruction": (
        "instruction@demo.guichet.test",
        [
            "/instruction/appels/{call_id:int}/dossiers",
            "/instruction/dossiers/{app_id:int}/decision",
        ],
    ),
    "finances": ("finances@demo.guichet.test", ["/finances", "/suivi/subventions/{grant_id:int}"]),
    "admin": ("admin@demo.guichet.test", ["/admin/utilisateurs/{user_id:int}", "/compte/api"]),
}
MAX_DEPTH = 4
MAX_FETCHES = 90  # per role
# Pages of one type whose links are followed: the files of a list differ (a draft, an
# awarded file with its decision page), and the lists' order differs between databases.
PER_TYPE = 3
# Page types opened in the browser by an earlier role of this run (keeps the file
# near a minute; each role still opens its home page and every type new to it).
CHECKED: set[str] = set()
# Not pages to open: the language switch changes a cookie; static files run nothing;
# the sign-in page is opened by every role.
SKIPPED = ("/langue", "/static/", "/connexion")
HREF = re.compile(r'<a\b[^>]*\bhref="([^"]+)"')


def _pattern(route: str) -> re.Pattern:
    parts = re.split(r"\{\w+:(int|str)\}", route)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else (r"\d+" if part == "int" else "[^/]+")
        for i, part in enumerate(parts)
    )
    return re.compile(regex + "$")


# The router's GET routes (the access matrix checks it lists them all), fixed paths
# first: a page's type is the route that answers it.
ROUTES = sorted(
    (route for method, route in MATRIX if method == "GET"), key=lambda r: (r.count("{"), r)
)
PATTERNS = [(route, _pattern(route)) for route in ROUTES]


def page_type(path: str) -> str:
    return next((route for route, pattern in PATTERNS if pattern.match(path)), path)


def fetch(page, base: str, path: str) -> list[str] | None:
    """The same-site paths a page links to, read from the HTML the server sends with
    the browser's cookies; None when the answer is not an HTML page (a download)."""
    response = page.request.get(base + path, max_redirects=0)
    if not (response.ok and response.headers.get("content-type", "").startswith("text/html")):
        return None
    paths = []
    for href in HREF.findall(response.text()):
        parts = urlsplit(html.unescape(href))
        if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(SKIPPED):
            continue
        paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


def assert_clean(watched: Watched, where: str) -> None:
    assert watched.csp_violations() == [], where
    assert watched.errors == [], where


def sign_in(watched: Watched, base: str, email: str) -> None:
    page = watched.page
    page.goto(base + "/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Vous êtes connecté·e.").wait_for()
    assert_clean(watched, "sign-in")


@pytest.mark.parametrize("role", list(ROLES))
def test_no_csp_violation_on_any_page_type(live_server, watched: Watched, role):
    email, must_reach = ROLES[role]
    page = watched.page
    sign_in(watched, live_server, email)

    # A boosted link: htmx swaps the next page into this one.
    page.goto(live_server + "/")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__sameDocument = true")
    link = page.get_by_role("navigation", name="Menu principal").get_by_role("link").last
    target = link.get_attribute("href")
    link.click()
    page.wait_for_url(live_server + target)  # pushed once the page is swapped in
    assert page.evaluate("window.__sameDocument === true"), "not a boosted navigation"
    assert_clean(watched, f"boosted {target}")

    page.goto(live_server + "/")
    assert_clean(watched, "/")
    queue = [(path, 1) for path in fetch(page, live_server, "/")]
    visits, opened, fetched = {"/": 1}, [], {"/"}
    while queue and len(fetched) < MAX_FETCHES:
        path, depth = queue.pop(0)
        kind = page_type(urlsplit(path).path)
        if visits.get(kind, 0) >= PER_TYPE or path in fetched:
            continue
        visits[kind] = visits.get(kind, 0) + 1
        fetched.add(path)
        links = fetch(page, live_server, path)
        if links is None:
            continue
        if kind not in CHECKED and visits[kind] == 1:
            page.goto(live_server + path)
            opened.append(path)
            assert_clean(watched, path)
        if depth < MAX_DEPTH:
            queue += [(link, depth + 1) for link in links]
    CHECKED.update(page_type(urlsplit(path).path) for path in opened)
    missing = [kind for kind in must_reach if kind not in visits]
    assert not missing, (missing, sorted(visits))

    table = next((p for p in opened if re.search(r"/instruction/appels/\d+/dossiers$", p)), None)
    if table:
        # The live filter: an htmx GET whose partial replaces the table's rows.
        page.goto(live_server + table)
        page.wait_for_function("window.htmx !== undefined")
        page.evaluate("window.__filtered = true")
        with page.expect_response(lambda r: "q=IDF" in r.url) as answer:
            page.locator("#filter-q").press_sequentially("IDF")
        assert answer.value.ok
        page.wait_for_url(re.compile(r"q=IDF"))  # pushed once the rows are swapped in
        assert page.evaluate("window.__filtered === true"), "the page was reloaded"
        assert_clean(watched, "applications filter")
    print(f"\n{role}: {len(opened)} page types opened", sorted(page_type(p) for p in opened))
