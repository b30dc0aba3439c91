"""Browser tests: a real server (the `guichet` command) and headless Chromium.

Skipped with a clear reason when /usr/bin/chromium is absent, unless
REQUIRE_BROWSER=1 (as in .ci/run), where that is a failure."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import in_own_loop

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# How long background work of the live server (letter batches, the outbox's sender) may
# take before a test fails. A bound, not a wait: each wait ends as soon as the state it
# waits for is reached; a busy CI machine only makes it take longer.
BACKGROUND_S = float(os.environ.get("E2E_BACKGROUND_S", "180"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Records CSP violations from the very start of each page (before any page script).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    url: str
    data_dir: Path
    database_url: str

    def sql(self, statement: str, *args) -> None:
        """Change the server's database directly (e.g. let a deadline pass)."""
        if self.database_url.startswith("sqlite:"):
            import sqlite3

            with sqlite3.connect(self.database_url.removeprefix("sqlite:///")) as conn:
                conn.execute(statement.replace("$1", "?").replace("$2", "?"), args)
            return
        import asyncpg

        async def run():
            conn = await asyncpg.connect(self.database_url)
            try:
                await conn.execute(statement, *args)
            finally:
                await conn.close()

        in_own_loop(run())

    def emails_to(
        self, address: str, subject: str = "", timeout_s: float = BACKGROUND_S
    ) -> list[EmailMessage]:
        """The messages the server's outbox sender wrote for ``address`` (.eml files)
        whose subject starts with ``subject``, waiting until there is one."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = []
            for path in sorted(
                (self.data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime
            ):
                message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
                if message["To"] == address and message["Subject"].startswith(subject):
                    found.append(message)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.3)

    def link_in(self, message: EmailMessage) -> str:
        text = message.get_body(preferencelist=("plain",)).get_content()
        match = re.search(r"https?://[^/\s]+(/\S+)", text)
        assert match, text
        return self.url + match.group(1)


# One per live server (the demo, the demo before the committee, the production one, the
# untouched demo of « Mon espace », the demo sending by SMTP, the committee of 300 files);
# 10-13 belong to other tests, 11 to the bench.
_redis_databases = iter((14, 15, 9, 8, 7, 6))


def _own_redis_database(url: str) -> str:
    """Each live server gets an emptied Redis database of its own (14, 15, 9, 8), so that
    rate-limit counts of one server never spill into another's tests."""
    import redis

    parts = urlsplit(url)
    own = urlunsplit(parts._replace(path=f"/{next(_redis_databases)}"))
    client = redis.Redis.from_url(own)
    try:
        client.flushdb()
    finally:
        client.close()
    return own


PRODUCTION_SECRET_KEY = "e2e-production-secret-key-" + "p" * 32  # nosec B105


def _live(
    databases,
    tmp_path_factory,
    *demo_args: str,
    production: bool = False,
    extra_env: dict[str, str] | None = None,
    fill: list[str] | None = None,
):
    """A server as deployed by `guichet serve`. In .ci/run's last step it runs as
    WORKERS=2 with REDIS_URL, over PostgreSQL: the browser tests then pass through two
    workers sharing sessions and rate limits in Redis.

    ``production``: served with GUICHET_ENV=production (Secure cookies, HSTS,
    STAFF_MFA=required by default) on http://127.0.0.1, after the demo was loaded as
    in development (it is refused in production). ``extra_env``: more settings (e.g.
    SMTP_URL). ``fill``: a command that fills the empty database instead of the demo
    (run with the server's settings)."""
    data_dir = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": databases.fresh_url(),
        "GUICHET_DATA_DIR": str(data_dir),
        "GUICHET_ENV": "development",
        "PORT": str(port),
        **(extra_env or {}),
    }
    for name in ("STAFF_MFA", "ALLOWED_HOSTS", "GUICHET_BASE_URL"):
        env.pop(name, None)
    if production:
        env["SECRET_KEY"] = PRODUCTION_SECRET_KEY
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = _own_redis_database(os.environ["REDIS_URL"])
    demo = subprocess.run(
        fill or [sys.executable, "-m", "app.cli", "demo", "--if-empty", *demo_args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    if production:
        env.update(GUICHET_ENV="production", ALLOWED_HOSTS="127.0.0.1", GUICHET_BASE_URL=base)
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail("server did not start:\n" + Path(log.name).read_text())
        time.sleep(0.2)
    yield Live(url=base, data_dir=data_dir, database_url=env["DATABASE_URL"])
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="session")
def live(databases, tmp_path_factory):
    """The demo as `make run` shows it."""
    yield from _live(databases, tmp_path_factory)


@pytest.fixture(scope="session")
def live_before_committee(databases, tmp_path_factory):
    """The demo with the 2017 call's files submitted, not yet screened."""
    yield from _live(databases, tmp_path_factory, "--before-committee")


@pytest.fixture(scope="session")
def live_production(databases, tmp_path_factory):
    """The demo served with GUICHET_ENV=production."""
    yield from _live(databases, tmp_path_factory, production=True)


@pytest.fixture(scope="session")
def live_server(live) -> str:
    return live.url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Watched:
    """A page that remembers console errors and CSP violations, and runs axe."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.add_init_script(CSP_WATCH)

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []")

    def serious_accessibility_violations(self) -> list[str]:
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.csp_violations() == []
        assert self.serious_accessibility_violations() == []


@pytest.fixture
def watched(browser, request):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    yield Watched(page)
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        # Keep what the browser showed when the test failed.
        shots = Path(os.environ.get("E2E_SCREENSHOTS", "var/e2e-screenshots"))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
