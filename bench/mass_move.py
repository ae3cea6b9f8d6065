"""A mass move and the messages that matter this minute: time from an outage to the last
message of 10,000 moved tickets under one sender's rate, and the delay of the "your turn"
messages written while it drains.

Everything runs on the simulated clock (``queue_app.clock.FixedClock``), so the figures are
counts turned into seconds by the rate, not timings of this machine:

1. at simulated second 0 the outage's move writes ``--tickets`` messages to the outbox the way
   the rescheduler does (``outbox.row`` + ``outbox.enqueue_rows``, chunks of 500, each message
   urgent by its new slot: from 30 minutes to three days ahead);
2. ``--workers`` real ``SmsSender`` workers (one sender, one shared token bucket at ``--rate``
   messages a second, the console gateway writing to nowhere) each run one round every
   ``--tick`` simulated seconds, the clock moving between ticks (a message written at a tick is
   claimed a tick later at the earliest: its delay counts that wait);
3. every ``--every`` simulated seconds, while the move drains, one "your turn is near" (lane 0)
   and one booking confirmation (lane 1, urgent by a slot days ahead) are written;
4. per message: simulated ``sent_at - created_at``.

The same run is repeated with every message in one lane (the order before lanes: urgency, then
age) to show what the lanes change. Reported: the move's last message (simulated seconds from
the outage) against the ideal ``tickets / rate``, and the delays of the two kinds written
during the move (median and worst).

    python -m bench.mass_move [--db sqlite|postgresql|both] [--tickets 10000] [--rate 50]
                              [--workers 2] [--tick 0.2] [--every 5] [--json out.json]

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``)
is dropped and recreated.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bench.serve_load import postgresql_url, reset_postgresql
from queue_app import migrate, outbox, send_rates
from queue_app.clock import FixedClock
from queue_app.models import Message, MessageStatus, SendBucket
from queue_app.send_rates import RateKey
from queue_app.settings import normalise_database_url
from queue_app.worker.sending import Pace, SmsSender
from sms.gateways import ConsoleGateway

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
MOVE = "rescheduled:outage:1"
CHUNK = 500


@dataclass
class Outcome:
    database: str
    lanes: bool
    tickets: int
    rate: float
    workers: int
    last_move_s: float  # simulated seconds from the outage to the move's last message
    estimated_s: float  # what send_rates.last_message said at the outage
    ideal_s: float  # tickets / rate
    turn_messages: int
    turn_median_s: float
    turn_worst_s: float
    confirmations: int
    confirmation_median_s: float
    confirmation_worst_s: float
    rounds: int
    wall_s: float


class _Ticks:
    """The pace's time: it never sleeps (the shared bucket on the simulated clock paces)."""

    def monotonic(self) -> float:
        return 0.0

    def sleep(self, _: float) -> None:
        return None


def _one_lane(session: Session, lanes: bool) -> None:
    if not lanes:
        session.execute(update(Message).values(lane=1))
        session.commit()


