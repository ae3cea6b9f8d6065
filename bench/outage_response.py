"""From a back-end system failing to its services paused, its line moved and the last SMS out.

One run per database: 100 branches, each with a service that needs the same back-end system and
100 waiting tickets with a mobile number (10,000 in all); the system's health URL is served on
loopback; ``queue-app worker`` runs as in production (health monitor, outage timers, SMS sender)
and sends through the real ``twilio`` client to a Twilio stand-in on loopback. The bench then
switches the health URL off and times, from that instant:

- **paused**: the system marked down (``failure_threshold`` failed checks in a row at
  ``check_interval_s``), which pauses its services in every branch at once;
- **moved**: every waiting ticket rescheduled, each with its outbox message;
- **last SMS**: the last of the 10,000 messages accepted by the stand-in.

The branches reschedule at once (``reschedule_after_minutes: 0``): the bench measures the
machinery, not the policy's wait (20 minutes by default). ``QUEUE_SMS_RATE`` is set to
``--rate`` (the provider's limit sets it in production: 10,000 messages at 100/s take 100 s
whatever the code does).

    python -m bench.outage_response [--db sqlite|postgresql|both] [--tickets 10000]
                                    [--branches 100] [--rate 1000] [--json out.json]

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``)
is dropped and recreated.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.serve_load import postgresql_url, reset_postgresql
from bench.sms_throughput import ACCOUNT_SID, AUTH_TOKEN, SENDER, stand_in
from queue_app import directory, migrate
from queue_app.models import (
    Backend,
    BackendState,
    Branch,
    Counter,
    Message,
    MessageStatus,
    Service,
    Ticket,
    TicketStatus,
)
from queue_app.settings import normalise_database_url
from tests.helpers.health_server import HealthEndpoint
from tests.helpers.outage_scene import open_all_day, waiting_ticket

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER = [sys.executable, "-c", "from queue_app.cli import main; main()", "worker"]


def build(engine: Engine, health_url: str, branches: int, tickets: int) -> None:
    now = datetime.now(UTC)
    per_branch = tickets // branches
    with Session(engine) as session:
        backend = Backend(
            code="civil-registry",
            name_ar="منظومة الأحوال المدنية",
            name_en="Civil registry system",
            health_url=health_url,
            check_interval_s=1,
            failure_threshold=3,
            recovery_threshold=2,
        )
        session.add(backend)
        rows = []
        for b in range(branches):
            branch = Branch(
                code=f"branch-{b:03d}",
                name_ar=f"فرع {b}",
                name_en=f"Branch {b}",
                timezone="Africa/Cairo" if b % 2 else "Asia/Riyadh",
                country="EG" if b % 2 else "SA",
                reschedule_after_minutes=0,
            )
            branch.opening_hours = open_all_day()
            service = Service(
                code="id-card",
                letter="A",
                name_ar="بطاقة الرقم القومي",
                name_en="National ID card",
                avg_service_minutes=2,
                slot_minutes=30,
                walk_in_percent=20,
                backends=[backend],
            )
            branch.services = [service]
            branch.counters = [
                Counter(code=str(c), is_open=True, services=[service]) for c in range(1, 5)
            ]
            session.add(branch)
            rows.append((branch, service))
        session.flush()
        tickets_rows = []
        for b, (branch, service) in enumerate(rows):
            for n in range(per_branch):
                tickets_rows.append(
                    waiting_ticket(
                        branch.id,
                        service.id,
                        n + 1,
                        issued_at=now - timedelta(seconds=per_branch - n),
                        phone=f"+2010{b:03d}{n:05d}",
                        locale="ar" if n % 3 else "en",
                        priority=n % 17 == 0,
                    )
                )
        session.execute(Ticket.__table__.insert(), tickets_rows)
        directory.mark_changed(session)
        session.commit()


def _scalar(engine: Engine, statement: Any) -> Any:
    with Session(engine) as session:
        return session.scalar(statement)


def wait_for(what: str, condition: Any, timeout: float, log: Path) -> float:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)
    return time.monotonic()


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("a") as out:
        process = subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def run_one(kind: str, url: str, tickets: int, branches: int, rate: float) -> dict[str, Any]:
    migrate.upgrade(url)
    engine = create_engine(url)
    health = HealthEndpoint()
    try:
        build(engine, health.url, branches, tickets)
        with tempfile.TemporaryDirectory() as tmp, stand_in() as base:
            log = Path(tmp) / "worker.log"
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO_ROOT),
                "QUEUE_DATABASE_URL": url,
                "QUEUE_INSTANCE_PATH": tmp,
                "QUEUE_SMS_GATEWAY": "twilio",
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_FROM": SENDER,
                "TWILIO_API_BASE": base,
                "QUEUE_SMS_RATE": str(rate),
                "QUEUE_PUBLIC_URL": "https://q.example.gov.eg",
            }
            with worker(env, log):
                time.sleep(3)  # started, leading the monitor, the system seen up
                health.up = False
                t0 = time.monotonic()
                paused = wait_for(
                    "the system marked down",
                    lambda: _scalar(engine, select(Backend.state)) == BackendState.DOWN,
                    60,
                    log,
                )
                moved = wait_for(
                    "the line moved",
                    lambda: (
                        _scalar(
                            engine,
                            select(func.count()).where(Ticket.status == TicketStatus.SCHEDULED),
                        )
                        == tickets
                    ),
                    600,
                    log,
                )
                sent = wait_for(
                    "the last message sent",
                    lambda: (
                        _scalar(
                            engine,
                            select(func.count()).where(Message.status == MessageStatus.SENT),
                        )
                        == tickets
                    ),
                    1200,
                    log,
                )
            texted_twice = _scalar(
                engine,
                select(func.count()).select_from(
                    select(Message.ticket_id)
                    .group_by(Message.ticket_id)
                    .having(func.count() > 1)
                    .subquery()
                ),
            )
            problems = sum(1 for line in log.read_text().splitlines() if "Traceback" in line)
    finally:
        health.stop()
        engine.dispose()
    return {
        "database": kind,
        "tickets": tickets,
        "branches": branches,
        "rate": rate,
        "paused_s": paused - t0,
        "moved_s": moved - t0,
        "last_sms_s": sent - t0,
        "texted_twice": texted_twice,
        "worker_tracebacks": problems,
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"\n== {result['database']}: {result['tickets']} waiting tickets over "
        f"{result['branches']} branches, QUEUE_SMS_RATE={result['rate']:g}"
    )
    print(f"   health URL off -> services paused : {result['paused_s']:7.2f} s")
    print(f"   health URL off -> all moved       : {result['moved_s']:7.2f} s")
    print(f"   health URL off -> last SMS out    : {result['last_sms_s']:7.2f} s")
    print(
        f"   texted twice: {result['texted_twice']}; worker tracebacks: "
        f"{result['worker_tracebacks']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outage_response")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--branches", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = []
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
                results.append(run_one(kind, url, args.tickets, args.branches, args.rate))
        else:
            raw = postgresql_url()
            if not raw:
                print("postgresql: set QUEUE_BENCH_DATABASE_URL or QUEUE_TEST_DATABASE_URL")
                continue
            url = normalise_database_url(raw)
            reset_postgresql(url)
            results.append(run_one(kind, url, args.tickets, args.branches, args.rate))
        report(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
