"""Appointment reminders at the evening's minute: how long one worker round takes to write the
evening reminders of ``--appointments`` booked appointments spread over ``--branches``
branches, and what the next round (nothing left to remind) costs.

The round is the worker's own (``reminders.send_reminders``) on the simulated clock at 19:00
in Cairo; the figures are wall-clock seconds of this machine. The timers' thread does nothing
else meanwhile (outage moves, turn-near texts wait), so the round should stay short.

    python -m bench.reminders [--db sqlite|postgresql|both] [--appointments 10000]
                              [--branches 5]

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``)
is dropped and recreated.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.serve_load import postgresql_url, reset_postgresql
from queue_app import migrate, reminders, texting
from queue_app.clock import FixedClock
from queue_app.models import (
    Branch,
    Message,
    OpeningHours,
    Service,
    Ticket,
    TicketKind,
    TicketStatus,
)
from queue_app.settings import normalise_database_url

BOOKED_AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Cairo
EVENING = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 19:00 in Cairo
WEDNESDAY_8 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def build(sessions: sessionmaker[Session], appointments: int, branches: int) -> None:
    with sessions() as session:
        made = []
        for b in range(branches):
            branch = Branch(
                code=f"branch-{b}",
                name_ar=f"سجل مدني {b}",
                name_en=f"Civil registry {b}",
                timezone="Africa/Cairo",
                country="EG",
            )
            branch.opening_hours = [
                OpeningHours(weekday=day, opens=clock_time(8), closes=clock_time(15))
                for day in (6, 0, 1, 2, 3)
            ]
            branch.services.append(
                Service(
                    code="id-card",
                    letter="A",
                    name_ar="بطاقة الرقم القومي",
                    name_en="National ID card",
                    avg_service_minutes=6,
                    slot_minutes=30,
                )
            )
            session.add(branch)
            made.append(branch)
        session.commit()
        rows = []
        for i in range(appointments):
            branch = made[i % branches]
            slot = WEDNESDAY_8 + timedelta(minutes=30 * (i % 14))
            rows.append(
                {
                    "token": secrets.token_urlsafe(24),
                    "branch_id": branch.id,
                    "service_id": branch.services[0].id,
                    "letter": "A",
                    "local_day": slot.date(),
                    "sequence": i // branches + 1,
                    "kind": TicketKind.APPOINTMENT,
                    "status": TicketStatus.SCHEDULED,
                    "priority": False,
                    "phone": f"+2010{i:08d}",
                    "locale": "ar" if i % 3 else "en",
                    "channel": "sms",
                    "issued_at": BOOKED_AT,
                    "slot_start": slot,
                    "slot_end": slot + timedelta(minutes=30),
                    "version": 1,
                }
            )
        session.execute(Ticket.__table__.insert(), rows)
        session.commit()


def run(url: str, kind: str, appointments: int, branches: int) -> str:
    engine = create_engine(url)
    info: dict[object, object] = {}
    texting.set_public_url(info, "https://q.example.gov.eg")
    sessions = sessionmaker(bind=engine, expire_on_commit=False, info=info)
    build(sessions, appointments, branches)
    clock = FixedClock(EVENING)
    with sessions() as session:
        started = time.perf_counter()
        written = reminders.send_reminders(session, clock)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = reminders.send_reminders(session, clock)
        second = time.perf_counter() - started
        stored = session.scalar(select(func.count()).select_from(Message))
    engine.dispose()
    if not (written == appointments == stored and again == 0):
        raise SystemExit(f"expected {appointments} once: wrote {written}, {stored} stored, {again}")
    return (
        f"{kind:<11} {appointments:>12} {branches:>8} {first:>10.2f} "
        f"{written / first:>10.0f} {second * 1000:>12.0f}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reminders", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument("--branches", type=int, default=5)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            if kind == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            else:
                found = postgresql_url()
                if not found:
                    print("set QUEUE_BENCH_DATABASE_URL for PostgreSQL", file=sys.stderr)
                    return 2
                url = normalise_database_url(found)
                reset_postgresql(url)
            migrate.upgrade(url)
            lines.append(run(url, kind, args.appointments, args.branches))
    print(
        f"{'database':<11} {'appointments':>12} {'branches':>8} {'round s':>10} "
        f"{'per s':>10} {'next round ms':>12}"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
