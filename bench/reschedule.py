"""The rescheduler moving 10,000 and 100,000 tickets into free slots, against a bare bulk write.

For each database (SQLite, PostgreSQL) and each size N, ``--rounds`` times (sizes alternating):

1. **floor**: a fresh database with the bench's data (100 branches, one or two services each,
   N waiting walk-in tickets, half with a phone), then a bare bulk write of what a move of all
   of them amounts to: an executemany ``UPDATE tickets SET status, slot_start, slot_end WHERE
   id = ?`` of the N rows and an executemany ``INSERT`` of their N/2 messages (the columns the
   rescheduler writes), through SQLAlchemy Core, in transactions of ``rescheduler.CHUNK``
   tickets, with every parameter computed before the clock starts.
2. **rescheduler**: an identical fresh database (built again from the same seed), then one
   ``rescheduler.reschedule`` call on all N ticket ids in issue order (it chunks itself), with a
   ``FixedClock`` on a working morning and ``not_before`` two hours later; each SMS is worded by
   ``sms.templates.rescheduled_for_outage`` (``--message fixed``: one fixed string).

Each measurement runs in a fresh subprocess, which reports its wall seconds, its CPU seconds
(its own and, on PostgreSQL, the server process's, from /proc), its statements (count and time
per kind), the time in the rescheduler's steps, and its peak resident memory over the
measurement (VmHWM, reset just before it starts). The figures that compare are the ratio
rescheduler / floor of the same round (target: at most 3; the median over the rounds is
reported) and the growth from the smallest to the largest size (target: linear). After each run
the database is checked: every ticket moved, slot_bookings equal to the tickets booked per slot
and within capacity, each slot a real one after ``not_before``, calling order and priority
kept, one message per ticket with a phone.

    python -m bench.reschedule [--db sqlite|postgresql|both] [--sizes 10000,100000]
                               [--rounds 3] [--capacity ample|realistic]
                               [--message template|fixed] [--profile DIR] [--json out.json]

``--capacity``: ``ample`` (the default) gives every service enough counters that its share of
100,000 tickets fits in a day or two after ``not_before``; ``realistic`` gives branches of 3 to
6 counters, so that a service needs from a few days to most of the 60-day horizon.
``--profile DIR``: one more rescheduler run per database and size under cProfile and
tracemalloc, written to DIR and summarised.

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``)
is dropped and recreated, once per measurement.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import gc
import json
import os
import platform
import pstats
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.serve_load import postgresql_url, reset_postgresql
from queue_app import directory, migrate, rescheduler, slots
from queue_app.clock import FixedClock
from queue_app.directory import ServiceInfo
from queue_app.models import (
    Backend,
    BackendState,
    Branch,
    Counter,
    DetectedBy,
    Message,
    MessageStatus,
    OpeningHours,
    Outage,
    Service,
    SlotBooking,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketNumberSequence,
    TicketStatus,
)
from queue_app.settings import normalise_database_url
from sms import templates

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0
# Growth counts as linear while seconds grow at most this much faster than N.
LINEAR_SLACK = 1.25

BRANCHES = 100
SEED = 20270110
# A Sunday: every branch is open. 06:30 UTC is 08:30 in Cairo and 09:30 in Riyadh.
NOW = datetime(2027, 1, 10, 6, 30, tzinfo=UTC)
NOT_BEFORE = NOW + timedelta(hours=2)
CAUSE = "outage:bench"
PUBLIC_URL = "https://q.example.gov.eg"
SUN_TO_THU = (6, 0, 1, 2, 3)
EVERY_DAY = tuple(range(7))
ZONES = (("Africa/Cairo", "EG", "+2010"), ("Asia/Riyadh", "SA", "+9665"))
# One SMS as the template words it, for --message fixed and for the floor's messages.
FIXED_BODY = (
    "عطل في منظومة الأحوال المدنية.\nموعدك الجديد الأحد ١٠ يناير ١٢:٣٠ م\n"
    "١ تأكيد ٢ تغيير ٠ إلغاء\nhttps://q.example.gov.eg/t/" + "x" * 32
)


# --- the data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How much a service's slot takes: ``default_capacity(counters, slot, avg, walk_in)``."""

    counters: tuple[int, ...]  # per branch, in turn
    avg_service_minutes: tuple[float, ...]
    walk_in_percent: tuple[int, ...]
    slot_minutes: int = 30