def run(url: str, database: str, args: argparse.Namespace, lanes: bool) -> Outcome:
    engine = create_engine(normalise_database_url(url))
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:  # the previous run's messages and bucket go
        session.execute(delete(Message))
        session.execute(delete(SendBucket))
        session.commit()
    clock = FixedClock(START)
    with sessions() as session:
        rows = [
            outbox.row(
                clock.now(),
                ticket_id=None,
                event=MOVE,
                to=f"+2010{n:08d}",
                locale="ar",
                body=f"moved {n}",
                urgency=START + timedelta(minutes=30 + (n * 7) % (3 * 24 * 60)),
            )
            for n in range(args.tickets)
        ]
        for first in range(0, len(rows), CHUNK):
            outbox.enqueue_rows(session, rows[first : first + CHUNK])
            session.commit()
        _one_lane(session, lanes)
        # What the outage record says now (``last_message_at``), before anything is sent.
        estimate = send_rates.last_message(session, clock.now(), Message.event == MOVE, args.rate)
        assert estimate is not None
        estimated_s = (estimate.leaves_at - START).total_seconds()
    gateway = ConsoleGateway(io.StringIO())
    ticks = _Ticks()
    key = RateKey("sms", "bench-sender")
    workers = [
        SmsSender(
            sessions,
            clock,
            gateway,
            rate=args.rate,
            name=f"worker-{w}",
            rate_key=key,
            pace=Pace(args.rate, sleep=ticks.sleep, monotonic=ticks.monotonic),
        )
        for w in range(args.workers)
    ]
    written = 0
    next_write = 0.0
    rounds = 0
    began = time.perf_counter()
    ceiling = 10 * args.tickets / args.rate  # bounded: a stuck outbox ends the run
    while (clock.now() - START).total_seconds() < ceiling:
        elapsed = (clock.now() - START).total_seconds()
        with sessions() as session:
            left = session.scalar(
                select(func.count()).where(
                    Message.event == MOVE, Message.status == MessageStatus.QUEUED
                )
            )
            if left and elapsed >= next_write:
                for event, urgency in (
                    (f"turn_near:{written}", clock.now()),
                    (f"booked:{written}", clock.now() + timedelta(days=2)),
                ):
                    outbox.enqueue(
                        session,
                        clock.now(),
                        ticket=None,
                        event=event,
                        to=f"+2011{written:08d}",
                        locale="ar",
                        body=event,
                        urgency=urgency,
                    )
                session.commit()
                _one_lane(session, lanes)
                written += 1
                next_write += args.every
            pending = session.scalar(
                select(func.count()).where(Message.status == MessageStatus.QUEUED)
            )
        if not pending:
            break
        # A worker's next round comes a tick later: a message written now waits at least that.
        clock.advance(seconds=args.tick)
        for worker in workers:
            worker.run_once()
            rounds += 1
    wall = time.perf_counter() - began
    with sessions() as session:
        sent = session.execute(
            select(Message.event, Message.created_at, Message.sent_at).where(
                Message.status == MessageStatus.SENT
            )
        ).all()
    engine.dispose()

    def delays(kind: str) -> list[float]:
        return [(s - c).total_seconds() for e, c, s in sent if e.startswith(kind)]

    move = [s for e, _, s in sent if e == MOVE]
    turn, booked = delays("turn_near:"), delays("booked:")
    assert len(move) == args.tickets, f"{len(move)} of {args.tickets} moved messages sent"
    return Outcome(
        database=database,
        lanes=lanes,
        tickets=args.tickets,
        rate=args.rate,
        workers=args.workers,
        last_move_s=(max(move) - START).total_seconds(),
        estimated_s=estimated_s,
        ideal_s=args.tickets / args.rate,
        turn_messages=len(turn),
        turn_median_s=statistics.median(turn),
        turn_worst_s=max(turn),
        confirmations=len(booked),
        confirmation_median_s=statistics.median(booked),
        confirmation_worst_s=max(booked),
        rounds=rounds,
        wall_s=wall,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mass_move", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="messages/s of the one sender")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tick", type=float, default=0.2, help="simulated s between rounds")
    parser.add_argument("--every", type=float, default=5.0, help="simulated s between turns")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    outcomes: list[Outcome] = []
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
            for lanes in (True, False):
                outcomes.append(run(url, kind, args, lanes))
    print(
        f"{'database':<11} {'order':<13} {'last move s':>11} {'estimated s':>11} "
        f"{'ideal s':>8} {'ratio':>6} "
        f"{'turn p50/max s':>15} {'confirm p50/max s':>18} {'rounds':>7} {'wall s':>7}"
    )
    for o in outcomes:
        order = "lanes" if o.lanes else "urgency only"
        print(
            f"{o.database:<11} {order:<13} {o.last_move_s:>11.1f} {o.estimated_s:>11.1f} "
            f"{o.ideal_s:>8.1f} "
            f"{o.last_move_s / o.ideal_s:>6.3f} "
            f"{f'{o.turn_median_s:.1f}/{o.turn_worst_s:.1f}':>15} "
            f"{f'{o.confirmation_median_s:.1f}/{o.confirmation_worst_s:.1f}':>18} "
            f"{o.rounds:>7} {o.wall_s:>7.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
