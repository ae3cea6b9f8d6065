"""Rate limits that hold in production: several web processes share one count (Redis), and
behind a configured proxy each citizen's own address is counted, not the proxy's."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from queue_app.app import create_app
from queue_app.cli import main
from queue_app.clock import FixedClock
from queue_app.web.extensions import db
from tests.conftest import TUESDAY_MORNING, needs_postgresql

REDIS = "redis://127.0.0.1:6379/15"
APPOINTMENTS = "/api/v1/branches/cairo-civil/appointments"
PER_MINUTE = 10  # queue_app/api/appointments.py


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str) -> int:
    request = urllib.request.Request(
        url, data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_several_web_processes_without_shared_counts_refuse_to_start(tmp_path: Path):
    env = {"QUEUE_DATABASE_URL": f"sqlite:///{tmp_path / 'q.sqlite3'}"}
    result = CliRunner().invoke(main, ["serve", "--port", "1", "--workers", "2"], env=env)
    assert result.exit_code == 2
    assert "QUEUE_RATE_LIMIT_STORAGE=redis://" in result.stderr
    assert "Traceback" not in result.output


@needs_redis
@needs_postgresql
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_two_web_processes_count_one_limit(app, make_branch, tmp_path: Path, db_kind):
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    make_branch()
    db.session.commit()
    port = _free_port()
    env = {
        **os.environ,
        "QUEUE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "QUEUE_INSTANCE_PATH": str(tmp_path / "instance"),
        "QUEUE_SECRET_KEY": "shared-limits-test",
        "QUEUE_RATE_LIMIT_STORAGE": REDIS,
    }
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "queue_app", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        # Fresh connections, so that both processes take some of them.
        statuses = [_post(base + APPOINTMENTS) for _ in range(PER_MINUTE + 6)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert statuses.count(429) == 6, statuses
    assert all(status == 422 for status in statuses[:PER_MINUTE]), statuses


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_behind_a_trusted_proxy_each_citizen_has_their_own_limit(settings, migrated, db_kind):
    behind_nginx = dataclasses.replace(settings(migrated("sqlite")), trusted_proxies=1)
    proxied = create_app(behind_nginx, clock=FixedClock(TUESDAY_MORNING))
    client = proxied.test_client()
    nginx = {"REMOTE_ADDR": "10.0.0.2"}

    def post(citizen: str) -> int:
        return client.post(
            APPOINTMENTS, json={}, environ_base=nginx, headers={"X-Forwarded-For": citizen}
        ).status_code

    first = [post("41.33.0.1") for _ in range(PER_MINUTE + 1)]
    assert first[-1] == 429
    assert post("41.33.0.2") != 429  # another citizen behind the same proxy


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_without_a_trusted_proxy_a_forged_header_changes_nothing(client, db_kind):
    statuses = [
        client.post(APPOINTMENTS, json={}, headers={"X-Forwarded-For": f"41.33.0.{n}"}).status_code
        for n in range(PER_MINUTE + 1)
    ]
    assert statuses[-1] == 429