PROFILES = {
    # 12-14 counters, 3 minutes a citizen, 10 % kept for walk-ins: 108-126 places per 30-minute
    # slot for a branch's one service, half that for each of two sharing the counters; a
    # service's share of 100,000 tickets (667) fits in its first one or two days.
    "ample": Profile(counters=(12, 13, 14), avg_service_minutes=(3.0,), walk_in_percent=(10,)),
    # 3-6 counters, 5-8 minutes, half kept for walk-ins: 2-18 places per slot, so that a
    # service's 667 tickets need from a few days to most of the 60-day horizon (the day walk of
    # slots.openings, and bookings spread over many slots).
    "realistic": Profile(
        counters=(3, 4, 5, 6), avg_service_minutes=(5.0, 6.0, 8.0), walk_in_percent=(50,)
    ),
}


def build(url: str, size: int, profile: Profile) -> dict[str, Any]:
    """A migrated database with the bench's branches and ``size`` waiting tickets. The same
    ``url`` state, ``size`` and ``profile`` give the same rows, ids included."""
    started = time.perf_counter()
    migrate.upgrade(url)
    engine = create_engine(url)
    rng = random.Random(SEED)
    with Session(engine) as session:
        # The system each country's services need, down since 06:00 and expected back at
        # not_before (the outage the move is for): the rescheduler looks up its outages and
        # maintenance windows as it would in earnest, and finds nothing blocked after not_before.
        down_since = datetime(2027, 1, 10, 6, 0, tzinfo=UTC)
        systems = [
            Backend(
                code=f"registry-{country.lower()}",
                name_ar="منظومة الأحوال المدنية",
                name_en="Civil registry",
                state=BackendState.DOWN,
                state_since=down_since,
            )
            for _, country, _ in ZONES
        ]
        session.add_all(systems)
        session.flush()
        session.add_all(
            Outage(
                backend_id=system.id,
                started_at=down_since,
                detected_by=DetectedBy.HEALTH_CHECK,
                expected_end=NOT_BEFORE,
            )
            for system in systems
        )
        branches = []
        for n in range(BRANCHES):
            zone, country, _ = ZONES[n % 2]
            branch = Branch(
                code=f"bench-{n:03d}",
                name_ar=f"فرع {n}",
                name_en=f"Branch {n}",
                timezone=zone,
                country=country,
            )
            days = EVERY_DAY if n % 3 == 2 else SUN_TO_THU
            branch.opening_hours = [
                OpeningHours(weekday=d, opens=clock_time(8), closes=clock_time(15)) for d in days
            ]
            for letter in "AB"[: 1 + n % 2]:
                branch.services.append(
                    Service(
                        code=f"service-{letter.lower()}",
                        letter=letter,
                        name_ar=f"خدمة {letter}",
                        name_en=f"Service {letter}",
                        avg_service_minutes=pick(profile.avg_service_minutes, n),
                        slot_minutes=profile.slot_minutes,
                        walk_in_percent=pick(profile.walk_in_percent, n),
                        backends=[systems[n % 2]],
                    )
                )
            for c in range(1, pick(profile.counters, n) + 1):
                branch.counters.append(
                    Counter(code=str(c), is_open=True, services=list(branch.services))
                )
            branches.append(branch)
        session.add_all(branches)
        session.flush()
        directory.mark_changed(session)
        services = [(s, b) for b in branches for s in b.services]
        session.commit()

        # Tickets: issued in turn at every service from 06:00 UTC (08:00 in Cairo, an hour
        # after opening in Riyadh) until NOW, so ids follow issue order across branches.
        tickets = Ticket.__table__
        first = datetime(2027, 1, 10, 6, 0, tzinfo=UTC)
        step = (NOW - first) / size
        sequence: Tally[int] = Tally()
        rows = []
        for i in range(size):
            service, branch = services[i % len(services)]
            sequence[service.id] += 1
            issued = first + step * i
            phone = None
            if i % 2 == 0:
                phone = f"{ZONES[branches.index(branch) % 2][2]}{rng.randrange(10**8):08d}"
            rows.append(
                {
                    "token": base64.urlsafe_b64encode(rng.randbytes(24)).decode(),
                    "branch_id": branch.id,
                    "service_id": service.id,
                    "letter": service.letter,
                    "local_day": NOW.astimezone(branch.zone).date(),
                    "sequence": sequence[service.id],
                    "kind": TicketKind.WALK_IN,
                    "status": TicketStatus.WAITING,
                    "priority": rng.random() < 0.05,
                    "phone": phone,
                    "locale": "en" if rng.random() < 0.2 else "ar",
                    "issued_at": issued,
                    "queued_at": issued,
                    "version": 1,
                }
            )
        with engine.begin() as conn:
            conn.execute(tickets.insert(), rows)
            conn.execute(
                TicketNumberSequence.__table__.insert(),
                [
                    {
                        "branch_id": branch.id,
                        "letter": service.letter,
                        "local_day": NOW.astimezone(branch.zone).date(),
                        "last_number": sequence[service.id],
                    }
                    for service, branch in services
                ],
            )
            issued_rows = conn.execute(
                select(
                    tickets.c.id, tickets.c.issued_at, tickets.c.phone, tickets.c.locale
                ).order_by(tickets.c.id)
            ).all()
            # What issuing left behind: an "issued" event per ticket and an SMS per phone.
            conn.execute(
                TicketEvent.__table__.insert(),
                [{"ticket_id": r.id, "at": r.issued_at, "event": "issued"} for r in issued_rows],
            )
            conn.execute(
                Message.__table__.insert(),
                [
                    {
                        "ticket_id": r.id,
                        "event": "issued",
                        "to": r.phone,
                        "locale": r.locale,
                        "body": "تذكرتك A-001",
                        "status": MessageStatus.SENT,
                        "urgency": r.issued_at,
                        "created_at": r.issued_at,
                        "next_attempt_at": r.issued_at,
                        "sent_at": r.issued_at,
                        "attempts": 1,
                    }
                    for r in issued_rows
                    if r.phone is not None
                ],
            )
    if engine.dialect.name == "postgresql":
        # What autovacuum would have done by the time an outage strikes (statistics, hint
        # bits: else the first statement to read the fresh rows pays for writing them), and a
        # checkpoint, so that neither measurement starts with the build's writes still to do.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
    first_day, horizon = room_after_not_before(engine)
    engine.dispose()
    return {
        "services": len(services),
        "tickets": size,
        "with_phone": (size + 1) // 2,
        "share": max(sequence.values()),
        "room_first_day": first_day,
        "room_horizon": horizon,
        "build_s": time.perf_counter() - started,
    }


