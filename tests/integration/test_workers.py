"""Two app workers over PostgreSQL and Redis, as deployed: sessions and rate limits in
Redis serve either worker, the two outbox senders send an e-mail once, and SIGTERM
lets the server stop cleanly. Runs in the PostgreSQL run (TEST_DATABASE_URL) when
Redis answers on 127.0.0.1:6379."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL, redis_answers

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


pytestmark = pytest.mark.skipif(
    not PG_URL or not redis_answers(), reason="needs PostgreSQL (TEST_DATABASE_URL) and Redis"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _empty_redis_database() -> None:
    """Database 13 is this test's own: rate-limit counts of earlier runs go."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def test_two_workers_share_sessions_send_once_and_stop_cleanly(databases, tmp_path):
    _empty_redis_database()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": databases.fresh_url(),
        "GUICHET_DATA_DIR": str(tmp_path),
        "GUICHET_ENV": "development",
        "REDIS_URL": REDIS_URL,
    }
    made = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-admin", "--email", "deux@example.fr",
         "--name", "Deux Workers", "--password-stdin"],
        input="un mot de passe assez long\n", env=env, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.3)
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) >= 2, children  # two workers under the supervisor

        with httpx.Client(base_url=base, follow_redirects=False) as http:
            http.get("/connexion")
            token = http.cookies["guichet_csrf"]
            signed = http.post(
                "/connexion",
                data={"email": "deux@example.fr", "password": "un mot de passe assez long",
                      "_csrf_token": token},
            )  # fmt: skip
            assert signed.status_code == 303, signed.text[:300]
            # Whichever worker answers, the session (in Redis) is the same.
            statuses = {http.get("/compte").status_code for _ in range(30)}
            assert statuses == {200}
            # Signing in gave a new CSRF token (the one from before no longer works).
            token = http.cookies["guichet_csrf"]
            asked = http.post(
                "/mot-de-passe-oublie", data={"email": "deux@example.fr", "_csrf_token": token}
            )
            assert asked.status_code in (200, 303)
        # Two outbox senders, one e-mail.
        outbox = tmp_path / "outbox"
        deadline = time.monotonic() + 30
        while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.3)
        time.sleep(3)  # time for a second (wrong) send, if the claim did not hold
        assert len(list(outbox.glob("*.eml"))) == 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            server.kill()
            code = None
        log.close()
    assert code == 0, Path(log.name).read_text()[-2000:]
