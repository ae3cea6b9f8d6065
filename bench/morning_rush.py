"""Morning rush: 100 branches' kiosks issue walk-in tickets as fast as the server answers while
10,000 ticket pages poll their ticket every 10 s, on one web process and one worker, then on two
of each, in the same run; after each, SQL checks that the second process of each kind broke
nothing (numbers, bookings, messages, the health monitor's leader).

    python -m bench.morning_rush [--seconds 30] [--kiosks 8] [--pages 10000]
                                 [--poll-interval 10] [--pollers 32] [--order ab|ba]
                                 [--json out.json]

PostgreSQL only: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``)
is dropped and recreated before each configuration, so point it at a database you may wipe. Redis
on 127.0.0.1:6379 holds the shared rate-limit counts (``--redis-db``, flushed at the start).

The helpers that start ``queue-app serve``, make a fresh database and read CPU from /proc are
``bench.serve_load``'s.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import itertools
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import yaml

from bench.serve_load import (
    CANDIDATE_ZONES,
    NO_POSTGRESQL,
    REPO_ROOT,
    SERVICES,
    BenchError,
    Server,
    bench_config,
    percentile,
    postgresql_url,
    process_tree_cpu_s,
    queue_app_command,
    redact,
    reset_postgresql,
    run_and_report,
    run_cli,
    server_problems,
    serving,
)
from queue_app.settings import Settings, normalise_database_url
from queue_app.worker.health_monitor import ADVISORY_LOCK_KEY

BRANCHES = 100
# A branch's local time must stay this far from midnight (its "23:59"–"00:00" gap, and the
# day's numbering starting over) for the whole run.
MIDNIGHT_MARGIN = timedelta(hours=2)
# Egyptian mobile numbers, one per ticket: the daily cap per number must not refuse any.
PHONE_PREFIX = "+2010"


@dataclass(frozen=True)
class Configuration:
    name: str
    web_processes: int
    workers: int


CONFIGURATIONS = (
    Configuration("a", web_processes=1, workers=1),
    Configuration("b", web_processes=2, workers=2),
)


# --- the branches --------------------------------------------------------------------------


def quiet_zones(now: datetime, margin: timedelta = MIDNIGHT_MARGIN) -> list[str]:
    """The candidate zones whose local time is at least ``margin`` from midnight, either way."""

    def far_from_midnight(zone: str) -> bool:
        local = now.astimezone(ZoneInfo(zone))
        since = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
        return margin <= since <= timedelta(days=1) - margin

    zones = [zone for zone in CANDIDATE_ZONES if far_from_midnight(zone)]
    if not zones:
        raise BenchError(f"no candidate zone is {margin} from midnight at {now:%H:%M} UTC")
    return zones


def branch_codes(count: int = BRANCHES) -> list[str]:
    return [f"rush-{i:03d}" for i in range(1, count + 1)]


def rush_config(codes: Sequence[str], zones: Sequence[str]) -> dict[str, Any]:
    """``serve_load``'s branch (open all day, three services, four open counters), once per code,
    the zones taken in turn."""
    config = bench_config(zones[0])
    template = config["branches"][0]
    branches = []
    for i, code in enumerate(codes):
        branch = copy.deepcopy(template)
        branch["code"] = code
        branch["name"] = {"ar": f"فرع {i + 1}", "en": f"Branch {i + 1}"}
        branch["timezone"] = zones[i % len(zones)]
        branches.append(branch)
    config["branches"] = branches
    return config


def kiosk_tokens(env: dict[str, str], codes: Sequence[str]) -> dict[str, str]:
    """One kiosk token per branch, made by the function behind ``queue-app token create`` (a
    token is for one branch; a hundred CLI runs would cost a second each)."""
    from queue_app import access
    from queue_app.app import create_app
    from queue_app.clock import SystemClock
    from queue_app.web.extensions import db

    app = create_app(Settings.from_env(env))
    with app.app_context():
        clock, session = SystemClock(), db.session()
        tokens = {
            code: access.create_token(session, clock, "kiosk", code, label="morning rush")
            for code in codes
        }
        session.commit()
        db.engine.dispose()
    return tokens


# --- the worker processes ------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def working(env: dict[str, str], workdir: Path, number: int) -> Iterator[Worker]:
    """``queue-app worker``, stopped with SIGTERM (it finishes its sends and exits)."""
    log_path = workdir / f"worker-{number}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*queue_app_command(), "worker"],
            env={**env, "PYTHONUNBUFFERED": "1"},
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = Worker(process, log_path)
    try:
        deadline = time.monotonic() + 60
        while "worker: sending SMS" not in worker.log_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"queue-app worker did not start:\n{worker.log_text()[-2000:]}")
            time.sleep(0.2)
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def web_processes(server: Server) -> list[int]:
    """The gunicorn workers: the children of ``queue-app serve`` (the gunicorn master)."""
    pid = server.process.pid
    try:
        return [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return []


def connections_per_process(port: int, pids: Sequence[int]) -> dict[int, int]:
    """Established connections to ``port`` held by each process, from /proc: gunicorn's
    processes share one listening socket and the kernel decides who accepts, and a keep-alive
    connection stays with the process that accepted it."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "0100007F:1F90", state 01 = ESTABLISHED, inode is the 10th field
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    counts = {}
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        counts[pid] = sum(link[8:-1] in inodes for link in links if link.startswith("socket:["))
    return counts