def room_after_not_before(engine: Engine) -> tuple[int, int]:
    """The fewest places any service has from ``not_before`` to the end of that day, and in the
    booking horizon, before anything is booked."""
    first_day, horizon = [], []
    with Session(engine) as session:
        for branch in directory.current(session).branches:
            for service in branch.services:
                caps = slots.capacities(session, service, NOW)
                day = NOT_BEFORE.astimezone(branch.zone).date()
                per_day = [
                    sum(n for start, _, n in caps.day_slots(d) if start >= NOT_BEFORE)
                    for d in (day + timedelta(days=n) for n in range(slots.BOOKING_HORIZON_DAYS))
                ]
                first_day.append(per_day[0])
                horizon.append(sum(per_day))
    return min(first_day), min(horizon)


def pick(values: Sequence[Any], n: int) -> Any:
    return values[n % len(values)]


# --- the measurements (each in a subprocess of its own) -----------------------------------


def _status_mib(field: str) -> float | None:
    """A memory figure of /proc/self/status in MiB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def max_rss_mib() -> float:
    """The process's peak resident memory since ``reset_peak``. On Linux that is VmHWM:
    ``ru_maxrss`` of a child also counts the parent's memory it was forked with, before its
    exec. Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS)."""
    peak = _status_mib("VmHWM")
    if peak is not None:
        return peak
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def reset_peak() -> bool:
    """Start the peak over from the memory in use now (Linux: ``clear_refs`` 5 resets VmHWM),
    so that the peak is the measurement's own and not the imports' or the setup's. False where
    that cannot be done."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_before() -> dict[str, Any]:
    return {"peak_reset": reset_peak(), "rss_before_mib": _status_mib("VmRSS") or max_rss_mib()}


def statement_label(clause: Any, multiparams: Any) -> str:
    """ "update tickets", "select slot_bookings", "insert messages", ... for the statement log."""
    kind = type(clause).__name__.lower()
    table = getattr(clause, "table", None)
    if table is None and hasattr(clause, "get_final_froms"):
        froms = clause.get_final_froms()
        table = froms[0] if froms else None
    label = f"{kind} {getattr(table, 'name', '') or ''}".strip()
    if getattr(clause, "_for_update_arg", None) is not None:
        label += " for update"
    if isinstance(multiparams, list | tuple) and len(multiparams) > 1:
        label += " (many)"
    return label


