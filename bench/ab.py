"""A/B of some pages of ``bench.load`` in one run: this checkout against others, one
server each on the same dataset, their wrk runs alternated, each ratio to its own bare
page.

    python -m bench.ab --other /tmp/main [--pages file,table,reviewer] [--rounds 2]
    python -m bench.ab --variants kept_connections,session_rewrite,prepared,formatters,kept_parts

``--other`` is another checkout (e.g. ``git archive main | tar -x -C /tmp/main``);
``--variants`` are copies of this one with one item of issue 20 undone (VARIANTS: the
code as it was before that item, the rest as it is), so each item's gain is measured
alone. SQLite only (a temporary file); the others run with this one's Python.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import dataset, load

HERE = Path(__file__).resolve().parent.parent
PAGES = {
    "bare": lambda ids: "/connexion",
    "table": lambda ids: f"/instruction/appels/{ids['call']}/dossiers",
    "file": lambda ids: f"/instruction/dossiers/{ids['application']}",
    "reviewer": lambda ids: "/evaluation",
    "finance": lambda ids: "/finances",
    "ranking": lambda ids: f"/instruction/appels/{ids['call']}/classement",
}
WHO = {"table": "officer", "file": "officer", "ranking": "officer", "reviewer": "reviewer"}
# Issue 20's items undone one at a time: (file, the code as it is, as it was).
VARIANTS = {
    # 1. A new SQLite connection for every query (Piccolo's SQLiteEngine, as before).
    "kept_connections": (
        "app/core/db.py",
        "        return KeptSQLiteEngine(sqlite_path(url), readers=pool_size)",
        '        return SQLiteEngine(path=f"file:{sqlite_path(url)}?mode=rw", uri=True,'
        " timeout=SQLITE_BUSY_TIMEOUT_S)",
    ),
    # 2. The session written again on every request (seen_at changed each time).
    "session_rewrite": (
        "app/core/security.py",
        "if not scope.get(_ROTATE) and scope.get(_LOADED) == data:",
        "if False:",
    ),
    # 3. Hot queries built again at each run (Prepared compiles every time).
    "prepared": (
        "app/core/db.py",
        "compiled = self._compiled.get(engine_type)",
        "compiled = None",
    ),
    # 8. Amounts and date-times formatted by Babel at each call.
    "formatters": (
        "app/core/time.py",
        "    prepared = _compiled(tokens, babel)\n",
        "    prepared = None\n",
    ),
    # Pages kept rendered while their data versions stand (core.web.kept_part).
    "kept_parts": (
        "app/core/web.py",
        "    if seen is None:\n        html = await render_part()",
        "    if True:\n        html = await render_part()",
    ),
    # Litestar's own url_for (its routes looked up and sorted at every call).
    "url_for": (
        "app/main.py",
        '    engine.register_template_callable("url_for", url_for)\n',
        "",
    ),
    # Templates stat'ed at every render (Jinja's default).
    "auto_reload": ("app/core/templating.py", "        auto_reload=False,\n", ""),
}
VARIANT_ALSO = {
    "formatters": (
        "app/core/money.py",
        "    return _currency_layout(str(locale) if locale else babel_code()).apply(cents)",
        '    return format_currency(to_decimal(cents), "EUR", locale=locale or babel_code())',
    ),
}


def variant(name: str, into: Path) -> Path:
    """A copy of this checkout with VARIANTS[name] undone (its compiled translations
    too); fails if the code it changes is no longer there."""
    target = into / name
    shutil.copytree(
        HERE, target, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.sqlite3")
    )
    for path, now, before in filter(None, (VARIANTS[name], VARIANT_ALSO.get(name))):
        file = target / path
        text = file.read_text()
        if text.count(now) != 1:
            raise SystemExit(f"variant {name}: {path} no longer has {now!r}")
        file.write_text(text.replace(now, before))
    return target


@contextlib.contextmanager
def server(checkout: Path, url: str, data_dir: Path):
    port = load._free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": url, "GUICHET_DATA_DIR": str(data_dir)}
    env["GUICHET_ENV"] = "development"
    env.pop("REDIS_URL", None)
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"],
        cwd=checkout,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--other", type=Path, action="append", default=[])
    parser.add_argument("--variants", default="", help=", ".join(VARIANTS))
    parser.add_argument("--pages", default="file,table,reviewer")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--database", type=Path, help="a copy of a dataset already built")
    parser.add_argument("--pause", type=float, help="seconds between runs, not drain()")
    parser.add_argument("--json", type=Path, help="write the medians there too")
    args = parser.parse_args()
    load.DURATION_S = args.seconds
    if args.pause is not None:
        load.drain = lambda base: time.sleep(args.pause)
    pages = ["bare", *args.pages.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        if args.database:
            shutil.copyfile(args.database, f"{tmp}/bench.sqlite3")
            with sqlite3.connect(f"{tmp}/bench.sqlite3") as conn:
                call = conn.execute("SELECT min(id) FROM call").fetchone()[0]
                first = conn.execute("SELECT min(id) FROM application").fetchone()[0]
            conn.close()
            ids = {"call": call, "application": first + dataset.GRANTS}
        else:
            ids, _ = asyncio.run(dataset.build(url))
        checkouts = {"this": HERE}
        checkouts.update({str(path): path for path in args.other})
        for name in filter(None, args.variants.split(",")):
            checkouts[name] = variant(name, Path(tmp))
        if len(checkouts) < 2:
            parser.error("--other or --variants")
        results: dict = {name: {page: [] for page in pages} for name in checkouts}
        with contextlib.ExitStack() as stack:
            bases = {
                name: stack.enter_context(server(path, url, Path(tmp) / f"data-{n}"))
                for n, (name, path) in enumerate(checkouts.items())
            }
            cookies = {
                name: {
                    "officer": load.sign_in(base, dataset.OFFICER),
                    "reviewer": load.sign_in(base, dataset.REVIEWER),
                    "finance": load.sign_in(base, dataset.FINANCE),
                }
                for name, base in bases.items()
            }
            for _ in range(args.rounds):
                for page in pages:
                    for name, base in bases.items():
                        load.drain(base)
                        who = WHO.get(page, "finance") if page != "bare" else None
                        cookie = cookies[name][who] if who else ""
                        results[name][page].append(load.wrk(base + PAGES[page](ids), cookie))
    summary = {}
    for name, by_page in results.items():
        bare = statistics.median(r["rps"] for r in by_page["bare"])
        summary[name] = {
            page: {
                "rps": round(statistics.median(r["rps"] for r in runs), 1),
                "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "ratio_to_bare": round(statistics.median(r["rps"] for r in runs) / bare, 3),
                "non_2xx": sum(r["non_2xx"] for r in runs),
            }
            for page, runs in by_page.items()
        }
    print(json.dumps(summary, indent=2))
    for other in (name for name in summary if name != "this"):
        print(f"--- this against {other}")
        for page in pages:
            a, b = summary[other][page], summary["this"][page]
            print(
                f"{page:10} {other[:16]:16} {a['rps']:8.1f}/s p50 {a['p50_ms']:6.0f} ms ratio {a['ratio_to_bare']:.3f}"
                f"  | this {b['rps']:8.1f}/s p50 {b['p50_ms']:6.0f} ms ratio {b['ratio_to_bare']:.3f}"
                f"  | × {b['rps'] / a['rps'] if a['rps'] else float('inf'):.2f}"
            )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
