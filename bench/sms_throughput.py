"""SMS from the outbox to a Twilio-compatible server on loopback, against the bare client.

For each database (SQLite, PostgreSQL), in one run:

1. **bare**: the real ``twilio`` client sending ``--messages`` messages in one loop, one after
   the other, to the stand-in (tests/sms/twilio_server.py, in a process of its own): the floor.
2. **1 worker** and **2 workers**: the same number of messages written to the outbox, then sent
   by that many ``queue-app worker`` processes (rate set far above what they reach, so the pace
   does not limit them). Throughput is measured between the first and the last ``sent_at``.
3. **latency**: with one worker idle, ``--latency-messages`` single messages are committed one
   at a time; each one's time from its commit to ``sent_at`` (the provider took it).

Throughputs are reported as ratios to the bare loop of the same run (target: at least 0.9).

    python -m bench.sms_throughput [--db sqlite|postgresql|both] [--messages 2000]
                                   [--latency-messages 50] [--json out.json]

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``)
is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bench.serve_load import postgresql_url, reset_postgresql
from queue_app import migrate, outbox
from queue_app.models import Message, MessageStatus
from queue_app.settings import normalise_database_url

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
SENDER = "+15005550006"
WORKER = [sys.executable, "-c", "from queue_app.cli import main; main()", "worker"]
TARGET_RATIO = 0.9


class _ToStandIn(TwilioHttpClient):
    """Twilio's HTTP client with every request sent to the stand-in instead of Twilio's host."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=10)
        self._base = urlsplit(base)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


@contextmanager
def stand_in() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sms.twilio_server", ACCOUNT_SID, AUTH_TOKEN],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def body(n: int) -> str:
    # A realistic Arabic message of two UCS-2 segments.
    return f"عطل: موعدك الثلاثاء ٢٩ سبتمبر ١٢:٣٠ م\n١ تأكيد ٢ تغيير ٠ إلغاء\nhttps://q.example.gov.eg/t/{n:032d}"


def recipient(n: int) -> str:
    return f"+2010{n:08d}"


def bare_loop(base: str, messages: int, offset: int) -> float:
    """Messages per second of the plain client in one loop."""
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=_ToStandIn(base))
    for n in range(20):  # warm the connection
        client.messages.create(to=recipient(n), from_=SENDER, body=body(n))
    start = time.perf_counter()
    for n in range(offset, offset + messages):
        client.messages.create(to=recipient(n), from_=SENDER, body=body(n))
    return messages / (time.perf_counter() - start)


def fill(engine: Engine, messages: int, offset: int) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        for n in range(offset, offset + messages):
            outbox.enqueue(
                session,
                now,
                ticket=None,
                event=f"bench-{n}",
                to=recipient(n),
                locale="ar",
                body=body(n),
            )
        session.commit()


def count_sent(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(Message.status == MessageStatus.SENT)) or 0


def worker_env(url: str, base: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "QUEUE_DATABASE_URL": url,
        "QUEUE_INSTANCE_PATH": str(tmp),
        "QUEUE_SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_BASE": base,
        "QUEUE_SMS_RATE": "100000",
    }


@contextmanager
def workers(count: int, env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("a") as out:
        processes = [
            subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)
            for _ in range(count)
        ]
        try:
            yield
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=30)


def wait_sent(engine: Engine, expected: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while count_sent(engine) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"not all messages were sent in {timeout} s:\n{log.read_text()}")
        time.sleep(0.05)


def outbox_rate(engine: Engine, first_id: int) -> float:
    with Session(engine) as session:
        first, last, n = session.execute(
            select(func.min(Message.sent_at), func.max(Message.sent_at), func.count()).where(
                Message.id >= first_id
            )
        ).one()
    return (n - 1) / (last - first).total_seconds()


def next_id(engine: Engine) -> int:
    with Session(engine) as session:
        return (session.scalar(select(func.max(Message.id))) or 0) + 1


def run_one(kind: str, url: str, messages: int, latency_messages: int) -> dict[str, Any]:
    migrate.upgrade(url)
    engine = create_engine(url)
    with tempfile.TemporaryDirectory() as tmp, stand_in() as base:
        log = Path(tmp) / "workers.log"
        env = worker_env(url, base, Path(tmp))
        result: dict[str, Any] = {"database": kind, "messages": messages}
        result["bare"] = bare_loop(base, messages, offset=0)
        for count, offset in ((1, 10**6), (2, 2 * 10**6)):
            first = next_id(engine)
            fill(engine, messages, offset)
            already = count_sent(engine)
            with workers(count, env, log):
                wait_sent(engine, already + messages, 600, log)
            result[f"workers_{count}"] = outbox_rate(engine, first)
        # Latency: one idle worker, messages committed one at a time.
        latencies = []
        with workers(1, env, log):
            time.sleep(2)  # started and idle
            for n in range(latency_messages):
                first = next_id(engine)
                committed = datetime.now(UTC)
                fill(engine, 1, 3 * 10**6 + n)
                deadline = time.monotonic() + 30
                while True:
                    with Session(engine) as session:
                        sent_at = session.scalar(select(Message.sent_at).where(Message.id == first))
                    if sent_at is not None:
                        break
                    if time.monotonic() > deadline:
                        raise SystemExit(f"a message was not sent in 30 s:\n{log.read_text()}")
                    time.sleep(0.002)
                latencies.append((sent_at - committed).total_seconds() * 1000)
                time.sleep(0.05)
        latencies.sort()
        result["latency_ms"] = {
            "p50": statistics.median(latencies),
            "p90": latencies[int(0.9 * (len(latencies) - 1))],
            "max": latencies[-1],
        }
        problems = [
            line for line in log.read_text().splitlines() if "Traceback" in line or "ERROR" in line
        ]
        result["worker_log_problems"] = len(problems)
    engine.dispose()
    return result


def report(result: dict[str, Any]) -> None:
    bare = result["bare"]
    print(f"\n== {result['database']}: {result['messages']} messages each")
    print(f"{'sender':<12} {'msg/s':>8} {'ratio to bare':>14}  verdict")
    print(f"{'bare client':<12} {bare:>8.1f} {1.0:>14.2f}")
    for count in (1, 2):
        rate = result[f"workers_{count}"]
        ratio = rate / bare
        verdict = "ok" if ratio >= TARGET_RATIO else f"MISSED (< {TARGET_RATIO})"
        print(f"{f'{count} worker(s)':<12} {rate:>8.1f} {ratio:>14.2f}  {verdict}")
    lat = result["latency_ms"]
    print(
        f"commit -> sent: p50 {lat['p50']:.0f} ms, p90 {lat['p90']:.0f} ms, max {lat['max']:.0f} ms"
        f"; worker log problems: {result['worker_log_problems']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sms_throughput")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-messages", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = []
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
                results.append(run_one(kind, url, args.messages, args.latency_messages))
        else:
            raw = postgresql_url()
            if not raw:
                print("postgresql: set QUEUE_BENCH_DATABASE_URL or QUEUE_TEST_DATABASE_URL")
                continue
            url = normalise_database_url(raw)
            reset_postgresql(url)
            results.append(run_one(kind, url, args.messages, args.latency_messages))
        report(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