def watch_statements(engine: Engine) -> dict[str, list[float]]:
    """Per kind of statement: [how many, seconds in ``Connection.execute``] (the compiling and
    the parameters included, the rows' fetching after it not)."""
    log: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    @event.listens_for(engine, "before_execute")
    def _before(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        conn.info["bench_started"] = (statement_label(clause, multiparams), time.perf_counter())

    @event.listens_for(engine, "after_execute")
    def _after(
        conn: Any, clause: Any, multiparams: Any, params: Any, options: Any, result: Any
    ) -> None:
        label, started = conn.info.pop("bench_started")
        entry = log[label]
        entry[0] += 1
        entry[1] += time.perf_counter() - started

    return log


def _backend_pid(engine: Engine) -> int | None:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of another process on this machine, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of this process and, on PostgreSQL, of the server process that serves its
    one pooled connection: less swayed by other jobs on the machine than wall time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pid = _backend_pid(engine)
        self.started = (time.process_time(), self._server())

    def _server(self) -> float | None:
        return _process_cpu(self.pid) if self.pid is not None else None

    def stop(self) -> dict[str, float | None]:
        client = time.process_time() - self.started[0]
        server, before = self._server(), self.started[1]
        return {
            "client_cpu_s": client,
            "server_cpu_s": None if server is None or before is None else server - before,
        }


def outage_message(fixed: bool) -> rescheduler.MessageFor:
    def word(ticket: rescheduler.TicketRow, service: ServiceInfo, start: datetime) -> str:
        if fixed:
            return FIXED_BODY
        system = "منظومة الأحوال المدنية" if ticket.locale == "ar" else "The civil registry system"
        return templates.rescheduled_for_outage(
            ticket.locale,
            system=system,
            start=start,
            timezone=service.branch.timezone,
            link=f"{PUBLIC_URL}/t/{ticket.token}",
        )

    return word


def time_phases() -> dict[str, float]:
    """Seconds spent in the rescheduler's steps, by wrapping them in this process (a few
    thousand calls at most: the wrapping costs microseconds). Nested: ``write`` holds the
    wording of the messages and the writes' statements; ``slots.openings`` its queries."""
    phases: dict[str, float] = defaultdict(float)

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] += time.perf_counter() - started

        return wrapper

    slots.openings = timed("openings", slots.openings)
    rescheduler.plan = timed("plan", rescheduler.plan)
    rescheduler._write = timed("write", rescheduler._write)
    directory.current = timed("directory", directory.current)
    return phases


def run_rescheduler(url: str, fixed_message: bool, profile_to: str | None) -> dict[str, Any]:
    engine = create_engine(url)
    phases = time_phases()
    wording = outage_message(fixed_message)

    def word(ticket: rescheduler.TicketRow, service: ServiceInfo, start: datetime) -> str:
        started = time.perf_counter()
        try:
            return wording(ticket, service, start)
        finally:
            phases["message_for"] += time.perf_counter() - started

    with Session(engine) as session:
        ids = list(session.scalars(select(Ticket.id).order_by(Ticket.id)))
        session.rollback()
        cpu = CpuMeter(engine)
        log = watch_statements(engine)
        memory = memory_before()
        profiler = cProfile.Profile() if profile_to else None
        if profiler:
            tracemalloc.start()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = rescheduler.reschedule(
            session,
            FixedClock(NOW),
            ids,
            not_before=NOT_BEFORE,
            cause=CAUSE,
            message_for=word,
        )
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        used = cpu.stop()
        heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if profiler else None
        tracemalloc.stop()
        rss_after = max_rss_mib()
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
    engine.dispose()
    return {
        "seconds": seconds,
        **used,
        **memory,
        "peak_rss_mib": rss_after,
        "statements": {k: {"count": int(n), "seconds": t} for k, (n, t) in log.items()},
        "moved": outcome.moved,
        "unplaced": outcome.unplaced,
        "texted": outcome.texted,
        "already_moved": outcome.already_moved,
        "chunks": outcome.chunks,
        "heap_peak_mib": heap_peak,
        "phases": dict(phases),
    }


