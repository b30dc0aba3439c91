"""The CI dependency audit (.ci/audit_latest.py) fails on an advisory and names what it
could not audit. PyPI's project pages are given here as data: the network is not ours."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "audit_latest", Path(__file__).parents[2] / ".ci" / "audit_latest.py"
)
audit_latest = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit_latest)

PAGES = {
    "safe": {"info": {"version": "2.0"}, "vulnerabilities": []},
    "old": {"info": {"version": "3.0"}, "vulnerabilities": []},
    "flawed": {
        "info": {"version": "1.0"},
        "vulnerabilities": [
            {"id": "PYSEC-1", "aliases": ["CVE-1", "GHSA-1"], "fixed_in": []},
            {"id": "GHSA-1", "aliases": ["CVE-1", "PYSEC-1"], "fixed_in": []},
            {"id": "PYSEC-2", "aliases": [], "fixed_in": ["1.1"], "withdrawn": "2024-01-01"},
        ],
    },
}


def lock(tmp_path, text):
    path = tmp_path / "requirements.lock"
    path.write_text(text)
    return str(path)


def test_a_clean_lock_passes_and_names_pins_behind_the_latest(tmp_path, capsys):
    path = lock(tmp_path, "# pinned\nsafe==2.0\nold==2.5 ; python_version >= '3.11'\n")
    assert audit_latest.main(path, fetch=PAGES.__getitem__) == 0
    out = capsys.readouterr().out
    assert "audited against PyPI's advisories: 1 pins" in out
    assert "old==2.5 (latest 3.0)" in out


def test_an_advisory_fails_once_per_flaw_and_withdrawn_ones_are_ignored(tmp_path, capsys):
    assert audit_latest.main(lock(tmp_path, "safe==2.0\nflawed==1.0\n"), PAGES.__getitem__) == 1
    out = capsys.readouterr().out
    assert "KNOWN VULNERABILITIES (1)" in out
    assert "flawed==1.0: PYSEC-1 / CVE-1 / GHSA-1 (fixed in: no fix released)" in out
    assert "PYSEC-2" not in out


def test_nothing_audited_fails(tmp_path, capsys):
    def unreachable(name):
        raise TimeoutError("no answer")

    assert audit_latest.main(lock(tmp_path, "safe==2.0\n"), unreachable) == 1
    assert "safe==2.0 (no answer)" in capsys.readouterr().out
