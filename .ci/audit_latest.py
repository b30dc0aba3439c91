"""Known-vulnerability check of the locked dependencies where pip-audit cannot run.

pip-audit asks PyPI for each pinned version (``/pypi/<name>/<version>/json``). The
build machine's package mirror answers that with 404, but it does serve each project's
own page (``/pypi/<name>/json``), whose ``vulnerabilities`` are PyPI's advisories
against the project's latest release. So a pin that is the latest release is audited
for real; a pin behind it cannot be, and is named as such (``make lock`` brings pins
to the latest allowed release). Exit 1 on any advisory, or when no pin could be audited.

Usage: python .ci/audit_latest.py .ci/requirements.lock
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

PYPI = "https://pypi.org/pypi/{}/json"


def pins(lock_path: str) -> list[tuple[str, str]]:
    found = []
    with open(lock_path, encoding="utf-8") as lock:
        for line in lock:
            line = line.split("#", 1)[0].strip()
            if line and "==" in line:
                name, version = line.split("==", 1)
                found.append((name.strip(), version.split(";", 1)[0].strip()))
    return found


def project(name: str) -> dict:
    with urllib.request.urlopen(PYPI.format(name), timeout=20) as response:  # noqa: S310  # fixed https URL
        return json.load(response)


def main(lock_path: str, fetch=project) -> int:
    audited, behind, unknown, advisories = [], [], [], []
    for name, version in pins(lock_path):
        try:
            page = fetch(name)
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            unknown.append(f"{name}=={version} ({error})")
            continue
        latest = page["info"]["version"]
        if latest != version:
            behind.append(f"{name}=={version} (latest {latest})")
            continue
        audited.append(name)
        seen: set[str] = set()  # PyPI lists one flaw under each database's id (PYSEC, GHSA)
        for advisory in page.get("vulnerabilities") or []:
            if advisory.get("withdrawn") or advisory["id"] in seen:
                continue
            seen.update([advisory["id"], *advisory.get("aliases", [])])
            fixed = ", ".join(advisory.get("fixed_in") or []) or "no fix released"
            ids = " / ".join([advisory["id"], *advisory.get("aliases", [])])
            advisories.append(f"{name}=={version}: {ids} (fixed in: {fixed})")

    print(f"audited against PyPI's advisories: {len(audited)} pins (each the latest release)")
    if behind:
        print(f"not audited, behind the latest release ({len(behind)}; `make lock` updates):")
        print("\n".join(f"  {line}" for line in behind))
    if unknown:
        print(f"not audited, no answer from PyPI ({len(unknown)}):")
        print("\n".join(f"  {line}" for line in unknown))
    if advisories:
        print(f"KNOWN VULNERABILITIES ({len(advisories)}):")
        print("\n".join(f"  {line}" for line in advisories))
    return 1 if advisories or not audited else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