def run_floor(url: str) -> dict[str, Any]:
    """The bare write: the same N rows updated and N/2 messages inserted, chunk by chunk."""
    engine = create_engine(url)
    tickets = Ticket.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(tickets.c.id, tickets.c.phone, tickets.c.locale).order_by(tickets.c.id)
        ).all()
    # Slots like the rescheduler's (30 minutes, from NOT_BEFORE), computed before the clock.
    chunks = []
    for at in range(0, len(rows), rescheduler.CHUNK):
        updates, messages = [], []
        for n, r in enumerate(rows[at : at + rescheduler.CHUNK], start=at):
            start = NOT_BEFORE + timedelta(minutes=30 * (n % 7))
            updates.append(
                {"ticket_id": r.id, "start": start, "end": start + timedelta(minutes=30)}
            )
            if r.phone is not None:
                messages.append(
                    {
                        "ticket_id": r.id,
                        "event": f"rescheduled:{CAUSE}",
                        "to": r.phone,
                        "locale": r.locale,
                        "body": FIXED_BODY,
                        "status": MessageStatus.QUEUED,
                        "urgency": start,
                        "created_at": NOW,
                        "next_attempt_at": NOW,
                        "attempts": 0,
                    }
                )
        chunks.append((updates, messages))
    statement = (
        update(tickets)
        .where(tickets.c.id == bindparam("ticket_id"))
        .values(
            status=TicketStatus.SCHEDULED, slot_start=bindparam("start"), slot_end=bindparam("end")
        )
    )
    insert = Message.__table__.insert()
    cpu = CpuMeter(engine)
    log = watch_statements(engine)
    memory = memory_before()
    started = time.perf_counter()
    for updates, messages in chunks:
        with engine.begin() as conn:
            conn.execute(statement, updates)
            if messages:
                conn.execute(insert, messages)
    seconds = time.perf_counter() - started
    used = cpu.stop()
    rss_after = max_rss_mib()
    engine.dispose()
    return {
        "seconds": seconds,
        **used,
        **memory,
        "peak_rss_mib": rss_after,
        "statements": {k: {"count": int(n), "seconds": t} for k, (n, t) in log.items()},
        "updated": len(rows),
        "messages": sum(len(m) for _, m in chunks),
    }