def memory_kib(pid: int, field_name: str) -> int | None:
    """VmRSS or VmHWM (peak RSS) of a process, in KiB, from /proc; None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class MemorySampler:
    """Samples VmRSS of the web processes and the workers twice a second; at the end, the
    highest seen or the kernel's own high-water mark (VmHWM), whichever is larger."""

    def __init__(self, web: Sequence[int], workers: Sequence[int]) -> None:
        self.groups = {"web": list(web), "worker": list(workers)}
        self.peak_kib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, field_name: str) -> None:
        for pids in self.groups.values():
            for pid in pids:
                kib = memory_kib(pid, field_name)
                if kib is not None:
                    self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), kib)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample("VmRSS")

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample("VmHWM")

    def peak_mib(self, group: str) -> float | None:
        values = [self.peak_kib[pid] for pid in self.groups[group] if pid in self.peak_kib]
        return round(max(values) / 1024, 1) if values else None


# --- the load ------------------------------------------------------------------------------


@dataclass
class Tally:
    """One client thread's counts; threads keep their own and are summed at the end."""

    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)  # "issue 201", "lookup 304"
    samples: dict[str, str] = field(default_factory=dict)
    late_polls: int = 0  # polls sent more than a second after their due time
    max_lateness_s: float = 0.0
    pages_polled: int = 0  # pages polled at least once: a page never reached shows nothing new

    def record(self, kind: str, status: str, ms: float, body: bytes, ok: bool) -> None:
        self.statuses[f"{kind} {status}"] += 1
        if ok:
            self.latencies_ms.setdefault(kind, []).append(ms)
        elif f"{kind} {status}" not in self.samples:
            self.samples[f"{kind} {status}"] = body[:300].decode("utf-8", "replace")

    def add(self, other: Tally) -> None:
        for kind, values in other.latencies_ms.items():
            self.latencies_ms.setdefault(kind, []).extend(values)
        self.statuses.update(other.statuses)
        for key, sample in other.samples.items():
            self.samples.setdefault(key, sample)
        self.late_polls += other.late_polls
        self.pages_polled += other.pages_polled
        self.max_lateness_s = max(self.max_lateness_s, other.max_lateness_s)


