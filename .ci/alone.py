"""Single tests alone: a random sample of the non-browser tests, each run as its own
pytest process, so that a test passing only because an earlier one set the state up
fails here.

    .venv/bin/python .ci/alone.py              # 30 tests, a random seed
    ALONE_SEED=1234 .venv/bin/python .ci/alone.py   # the same sample again
    .venv/bin/python .ci/alone.py --count 80 --jobs 2
    .venv/bin/python .ci/alone.py 'tests/x/test_y.py::test_z'   # just these ids

Prints the seed, each test's result and time, and at the end the failing ids with the
command that re-runs one of them. Exit status 1 when any failed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
TIMEOUT_S = 600


def collect() -> list[str]:
    listing = subprocess.run(  # noqa: S603  # this interpreter's pytest
        [*PYTEST, "--collect-only", "-q", "-m", "not e2e"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    ids = [line for line in listing.stdout.splitlines() if "::" in line]
    if listing.returncode != 0 or not ids:
        sys.exit(f"collection failed:\n{listing.stdout[-3000:]}\n{listing.stderr[-3000:]}")
    return ids


def run_alone(test_id: str) -> tuple[str, bool, float, str]:
    started = time.monotonic()
    try:
        result = subprocess.run(  # noqa: S603  # this interpreter's pytest, a collected id
            [*PYTEST, "-q", "--show-capture=no", test_id],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        passed, output = result.returncode == 0, result.stdout + result.stderr
    except subprocess.TimeoutExpired as timeout:
        passed, output = False, f"timed out after {TIMEOUT_S}s\n{timeout.stdout or ''}"
    return test_id, passed, time.monotonic() - started, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="run these test ids instead of a sample")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()

    if options.ids:
        sample = options.ids
    else:
        seed = int(os.environ.get("ALONE_SEED") or random.SystemRandom().randrange(10**6))
        ids = collect()
        sample = random.Random(seed).sample(  # noqa: S311  # a sample, not a secret
            ids, min(options.count, len(ids))
        )
        print(f"ALONE_SEED={seed}: {len(sample)} of {len(ids)} tests, each alone", flush=True)

    started = time.monotonic()
    failed: list[str] = []
    with ThreadPoolExecutor(options.jobs) as pool:
        for test_id, passed, seconds, output in pool.map(run_alone, sample):
            print(f"{'ok  ' if passed else 'FAIL'} {seconds:5.1f}s {test_id}", flush=True)
            if not passed:
                failed.append(test_id)
                print("    " + "\n    ".join(output.strip().splitlines()[-30:]), flush=True)
    elapsed = time.monotonic() - started
    print(f"\n{len(sample) - len(failed)} of {len(sample)} passed alone in {elapsed:.0f}s")
    if failed:
        print("Failed when run alone:")
        for test_id in failed:
            print(f"  {test_id}")
        print(f"Re-run one: .venv/bin/pytest -q -p no:cacheprovider '{failed[0]}'")
        if not options.ids:
            print(f"Re-run the sample: ALONE_SEED={seed} make alone")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