def child(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reschedule child")
    parser.add_argument("what", choices=("rescheduler", "floor"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--fixed-message", action="store_true")
    parser.add_argument("--profile-to")
    args = parser.parse_args(argv)
    if args.what == "rescheduler":
        result = run_rescheduler(args.url, args.fixed_message, args.profile_to)
    else:
        result = run_floor(args.url)
    print(json.dumps(result))
    return 0


def in_subprocess(what: str, url: str, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.reschedule", "child", what, "--url", url, *extra],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {what} run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- checking what was written ------------------------------------------------------------


def check_rescheduled(url: str, size: int, with_phone: int) -> list[str]:
    """What is wrong with the database after the rescheduler's run; empty when all is right."""
    problems = []
    engine = create_engine(url)
    clock = FixedClock(NOW)
    with Session(engine) as session:
        info = directory.current(session)
        tickets = session.execute(
            select(
                Ticket.id,
                Ticket.service_id,
                Ticket.priority,
                Ticket.issued_at,
                Ticket.status,
                Ticket.slot_start,
                Ticket.slot_end,
                Ticket.phone,
            )
        ).all()
        scheduled = [t for t in tickets if t.status == TicketStatus.SCHEDULED]
        if len(scheduled) != size:
            problems.append(f"{len(scheduled)} of {size} tickets scheduled")
        early = sum(1 for t in scheduled if t.slot_start < NOT_BEFORE)
        if early:
            problems.append(f"{early} tickets in a slot before not_before")
        # slot_bookings holds what the tickets hold, and no slot more than it takes.
        held = Tally((t.service_id, t.slot_start) for t in scheduled)
        booked = {
            (r.service_id, r.starts_at): r.booked
            for r in session.execute(select(SlotBooking)).scalars()
        }
        booked = {k: v for k, v in booked.items() if v}
        if booked != dict(held):
            wrong = sum(1 for k in set(booked) | set(held) if booked.get(k, 0) != held.get(k, 0))
            problems.append(f"{wrong} slots where slot_bookings differ from the tickets booked")
        caps = {}
        real: dict[tuple[int, date], set[tuple[datetime, datetime]]] = {}
        over = not_a_slot = 0
        ends = {(t.service_id, t.slot_start): t.slot_end for t in scheduled}
        for (service_id, start), n in held.items():
            service = info.service_by_id(service_id)
            day = start.astimezone(service.branch.zone).date()
            if service_id not in caps:
                caps[service_id] = slots.capacities(session, service, clock.now())
            places = {s: p for s, _, p in caps[service_id].day_slots(day)}
            if n > places.get(start, 0):
                over += 1
            if (service_id, day) not in real:
                real[(service_id, day)] = set(slots.slot_times(service, day))
            if (start, ends[(service_id, start)]) not in real[(service_id, day)]:
                not_a_slot += 1
        if over:
            problems.append(f"{over} slots over capacity")
        if not_a_slot:
            problems.append(f"{not_a_slot} tickets booked into a time that is no slot")
        # Calling order: within a class (priority or not), an earlier ticket never gets a later
        # slot; and priority tickets choose first, so none has a later slot than a ticket of
        # the same service that is not priority.
        lines = defaultdict(list)
        for t in scheduled:
            lines[t.service_id].append(t)
        out_of_order = passed_over = 0
        for line in lines.values():
            line.sort(key=lambda t: (not t.priority, t.issued_at, t.id))
            for cls in (True, False):
                ordered = [t for t in line if t.priority is cls]
                out_of_order += sum(1 for a, b in pairwise(ordered) if b.slot_start < a.slot_start)
            first_plain = min((t.slot_start for t in line if not t.priority), default=None)
            if first_plain is not None:
                passed_over += sum(1 for t in line if t.priority and t.slot_start > first_plain)
        if out_of_order:
            problems.append(f"{out_of_order} tickets placed before one issued ahead of them")
        if passed_over:
            problems.append(
                f"{passed_over} priority tickets got a later slot than a non-priority ticket "
                "of their service"
            )
        # One message per ticket with a phone, none for the others.
        texted = session.execute(
            select(Message.ticket_id, func.count())
            .where(Message.event == f"rescheduled:{CAUSE}")
            .group_by(Message.ticket_id)
        ).all()
        phones = {t.id for t in scheduled if t.phone is not None}
        if len(phones) != with_phone:
            problems.append(f"{len(phones)} moved tickets with a phone, {with_phone} expected")
        if {tid for tid, _ in texted} != phones or any(n != 1 for _, n in texted):
            problems.append(f"{len(texted)} tickets texted, {len(phones)} with a phone")
        events = session.scalar(
            select(func.count()).where(
                TicketEvent.event == "rescheduled", TicketEvent.note == CAUSE
            )
        )
        if events != size:
            problems.append(f"{events} 'rescheduled' events for {size} tickets")
    engine.dispose()
    return problems


def check_floor(url: str, size: int, with_phone: int) -> list[str]:
    engine = create_engine(url)
    with Session(engine) as session:
        scheduled = session.scalar(
            select(func.count()).where(Ticket.status == TicketStatus.SCHEDULED)
        )
        texted = session.scalar(select(func.count()).where(Message.event == f"rescheduled:{CAUSE}"))
    engine.dispose()
    problems = []
    if scheduled != size:
        problems.append(f"floor: {scheduled} of {size} tickets updated")
    if texted != with_phone:
        problems.append(f"floor: {texted} of {with_phone} messages inserted")
    return problems


# --- one database -------------------------------------------------------------------------


@contextmanager
def fresh_database(kind: str, tmp: Path, name: str) -> Iterator[str]:
    """An empty database: a new SQLite file, or PostgreSQL's public schema dropped and made
    again."""
    if kind == "sqlite":
        path = tmp / f"{name}.sqlite3"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    raw = postgresql_url()
    assert raw is not None
    url = normalise_database_url(raw)
    reset_postgresql(url)
    yield url


def run_round(kind: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """One floor and one rescheduler run, each on a database of its own built the same way."""
    profile = PROFILES[args.capacity]
    result: dict[str, Any] = {"database": kind, "size": size, "capacity": args.capacity}
    extra = ["--fixed-message"] if args.message == "fixed" else []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with fresh_database(kind, tmp, "floor") as url:
            data = build(url, size, profile)
            result["data"] = data
            result["floor"] = in_subprocess("floor", url)
            result["problems"] = check_floor(url, size, data["with_phone"])
        with fresh_database(kind, tmp, "rescheduler") as url:
            build(url, size, profile)
            result["rescheduler"] = in_subprocess("rescheduler", url, *extra)
            result["problems"] += check_rescheduled(url, size, data["with_phone"])
    result["ratio"] = result["rescheduler"]["seconds"] / result["floor"]["seconds"]
    result["wall_s"] = time.perf_counter() - started
    return result


def profile_run(kind: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """The rescheduler under cProfile and tracemalloc (its seconds are not the measurement's)."""
    args.profile.mkdir(parents=True, exist_ok=True)
    out = args.profile / f"reschedule-{kind}-{size}.prof"
    extra = ["--fixed-message"] if args.message == "fixed" else []
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        fresh_database(kind, Path(tmp_name), "profiled") as url,
    ):
        build(url, size, PROFILES[args.capacity])
        profiled = in_subprocess("rescheduler", url, *extra, "--profile-to", str(out))
    return {
        "database": kind,
        "size": size,
        "seconds": profiled["seconds"],
        "heap_peak_mib": profiled["heap_peak_mib"],
        "file": str(out),
    }


# --- the report ---------------------------------------------------------------------------


def cpu_s(run: dict[str, Any]) -> float:
    """CPU seconds of the measurement: the Python process's, plus PostgreSQL's when read."""
    return run["client_cpu_s"] + (run["server_cpu_s"] or 0.0)


def summarise(kind: str, size: int, rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The medians over the rounds; phases and statements of the round with the median ratio."""
    ratios = sorted(r["ratio"] for r in rounds)
    middle = sorted(rounds, key=lambda r: r["ratio"])[(len(rounds) - 1) // 2]
    return {
        "database": kind,
        "size": size,
        "rounds": len(rounds),
        "rescheduler_s": statistics.median(r["rescheduler"]["seconds"] for r in rounds),
        "floor_s": statistics.median(r["floor"]["seconds"] for r in rounds),
        "ratio": statistics.median(ratios),
        "ratios": [r["ratio"] for r in rounds],
        "cpu_ratio": statistics.median(cpu_s(r["rescheduler"]) / cpu_s(r["floor"]) for r in rounds),
        "rescheduler_cpu_s": statistics.median(cpu_s(r["rescheduler"]) for r in rounds),
        "floor_cpu_s": statistics.median(cpu_s(r["floor"]) for r in rounds),
        "moved": min(r["rescheduler"]["moved"] for r in rounds),
        "unplaced": max(r["rescheduler"]["unplaced"] for r in rounds),
        "peak_rss_mib": max(r["rescheduler"]["peak_rss_mib"] for r in rounds),
        "growth_mib": max(
            r["rescheduler"]["peak_rss_mib"] - r["rescheduler"]["rss_before_mib"] for r in rounds
        ),
        "floor_growth_mib": max(
            r["floor"]["peak_rss_mib"] - r["floor"]["rss_before_mib"] for r in rounds
        ),
        "problems": sorted({p for r in rounds for p in r["problems"]}),
        "data": rounds[0]["data"],
        "median_round": middle,
    }


def verdict_ratio(s: dict[str, Any]) -> str:
    if s["moved"] != s["size"]:
        return f"n/a ({s['size'] - s['moved']} not moved)"
    return "met" if s["ratio"] <= TARGET_RATIO else "MISSED"


def report(kind: str, summaries: Sequence[dict[str, Any]]) -> None:
    print(f"\n== {kind}")
    print(
        f"{'tickets':>8} {'moved':>7} {'unpl.':>6} {'resched s':>9} {'tickets/s':>9} "
        f"{'floor s':>8} {'ratio':>6} {'per round':>17} {'CPU s':>11} {'CPU ratio':>9} "
        f"{'peak MiB':>8} {'+MiB':>6} {'floor +MiB':>10} {'stmts':>6}  ratio <= {TARGET_RATIO:g}"
    )
    for s in summaries:
        rs = s["median_round"]["rescheduler"]
        per_round = " ".join(f"{x:.2f}" for x in s["ratios"])
        cpu = f"{s['rescheduler_cpu_s']:.1f}/{s['floor_cpu_s']:.1f}"
        print(
            f"{s['size']:>8} {s['moved']:>7} {s['unplaced']:>6} {s['rescheduler_s']:>9.2f} "
            f"{s['size'] / s['rescheduler_s']:>9.0f} {s['floor_s']:>8.2f} {s['ratio']:>6.2f} "
            f"{per_round:>17} {cpu:>11} {s['cpu_ratio']:>9.2f} {s['peak_rss_mib']:>8.1f} "
            f"{s['growth_mib']:>6.1f} {s['floor_growth_mib']:>10.1f} "
            f"{sum(v['count'] for v in rs['statements'].values()):>6}  {verdict_ratio(s)}"
        )
    for s in summaries:
        rs, data = s["median_round"]["rescheduler"], s["data"]
        print(
            f"\n{s['size']} tickets ({data['services']} services, at most {data['share']} a "
            f"service; places left per service after not_before: at least "
            f"{data['room_first_day']} that day, {data['room_horizon']} in "
            f"{slots.BOOKING_HORIZON_DAYS} days)"
        )
        for problem in s["problems"]:
            print(f"   CHECK FAILED: {problem}")
        if not s["problems"]:
            print(
                "   checks: all moved, bookings = tickets per slot, within capacity, real slots "
                "after not_before, calling order and priority kept, one SMS per phone"
            )
        ph = rs["phases"]
        rest = rs["seconds"] - sum(v for k, v in ph.items() if k != "message_for")
        print(
            "   rescheduler's time (median round): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in ph.items())
            + f"; the rest (reading the tickets, done_before, locks, bookkeeping) {rest:.2f} s"
        )
        top = sorted(rs["statements"].items(), key=lambda kv: -kv[1]["seconds"])[:7]
        print(
            "   its statements (time in Connection.execute): "
            + "; ".join(f"{k} x{v['count']} {v['seconds']:.2f} s" for k, v in top)
        )
        fl = s["median_round"]["floor"]["statements"]
        print(
            "   the floor's: "
            + "; ".join(f"{k} x{v['count']} {v['seconds']:.2f} s" for k, v in fl.items())
        )
    if len(summaries) >= 2:
        small, large = summaries[0], summaries[-1]
        size_ratio = large["size"] / small["size"]
        seconds_ratio = large["rescheduler_s"] / small["rescheduler_s"]
        floor_ratio = large["floor_s"] / small["floor_s"]
        linear = seconds_ratio <= size_ratio * LINEAR_SLACK
        print(
            f"\ngrowth {small['size']} -> {large['size']} (x{size_ratio:g} tickets): "
            f"rescheduler x{seconds_ratio:.1f}, floor x{floor_ratio:.1f}, peak memory "
            f"+{small['growth_mib']:.0f} -> +{large['growth_mib']:.0f} MiB; linear "
            f"(<= x{size_ratio * LINEAR_SLACK:g}): {'met' if linear else 'MISSED'}"
        )


# What the profile summary shows the cumulative time of: (file ending, function).
PROFILED = (
    ("rescheduler.py", "_reschedule_chunk"),
    ("rescheduler.py", "_write"),
    ("bench/reschedule.py", "word"),
    ("slots.py", "openings"),
    ("slots.py", "capacities"),
    ("slots.py", "booked_counts"),
    ("slots.py", "blocked_times"),
    ("slots.py", "slot_times"),
    ("rescheduler.py", "plan"),
    ("directory.py", "current"),
    ("slots.py", "add_places"),
)


def profile_summary(r: dict[str, Any]) -> None:
    stats = pstats.Stats(r["file"])
    total = stats.total_tt  # type: ignore[attr-defined]
    print(
        f"\nprofile of {r['database']} {r['size']} ({r['file']}): {total:.2f} s under "
        f"cProfile, Python heap peak {r['heap_peak_mib']:.1f} MiB (tracemalloc)"
    )
    entries = stats.stats  # type: ignore[attr-defined]
    for ending, name in PROFILED:
        found = [v for (f, _, n), v in entries.items() if n == name and f.endswith(ending)]
        if found:
            calls, cumulative = found[0][1], found[0][3]
            share = cumulative / total * 100
            print(f"   {cumulative:7.2f} s {share:5.1f} %  {name} ({ending}) x{calls}")
    print("   most time of their own:")
    own = sorted(entries.items(), key=lambda kv: -kv[1][2])[:8]
    for (f, line, name), (_, calls, tottime, _, _) in own:
        where = f.split("site-packages/")[-1].split(str(REPO_ROOT) + "/")[-1]
        print(f"   {tottime:7.2f} s  {where}:{line} {name} x{calls}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m bench.reschedule", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="10000,100000", help="ticket counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="floor + rescheduler runs per size")
    parser.add_argument("--capacity", choices=sorted(PROFILES), default="ample")
    parser.add_argument("--message", choices=("template", "fixed"), default="template")
    parser.add_argument("--profile", type=Path, help="also profile each size into this folder")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(
        f"bench.reschedule: {BRANCHES} branches, sizes {sizes}, {args.rounds} round(s), capacity "
        f"{args.capacity}, message {args.message}, chunk {rescheduler.CHUNK}; Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    everything: dict[str, Any] = {"options": vars(args) | {"sizes": sizes}, "databases": []}
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        if kind == "postgresql" and not postgresql_url():
            print("postgresql: set QUEUE_BENCH_DATABASE_URL or QUEUE_TEST_DATABASE_URL")
            continue
        rounds: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for n in range(args.rounds):
            for size in sizes if n % 2 == 0 else reversed(sizes):  # sizes alternate: drift shows
                result = run_round(kind, size, args)
                rounds[size].append(result)
                print(
                    f"  {kind} {size} round {n + 1}: rescheduler "
                    f"{result['rescheduler']['seconds']:.2f} s, floor "
                    f"{result['floor']['seconds']:.2f} s, ratio {result['ratio']:.2f} "
                    f"({result['wall_s']:.0f} s)",
                    flush=True,
                )
        summaries = [summarise(kind, size, rounds[size]) for size in sizes]
        profiles = [profile_run(kind, size, args) for size in sizes] if args.profile else []
        report(kind, summaries)
        for p in profiles:
            profile_summary(p)
        everything["databases"].append(
            {"database": kind, "summaries": summaries, "rounds": rounds, "profiles": profiles}
        )
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