def send(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> tuple[str, bytes, http.client.HTTPResponse | None]:
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        return str(response.status), response.read(), response
    except (OSError, http.client.HTTPException) as err:
        conn.close()  # http.client reconnects on the next request
        return type(err).__name__, repr(err).encode(), None


@dataclass
class Budget:
    """The bounds shared by every client thread: a deadline and a request count."""

    deadline: float
    max_requests: int
    _sent: Iterator[int] = field(default_factory=itertools.count)

    def take(self) -> bool:
        # next() on itertools.count is atomic under the GIL: no lock needed.
        return time.perf_counter() < self.deadline and next(self._sent) < self.max_requests


class Kiosks:
    """Walk-in tickets across the branches, each kiosk thread as fast as the server answers.
    A share of the citizens give a phone (a distinct number each): their tickets are texted."""

    def __init__(
        self, port: int, tokens: dict[str, str], *, phone_share: float, first_phone: int
    ) -> None:
        self.port = port
        self.codes = sorted(tokens)
        self.headers = {
            code: {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            for code, token in tokens.items()
        }
        self.phone_every = round(1 / phone_share) if phone_share > 0 else 0
        self._phones = itertools.count(first_phone)

    def run(self, number: int, kiosks: int, budget: Budget, tally: Tally, out: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        start = number * len(self.codes) // kiosks
        n = 0
        while budget.take():
            # Branch and service both move on by one: 100 and 3 share no factor, so every
            # kiosk walks every branch's every service.
            code = self.codes[(start + n) % len(self.codes)]
            request: dict[str, Any] = {"service": SERVICES[(number + n) % len(SERVICES)]}
            if self.phone_every and n % self.phone_every == 0:
                request["phone"] = f"{PHONE_PREFIX}{next(self._phones):08d}"
            sent = time.perf_counter()
            status, body, _ = send(
                conn,
                "POST",
                f"/api/v1/branches/{code}/tickets",
                json.dumps(request).encode(),
                self.headers[code],
            )
            ms = (time.perf_counter() - sent) * 1000
            tally.record("issue", status, ms, body, status == "201")
            if status == "201":
                out.append(json.loads(body)["token"])
            n += 1
        conn.close()


class Pages:
    """Ticket pages, each polling its ticket every ``interval`` seconds, their first polls spread
    evenly over the first interval. A page keeps the ETag it was given and sends it back in
    If-None-Match; 304 (nothing changed) counts as an answer like 200."""

    def __init__(self, port: int, tokens: Sequence[str], interval: float) -> None:
        self.port = port
        self.paths = [f"/api/v1/tickets/{token}" for token in tokens]
        self.etags: list[str | None] = [None] * len(tokens)
        self.interval = interval

    def open_page(self, number: int, pollers: int, tally: Tally) -> None:
        """Each page's first load, as the citizen opens it after the kiosk: it keeps the ETag."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for page in range(number, len(self.paths), pollers):
            status, body, response = send(conn, "GET", self.paths[page], None, {})
            tally.record("open", status, 0.0, body, status == "200")
            if status == "200" and response is not None:
                self.etags[page] = response.getheader("ETag")
        conn.close()

    def open_all(self, pollers: int) -> Tally:
        tallies = [Tally() for _ in range(pollers)]
        run_threads([(self.open_page, (i, pollers, tallies[i])) for i in range(pollers)])
        tally = Tally()
        for t in tallies:
            tally.add(t)
        return tally

    def run(self, number: int, pollers: int, started: float, budget: Budget, tally: Tally) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        pages = range(number, len(self.paths), pollers)
        spacing = self.interval / len(self.paths)
        for round_number in itertools.count():
            for page in pages:
                due = started + round_number * self.interval + page * spacing
                now = time.perf_counter()
                if due > now:
                    if due >= budget.deadline:
                        conn.close()
                        return
                    time.sleep(due - now)
                elif now - due > 1.0:
                    tally.late_polls += 1
                    tally.max_lateness_s = max(tally.max_lateness_s, now - due)
                if not budget.take():
                    conn.close()
                    return
                if round_number == 0:
                    tally.pages_polled += 1
                etag = self.etags[page]
                headers = {"If-None-Match": etag} if etag else {}
                sent = time.perf_counter()
                status, body, response = send(conn, "GET", self.paths[page], None, headers)
                ms = (time.perf_counter() - sent) * 1000
                tally.record("lookup", status, ms, body, status in ("200", "304"))
                if status == "200" and response is not None:
                    self.etags[page] = response.getheader("ETag")


def run_threads(targets: Sequence[tuple[Any, tuple[Any, ...]]]) -> None:
    threads = [threading.Thread(target=t, args=a, daemon=True) for t, a in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def pre_issue(kiosks: Kiosks, pages: int, clients: int, time_limit_s: float) -> list[str]:
    """The tickets behind the pages, issued through the API before the measured minute."""
    budget = Budget(time.perf_counter() + time_limit_s, pages)
    tallies = [Tally() for _ in range(clients)]
    outs: list[list[str]] = [[] for _ in range(clients)]
    run_threads([(kiosks.run, (i, clients, budget, tallies[i], outs[i])) for i in range(clients)])
    tokens = [token for out in outs for token in out]
    if len(tokens) < pages:
        failed = Tally()
        for tally in tallies:
            failed.add(tally)
        raise BenchError(
            f"only {len(tokens)} of {pages} tickets were issued before the rush "
            f"({dict(failed.statuses)})"
        )
    return tokens


# --- the checks ----------------------------------------------------------------------------


def advisory_key_parts(key: int = ADVISORY_LOCK_KEY) -> tuple[int, int]:
    """pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32)."""
    return key >> 32, key & 0xFFFFFFFF


def leaders(conn: psycopg.Connection[Any]) -> int:
    """How many sessions hold the health monitor's advisory lock in this database now."""
    high, low = advisory_key_parts()
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (high, low),
    ).fetchone()
    return int(row[0]) if row else 0


# Each query counts what must be zero.
CHECKS = {
    # Visible number = letter + sequence, per branch and the branch's local day (numbering.py).
    "duplicate_numbers": """
        SELECT count(*) FROM (SELECT 1 FROM tickets
            GROUP BY branch_id, letter, local_day, sequence HAVING count(*) > 1) AS d""",
    "active_tickets_sharing_a_number": """
        SELECT count(*) FROM (SELECT 1 FROM tickets
            WHERE status IN ('waiting', 'called', 'on_hold', 'scheduled')
            GROUP BY branch_id, letter, local_day, sequence HAVING count(*) > 1) AS d""",
    # numbering.py promises no gaps: a rolled-back issue gives its number back.
    "number_gaps": """
        SELECT coalesce(sum(top - taken), 0) FROM (SELECT max(sequence) AS top, count(*) AS taken
            FROM tickets GROUP BY branch_id, letter, local_day) AS g""",
    "counter_rows_behind_tickets": """
        SELECT count(*) FROM ticket_number_sequences s
        WHERE s.last_number <> (SELECT max(t.sequence) FROM tickets t WHERE t.branch_id =
            s.branch_id AND t.letter = s.letter AND t.local_day = s.local_day)""",
    # A slot's booked count beyond the tickets holding it, or the other way (the run books no
    # appointments: this stays at zero unless something books behind its back).
    "slot_counts_off": """
        SELECT count(*) FROM slot_bookings b WHERE b.booked <> (SELECT count(*) FROM tickets t
            WHERE t.service_id = b.service_id AND t.slot_start = b.starts_at
            AND t.status IN ('scheduled', 'waiting', 'called', 'on_hold'))""",
    "duplicate_messages": """
        SELECT count(*) FROM (SELECT 1 FROM messages WHERE ticket_id IS NOT NULL
            GROUP BY ticket_id, event HAVING count(*) > 1) AS d""",
    "messages_sent_again_after_a_crash": """
        SELECT count(*) FROM messages WHERE reconciled = 'resent'""",
}


SEND_LINE = re.compile(r"^--- SMS \S+ to (\+\d+)", re.MULTILINE)


def sends_in_logs(logs: Sequence[str]) -> Counter[str]:
    """Messages the console gateway printed, per number, over every worker's log."""
    return Counter(phone for text in logs for phone in SEND_LINE.findall(text))


def double_sends(printed: Counter[str], recorded: Counter[str]) -> dict[str, int]:
    """Numbers that got more sends than the outbox records as sent for them: one message went
    out twice (two workers, or a send and a resend). The extra count per number."""
    return {
        phone: count - recorded.get(phone, 0)
        for phone, count in printed.items()
        if count > recorded.get(phone, 0)
    }


def run_checks(conninfo: str, workers: Sequence[Worker]) -> dict[str, Any]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found: dict[str, Any] = {
            name: int(conn.execute(query).fetchone()[0])  # type: ignore[index]
            for name, query in CHECKS.items()
        }
        recorded = Counter(
            {
                to: int(n)
                for to, n in conn.execute(
                    'SELECT "to", count(*) FROM messages WHERE sent_at IS NOT NULL GROUP BY 1'
                )
            }
        )
        found["message_statuses"] = {
            status: int(n)
            for status, n in conn.execute("SELECT status, count(*) FROM messages GROUP BY 1")
        }
        found["tickets"] = int(conn.execute("SELECT count(*) FROM tickets").fetchone()[0])  # type: ignore[index]
    logs = [worker.log_text() for worker in workers]
    printed = sends_in_logs(logs)
    extra = double_sends(printed, recorded)
    found["sends_printed"] = sum(printed.values())
    found["sends_recorded"] = sum(recorded.values())
    found["numbers_texted_twice"] = len(extra)
    found["double_send_samples"] = dict(list(extra.items())[:5])
    found["workers_that_led"] = sum("this worker leads the health monitor" in t for t in logs)
    return found


# --- one configuration ---------------------------------------------------------------------


@dataclass
class Options:
    seconds: float
    kiosks: int
    pages: int
    poll_interval: float
    pollers: int
    phone_share: float
    sms_rate: float
    max_requests: int
    pre_issue_limit_s: float
    drain_seconds: float
    redis_db: int


def conninfo_of(url: str) -> str:
    return normalise_database_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def run_configuration(config: Configuration, url: str, options: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"queue-rush-{config.name}-") as tmp:
        workdir = Path(tmp)
        reset_postgresql(url)
        env = {
            **os.environ,
            "QUEUE_DATABASE_URL": url,
            "QUEUE_INSTANCE_PATH": str(workdir / "instance"),
            "QUEUE_SECRET_KEY": secrets.token_hex(32),
            "QUEUE_SMS_GATEWAY": "console",
            "QUEUE_SMS_RATE": str(options.sms_rate),
            "QUEUE_WEB_WORKERS": str(config.web_processes),
            "QUEUE_RATE_LIMIT_STORAGE": f"redis://127.0.0.1:6379/{options.redis_db}",
        }
        settings = Settings.from_env(env)
        print(
            f"\n== ({config.name}) {config.web_processes} web process(es) x "
            f"{settings.web_threads} threads + {config.workers} worker(s) on "
            f"{redact(settings.database_url)}",
            flush=True,
        )
        run_cli(["db", "upgrade"], env)
        zones = quiet_zones(datetime.now(UTC))
        codes = branch_codes()
        config_path = workdir / "rush.yaml"
        config_path.write_text(yaml.safe_dump(rush_config(codes, zones), allow_unicode=True))
        run_cli(["load", str(config_path)], env)
        tokens = kiosk_tokens(env, codes)
        conninfo = conninfo_of(url)

        with ExitStack() as stack:
            server = stack.enter_context(serving(env, workdir))
            workers = [
                stack.enter_context(working(env, workdir, i + 1)) for i in range(config.workers)
            ]
            kiosks = Kiosks(server.port, tokens, phone_share=options.phone_share, first_phone=0)
            began = time.perf_counter()
            page_tokens = pre_issue(
                kiosks, options.pages, max(options.kiosks, 16), options.pre_issue_limit_s
            )
            print(
                f"   {len(page_tokens)} tickets for the pages issued in "
                f"{time.perf_counter() - began:.1f} s",
                flush=True,
            )
            measured = rush(server, workers, kiosks, page_tokens, conninfo, options)
            drained = drain(conninfo, options.drain_seconds)
        # The workers and the server have stopped: their logs are complete.
        checks = run_checks(conninfo, workers)
        checks["leaders_while_running"] = measured.pop("leaders_while_running")
        problems = server_problems(server.log_path)
        worker_problems = [
            line
            for worker in workers
            for line in worker.log_text().splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        return {
            "configuration": config.name,
            "web_processes": config.web_processes,
            "web_threads": settings.web_threads,
            "workers": config.workers,
            "zones": zones,
            **measured,
            "outbox_drained_after_s": drained,
            "checks": checks,
            "server_log_problems": problems[:20],
            "worker_log_problems": worker_problems[:20],
        }


def rush(
    server: Server,
    workers: Sequence[Worker],
    kiosks: Kiosks,
    page_tokens: Sequence[str],
    conninfo: str,
    options: Options,
) -> dict[str, Any]:
    """The measured stretch: kiosks and pages at once, the leader looked up halfway and at
    the end."""
    pages = Pages(server.port, page_tokens, options.poll_interval)
    began = time.perf_counter()
    opened = pages.open_all(options.pollers)
    with_etag = sum(etag is not None for etag in pages.etags)
    print(
        f"   {opened.statuses['open 200']} pages opened in {time.perf_counter() - began:.1f} s, "
        f"{with_etag} with an ETag",
        flush=True,
    )
    if opened.statuses["open 200"] < len(page_tokens):
        raise BenchError(f"not every page opened: {dict(opened.statuses)}")
    web = web_processes(server)
    if not web:
        raise BenchError("no gunicorn worker process found under queue-app serve")
    worker_pids = [w.process.pid for w in workers]
    leader_counts: list[int] = []
    connections: dict[int, int] = {}

    def halfway() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            time.sleep(options.seconds / 2)
            leader_counts.append(leaders(conn))
        connections.update(connections_per_process(server.port, web))

    load_before = os.getloadavg()[0]
    server_cpu = process_tree_cpu_s(server.process.pid)
    worker_cpu = [process_tree_cpu_s(pid) for pid in worker_pids]
    client_cpu = time.process_time()
    started = time.perf_counter()
    budget = Budget(started + options.seconds, options.max_requests)
    kiosk_tallies = [Tally() for _ in range(options.kiosks)]
    page_tallies = [Tally() for _ in range(options.pollers)]
    issued: list[list[str]] = [[] for _ in range(options.kiosks)]
    with MemorySampler(web, worker_pids) as memory:
        run_threads(
            [
                (kiosks.run, (i, options.kiosks, budget, kiosk_tallies[i], issued[i]))
                for i in range(options.kiosks)
            ]
            + [
                (pages.run, (i, options.pollers, started, budget, page_tallies[i]))
                for i in range(options.pollers)
            ]
            + [(halfway, ())]
        )
    elapsed = time.perf_counter() - started
    with psycopg.connect(conninfo, autocommit=True) as conn:
        leader_counts.append(leaders(conn))
    client_cpu = time.process_time() - client_cpu
    server_after = process_tree_cpu_s(server.process.pid)
    worker_after = [process_tree_cpu_s(pid) for pid in worker_pids]

    tally = Tally()
    for t in (*kiosk_tallies, *page_tallies):
        tally.add(t)
    issue_ms = tally.latencies_ms.get("issue", [])
    lookup_ms = tally.latencies_ms.get("lookup", [])
    statuses = tally.statuses
    errors = {
        key: n
        for key, n in statuses.items()
        if key not in ("issue 201", "lookup 200", "lookup 304") and not key.endswith(" 429")
    }
    requests = sum(statuses.values())

    def cpu_s(before: float | None, after: float | None) -> float | None:
        return None if before is None or after is None else round(after - before, 2)

    result = {
        "elapsed_s": round(elapsed, 2),
        "pages": len(page_tokens),
        "pages_with_etag_before": with_etag,
        "tickets_per_s": round(len(issue_ms) / elapsed, 1),
        "issue_ms": latency_figures(issue_ms),
        "lookups_per_s": round(len(lookup_ms) / elapsed, 1),
        "lookups_offered_per_s": round(len(page_tokens) / options.poll_interval, 1),
        "lookups_200": statuses["lookup 200"],
        "lookups_304": statuses["lookup 304"],
        "lookup_ms": latency_figures(lookup_ms),
        "pages_polled": tally.pages_polled,
        "late_polls": tally.late_polls,
        "max_poll_lateness_s": round(tally.max_lateness_s, 2),
        "rate_limited_429": statuses["issue 429"] + statuses["lookup 429"],
        "errors": errors,
        "error_samples": {k: v for k, v in tally.samples.items() if k in errors},
        "requests": requests,
        "web_pids": web,
        # Client connections per web process, halfway (keep-alive: they stay where accepted).
        "connections_per_web_process": sorted(connections.values(), reverse=True),
        "peak_rss_web_mib": memory.peak_mib("web"),
        "peak_rss_worker_mib": memory.peak_mib("worker"),
        "server_cpu_s": cpu_s(server_cpu, server_after),
        # CPU per answer moves far less than answers per second on a shared machine.
        "server_cpu_ms_per_answer": per_answer_ms(
            cpu_s(server_cpu, server_after), len(issue_ms) + len(lookup_ms)
        ),
        "worker_cpu_s": [cpu_s(b, a) for b, a in zip(worker_cpu, worker_after, strict=True)],
        "client_cpu_s": round(client_cpu, 2),
        "leaders_while_running": leader_counts,
        # The machine's 1-minute load average before and after: other people's jobs show here.
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }
    print(
        f"   {result['tickets_per_s']} tickets/s, {result['lookups_per_s']} lookups/s "
        f"({result['lookups_200']} 200, {result['lookups_304']} 304), "
        f"errors {errors or 0}, 429s {result['rate_limited_429']}",
        flush=True,
    )
    return result


def per_answer_ms(cpu_s: float | None, answers: int) -> float | None:
    return None if cpu_s is None or not answers else round(cpu_s / answers * 1000, 2)


def drain(conninfo: str, seconds: float) -> float | None:
    """Give the workers up to ``seconds`` to send what the rush queued; seconds it took, or None
    if messages were still queued."""
    started = time.monotonic()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while True:
            left = conn.execute(
                "SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')"
            ).fetchone()
            if left is not None and left[0] == 0:
                return round(time.monotonic() - started, 1)
            if time.monotonic() - started > seconds:
                return None
            time.sleep(0.5)


def latency_figures(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 1),
        "p99": round(percentile(values, 99), 1),
        "p99.9": round(percentile(values, 99.9), 1),
    }


# --- the report ----------------------------------------------------------------------------


def ratio(b: float | None, a: float | None) -> str:
    if a is None or b is None or not a or math.isnan(a) or math.isnan(b):
        return ""
    return f"{b / a:.2f}"


def report(results: Sequence[dict[str, Any]], options: Options) -> str:
    a, b = sorted(results, key=lambda result: result["configuration"])
    heading = (
        f"Morning rush: {BRANCHES} branches, {options.kiosks} kiosks issuing walk-in tickets "
        f"flat out, {options.pages:,} ticket pages polling every {options.poll_interval:g} s "
        f"({options.pages / options.poll_interval:g}/s offered), {options.seconds:g} s per "
        f"configuration, PostgreSQL"
    )
    lines = [
        f"### {heading}",
        "",
        "| | (a) 1 web process + 1 worker | (b) 2 web processes + 2 workers | (b)/(a) |",
        "| --- | ---: | ---: | ---: |",
    ]

    def row(label: str, va: Any, vb: Any, r: str = "") -> None:
        lines.append(f"| {label} | {va} | {vb} | {r} |")

    def compared(label: str, figure: Callable[[dict[str, Any]], Any]) -> None:
        row(label, figure(a), figure(b), ratio(figure(b), figure(a)))

    compared("tickets issued/s", lambda r: r["tickets_per_s"])
    for q in ("p50", "p99", "p99.9"):
        compared(f"issue {q} ms", lambda r, q=q: r["issue_ms"][q])
    row(
        "lookups/s answered (offered)",
        f"{a['lookups_per_s']} ({a['lookups_offered_per_s']:g})",
        f"{b['lookups_per_s']} ({b['lookups_offered_per_s']:g})",
        ratio(b["lookups_per_s"], a["lookups_per_s"]),
    )
    row(
        "lookups 200 / 304",
        f"{a['lookups_200']} / {a['lookups_304']}",
        f"{b['lookups_200']} / {b['lookups_304']}",
    )
    for q in ("p50", "p99", "p99.9"):
        compared(f"lookup {q} ms", lambda r, q=q: r["lookup_ms"][q])
    row(
        "polls > 1 s late (max lateness s)",
        f"{a['late_polls']} ({a['max_poll_lateness_s']})",
        f"{b['late_polls']} ({b['max_poll_lateness_s']})",
    )
    row("pages polled at least once", a["pages_polled"], b["pages_polled"])
    row("429s", a["rate_limited_429"], b["rate_limited_429"])
    row("errors by status", fmt_errors(a["errors"]), fmt_errors(b["errors"]))
    row(
        "client connections per web process (halfway)",
        " / ".join(map(str, a["connections_per_web_process"])),
        " / ".join(map(str, b["connections_per_web_process"])),
    )
    row("peak RSS per web process MiB", a["peak_rss_web_mib"], b["peak_rss_web_mib"])
    row("peak RSS per worker MiB", a["peak_rss_worker_mib"], b["peak_rss_worker_mib"])
    row("CPU s: web / workers / client", cpu_line(a), cpu_line(b))
    compared("web CPU ms per answer", lambda r: r["server_cpu_ms_per_answer"])
    row(
        "machine load average (before, after)",
        ", ".join(map(str, a["load_average"])),
        ", ".join(map(str, b["load_average"])),
    )
    row(
        "SMS sent (printed by the gateway)",
        a["checks"]["sends_printed"],
        b["checks"]["sends_printed"],
    )
    row("outbox empty after the rush within", drained(a), drained(b))
    for name in (*CHECKS, "numbers_texted_twice"):
        row(f"check: {name.replace('_', ' ')}", a["checks"][name], b["checks"][name])
    row(
        "check: health-monitor leaders (mid-run, end)",
        ", ".join(map(str, a["checks"]["leaders_while_running"])),
        ", ".join(map(str, b["checks"]["leaders_while_running"])),
    )
    row("workers that ever led", a["checks"]["workers_that_led"], b["checks"]["workers_that_led"])
    for result in results:
        for key, sample in result["error_samples"].items():
            lines.append(f"\n({result['configuration']}) {key}: {sample[:200]}")
        for line in result["server_log_problems"] + result["worker_log_problems"]:
            lines.append(f"\n({result['configuration']}) log: {line[:200]}")
    return "\n".join(lines)


def fmt_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{k}: {n}" for k, n in sorted(errors.items())) or "0"


def cpu_line(result: dict[str, Any]) -> str:
    workers = "+".join(str(c) for c in result["worker_cpu_s"])
    return f"{result['server_cpu_s']} / {workers} / {result['client_cpu_s']}"


def drained(result: dict[str, Any]) -> str:
    seconds = result["outbox_drained_after_s"]
    return "not drained" if seconds is None else f"{seconds} s"


# --- command line --------------------------------------------------------------------------


def flush_redis(db_number: int) -> None:
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=db_number).flushdb()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.morning_rush", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="per configuration")
    parser.add_argument("--kiosks", type=int, default=8, help="concurrent kiosk clients")
    parser.add_argument("--pages", type=int, default=10_000, help="ticket pages polling")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="seconds per page")
    parser.add_argument("--pollers", type=int, default=32, help="connections the pages share")
    parser.add_argument(
        "--phone-share", type=float, default=0.5, help="share of tickets given a phone"
    )
    parser.add_argument("--sms-rate", type=float, default=100.0, help="QUEUE_SMS_RATE")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="cap per configuration")
    parser.add_argument(
        "--pre-issue-limit", type=float, default=300.0, help="seconds to issue the pages' tickets"
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=30.0, help="wait for the outbox after the rush"
    )
    parser.add_argument(
        "--order",
        choices=("ab", "ba"),
        default="ab",
        help="which configuration runs first (ba: to see how much drift the ratios hold)",
    )
    parser.add_argument("--redis-db", type=int, default=11, help="flushed at the start")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        seconds=args.seconds,
        kiosks=args.kiosks,
        pages=args.pages,
        poll_interval=args.poll_interval,
        pollers=args.pollers,
        phone_share=args.phone_share,
        sms_rate=args.sms_rate,
        max_requests=args.max_requests,
        pre_issue_limit_s=args.pre_issue_limit,
        drain_seconds=args.drain_seconds,
        redis_db=args.redis_db,
    )
    url = postgresql_url()
    if not url:
        print(NO_POSTGRESQL, file=sys.stderr)
        return 2
    order = CONFIGURATIONS if args.order == "ab" else CONFIGURATIONS[::-1]

    def run() -> list[dict[str, Any]]:
        flush_redis(options.redis_db)
        return [run_configuration(c, url, options) for c in order]

    return run_and_report(
        run,
        lambda results: "\n" + report(results, options),
        args.json,
        {**vars(options), "order": args.order},
        lambda: {"load_average": os.getloadavg()},
    )


if __name__ == "__main__":
    sys.exit(main())
