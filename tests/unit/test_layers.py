"""The layers, checked on the import graph (grimp): routes → services → tables inside
a domain, no domain importing another's routes, core importing no domain, and no
Litestar below the HTTP layer. Run on its own in CI (« layer contracts »)."""

from __future__ import annotations

import re
from functools import cache

import grimp
import pytest

DOMAINS = (
    "accounts",
    "organisations",
    "calls",
    "applications",
    "reviews",
    "decisions",
    "grants",
    "funders",
    "api",
    "site",
)
# The HTTP layer of a domain: its pages and what only pages use (guards, the objects a
# request is about, the session middleware, the device cookies of sign-in limits).
_HTTP = re.compile(
    r"^app\.(?P<domain>\w+)\.(routes|\w+_routes|pages|deps|guards|admin|sessions|lockout)(\.|$)"
)
_ENTRY_POINTS = re.compile(r"^app\.(main|cli|demo)(\.|$)")


@cache
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app", include_external_packages=True)


def imports() -> list[tuple[str, str]]:
    g = graph()
    return sorted(
        (importer, imported)
        for importer in g.modules
        if importer.startswith("app")
        for imported in g.find_modules_directly_imported_by(importer)
    )


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def is_http(module: str) -> bool:
    return bool(_HTTP.match(module))


def test_the_graph_sees_the_app():
    modules = graph().modules
    assert "app.core.db" in modules and "app.grants.services" in modules
    assert any(is_http(m) for m in modules) and len(imports()) > 500


def test_core_imports_no_domain():
    broken = [
        (a, b)
        for a, b in imports()
        if a.startswith("app.core")
        and b.startswith("app")
        and not (b.startswith("app.core") or b == "app.settings")
    ]
    assert broken == []


def test_no_domain_imports_another_domains_routes():
    broken = [
        (a, b)
        for a, b in imports()
        if re.match(r"^app\.\w+\.(routes|\w+_routes)(\.|$)", b)
        and not _ENTRY_POINTS.match(a)
        and domain_of(a) != domain_of(b)
    ]
    assert broken == []


@pytest.mark.parametrize("what", ["litestar", "the HTTP layer"])
def test_services_and_tables_stay_below_http(what):
    """Domain modules that are not pages (services, tables, states, models, rules) and
    the shared rules (permissions, quotas) import neither Litestar nor any page module."""
    below = [
        m
        for m in graph().modules
        if (domain_of(m) and not is_http(m)) or m in ("app.permissions", "app.quotas")
    ]
    broken = [
        (a, b)
        for a, b in imports()
        if a in below and ((b == "litestar") if what == "litestar" else is_http(b))
    ]
    assert broken == []


def test_tables_import_no_services():
    broken = [
        (a, b)
        for a, b in imports()
        if re.match(r"^app\.\w+\.tables$", a)
        and b.startswith("app.")
        and not (re.match(r"^app\.\w+\.tables$", b) or b.startswith("app.core"))
    ]
    assert broken == []
