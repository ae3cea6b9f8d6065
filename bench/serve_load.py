"""Load on ``queue-app serve``: walk-in ticket issue and ticket lookup, next to a trivial endpoint.

For each database (SQLite, PostgreSQL) this builds a fresh database with the project's own
commands (``db upgrade``, ``load``, ``token create``), starts ``queue-app serve`` on loopback and
drives it with concurrent keep-alive clients. Each endpoint's throughput is reported as a ratio to
``GET /healthz`` of the same server in the same run: the machines are noisy, so absolute figures
from different runs do not compare, ratios within one run do.

    python -m bench.serve_load [--db sqlite|postgresql|both] [--seconds N] [--clients 8]
                               [--rounds R] [--json out.json]

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``) is
dropped and recreated, so point it at a database you may wipe.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import yaml

from queue_app.settings import Settings, normalise_database_url

REPO_ROOT = Path(__file__).resolve().parent.parent
BRANCH = "bench-branch"
SERVICES = ("id-card", "birth-cert", "family-record")
COUNTERS = 4
WEEKDAYS = ("sat", "sun", "mon", "tue", "wed", "thu", "fri")

# The targets of the issue, as ratios to the trivial endpoint's throughput and a latency bound.
TARGET_RATIO = {"issue": 0.5, "lookup": 0.7, "unchanged": 0.7}
TARGET_P99_MS = 50.0

# Zones the branch may be put in; the one whose local time is farthest from midnight is chosen so
# that the minute between "23:59" closing and "00:00" opening never falls inside a run.
CANDIDATE_ZONES = (
    "Africa/Cairo",
    "Asia/Riyadh",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Tokyo",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
)


# --- what a client sends ------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


# (client number, request number within that client) -> the request to send
RequestMaker = Callable[[int, int], Request]


@dataclass(frozen=True)
class Endpoint:
    name: str
    expected_status: int
    make: RequestMaker
    keep_bodies: bool = False  # issue keeps its bodies: the tokens feed the lookups
    # Also counted as answered: the ticket page's poll may get a full answer (a new minute).
    also_ok: frozenset[str] = frozenset()
    # Path -> the ETag of its last full answer: kept by lookups, sent back by "unchanged".
    tags: dict[str, str] | None = None


def trivial_endpoint() -> Endpoint:
    request = Request("GET", "/healthz")
    return Endpoint("trivial", 200, lambda client, n: request)


def issue_endpoint(kiosk_token: str) -> Endpoint:
    headers = {"Authorization": f"Bearer {kiosk_token}", "Content-Type": "application/json"}
    bodies = [json.dumps({"service": code}).encode() for code in SERVICES]
    path = f"/api/v1/branches/{BRANCH}/tickets"

    def make(client: int, n: int) -> Request:
        # Kiosks spread over the services, as citizens do; each letter has its own number row.
        return Request("POST", path, bodies[(client + n) % len(bodies)], headers)

    return Endpoint("issue", 201, make, keep_bodies=True)


def lookup_endpoint(tokens: Sequence[str], clients: int, tags: dict[str, str]) -> Endpoint:
    if not tokens:
        raise BenchError("no tickets were issued, so there is nothing to look up")
    paths = [f"/api/v1/tickets/{token}" for token in tokens]
    stride = max(1, len(paths) // clients)

    def make(client: int, n: int) -> Request:
        # Each client walks the tickets from its own starting point, so the lookups cover
        # tickets all along the line rather than the same few.
        return Request("GET", paths[(client * stride + n) % len(paths)])

    return Endpoint("lookup", 200, make, tags=tags)


def unchanged_endpoint(tokens: Sequence[str], clients: int, tags: dict[str, str]) -> Endpoint:
    """The ticket page's poll as a phone sends it: with the ETag of its last answer. Nothing
    changes during the phase, so the answer is 304 but for a ticket whose tag a new minute
    made old (one full answer, whose tag the next poll sends). The tickets are those the
    lookup phase just before saw (``tags``): the issue phase before it changed every tag."""
    paths = [f"/api/v1/tickets/{token}" for token in tokens]
    paths = [path for path in paths if path in tags] or paths
    stride = max(1, len(paths) // clients)

    def make(client: int, n: int) -> Request:
        path = paths[(client * stride + n) % len(paths)]
        tag = tags.get(path)
        return Request("GET", path, None, {"If-None-Match": tag} if tag else {})

    return Endpoint("unchanged", 304, make, also_ok=frozenset({"200"}), tags=tags)


# --- driving the load ---------------------------------------------------------------------


class BenchError(Exception):
    """The bench cannot go on (setup failed, server died); the message says why."""


@dataclass
class PhaseResult:
    endpoint: str
    round: int
    clients: int
    elapsed_s: float
    latencies_ms: list[float]  # of the requests answered with the expected status
    statuses: Counter[str]
    error_samples: dict[str, str]
    bodies: list[bytes]
    # CPU seconds spent during the phase by the server (gunicorn master and workers; None off
    # Linux) and by this process's client threads, which share the same cores.
    server_cpu_s: float | None = None
    client_cpu_s: float | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.ok

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "round": self.round,
            "elapsed_s": round(self.elapsed_s, 3),
            "ok": self.ok,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "error_samples": self.error_samples,
            "rps": round(self.rps, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
            "server_cpu_ms_per_request": per_request_ms(self.server_cpu_s, self.ok),
            "client_cpu_ms_per_request": per_request_ms(self.client_cpu_s, self.ok),
        }


def per_request_ms(cpu_s: float | None, requests: int) -> float | None:
    if cpu_s is None or not requests:
        return None
    return round(cpu_s / requests * 1000, 3)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values, so an empty phase cannot pass a target."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def run_phase(
    port: int,
    endpoint: Endpoint,
    *,
    clients: int,
    seconds: float,
    max_requests: int,
    round_number: int,
    pace_s: float = 0.0,
) -> PhaseResult:
    """Run ``clients`` threads, each on its own keep-alive connection, until ``seconds`` pass or
    ``max_requests`` (over all clients) are sent. With ``pace_s``, each client sends at most one
    request every ``pace_s`` seconds (a kiosk used by one citizen after another), not flat out."""
    per_client = max(1, math.ceil(max_requests / clients))
    started: list[float] = []
    barrier = threading.Barrier(clients, action=lambda: started.append(time.perf_counter()))
    finished = [0.0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[Counter[str]] = [Counter() for _ in range(clients)]
    bodies: list[list[bytes]] = [[] for _ in range(clients)]
    samples: dict[str, str] = {}
    expected = {str(endpoint.expected_status), *endpoint.also_ok}
    tags = endpoint.tags

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.connect()  # outside the timed loop: the first request should not pay for it
            barrier.wait()
        except OSError:
            barrier.abort()  # one client that cannot connect must not leave the others waiting
            return
        except threading.BrokenBarrierError:
            return
        deadline = started[0] + seconds
        mine, seen, kept = latencies[number], statuses[number], bodies[number]
        n = 0
        if pace_s:
            # Kiosks used one after another by their own citizens, not pressed at one instant:
            # each starts its round at its own offset within the pace.
            time.sleep(pace_s * number / clients)
        now = time.perf_counter()
        while n < per_client and now < deadline:
            request = endpoint.make(number, n)
            sent = now
            try:
                conn.request(request.method, request.path, request.body, request.headers)
                response = conn.getresponse()
                body = response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as err:
                # http.client opens a new connection on the next request once this one is closed.
                conn.close()
                body, status = repr(err).encode(), type(err).__name__
            now = time.perf_counter()
            seen[status] += 1
            if status in expected:
                mine.append((now - sent) * 1000)
                if tags is not None and status == "200":
                    tag = response.getheader("ETag")
                    if tag:
                        tags[request.path] = tag
                if endpoint.keep_bodies:
                    kept.append(body)  # parsed after the phase, not on the clock
            elif status not in samples:
                samples[status] = body[:300].decode("utf-8", "replace")
            n += 1
            if pace_s and now < sent + pace_s:
                time.sleep(max(0.0, min(sent + pace_s, deadline) - now))
                now = time.perf_counter()
        finished[number] = now
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not started:
        raise BenchError(f"{endpoint.name}: the clients could not connect to the server")
    return PhaseResult(
        endpoint=endpoint.name,
        round=round_number,
        clients=clients,
        elapsed_s=max(finished) - started[0],
        latencies_ms=[ms for per_client_ms in latencies for ms in per_client_ms],
        statuses=sum(statuses, Counter()),
        error_samples=samples,
        bodies=[body for per_client_bodies in bodies for body in per_client_bodies],
    )


def process_tree_cpu_s(pid: int) -> float | None:
    """User and system CPU seconds of a process and its children, from /proc; None where there
    is no /proc. CPU per request moves far less than requests per second on a noisy machine."""
    try:
        tasks = Path(f"/proc/{pid}/task")
        children = [
            int(child)
            for task in tasks.iterdir()
            for child in (task / "children").read_text().split()
        ]
        ticks = 0
        for process in (pid, *children):
            # Fields after the parenthesised command name; utime and stime are the 12th and 13th.
            stat = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(stat[11]) + int(stat[12])
    except (OSError, ValueError, IndexError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def tokens_of(issued: PhaseResult) -> list[str]:
    return [json.loads(body)["token"] for body in issued.bodies]


# --- a fresh database and a running server ------------------------------------------------


def queue_app_command() -> list[str]:
    """``queue-app`` from this interpreter's environment, or the same CLI through ``-c`` when the
    project is not installed there (a checkout run with ``python -m bench.serve_load``)."""
    script = Path(sys.executable).with_name("queue-app")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from queue_app.cli import main; main(prog_name='queue-app')"]


def run_cli(args: Sequence[str], env: dict[str, str]) -> str:
    """Run one ``queue-app`` command and return its standard output. Raises BenchError."""
    command = [*queue_app_command(), *args]
    done = subprocess.run(
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise BenchError(
            f"queue-app {' '.join(args)} failed ({done.returncode}):\n{done.stderr.strip()}"
        )
    return done.stdout


def quiet_zone(now: datetime) -> str:
    """The candidate zone whose local time is farthest from midnight."""

    def distance_from_midnight(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return min(seconds, 24 * 3600 - seconds)

    return max(CANDIDATE_ZONES, key=distance_from_midnight)


def bench_config(timezone: str) -> dict[str, Any]:
    """One branch open around the clock every day, several services, several counters open."""
    names = {
        "id-card": ("بطاقة الرقم القومي", "National ID card"),
        "birth-cert": ("شهادة ميلاد", "Birth certificate"),
        "family-record": ("قيد عائلي", "Family record"),
    }
    return {
        "backends": [
            {
                "code": "bench-registry",
                "name": {"ar": "منظومة الأحوال المدنية", "en": "Civil registry system"},
                "check_interval_s": 5,
                "failure_threshold": 3,
                "recovery_threshold": 2,
            }
        ],
        "branches": [
            {
                "code": BRANCH,
                "name": {"ar": "فرع القياس", "en": "Benchmark branch"},
                "timezone": timezone,
                "country": "EG",
                "hours": {day: ["00:00", "23:59"] for day in WEEKDAYS},
                "holidays": [],
                "reschedule_after_minutes": 20,
                "evening_notice": "18:00",
                "services": [
                    {
                        "code": code,
                        "letter": "ABC"[i],
                        "name": {"ar": names[code][0], "en": names[code][1]},
                        "backends": ["bench-registry"],
                        "avg_service_minutes": 6,
                        "slot_minutes": 30,
                    }
                    for i, code in enumerate(SERVICES)
                ],
                "counters": [
                    {"code": str(i + 1), "services": list(SERVICES), "open": True}
                    for i in range(COUNTERS)
                ],
            }
        ],
    }


def reset_postgresql(url: str) -> None:
    """Drop and recreate the public schema: every run starts from an empty database."""
    conninfo = normalise_database_url(url).replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def serving(
    env: dict[str, str], workdir: Path, command: Sequence[str] | None = None
) -> Iterator[Server]:
    """``queue-app serve`` (or ``command``, which takes the same ``--host`` and ``--port``) on a
    free loopback port, stopped with SIGTERM whatever happens."""
    port = free_port()
    log_path = workdir / "server.log"
    command = [*queue_app_command(), "serve"] if command is None else list(command)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log_path)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(server: Server, timeout_s: float = 60) -> None:
    """Raises BenchError when the server exits or does not answer /healthz in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"queue-app serve exited early:\n{server.log_tail()}")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise BenchError(
        f"queue-app serve did not answer /healthz in {timeout_s} s:\n{server.log_tail()}"
    )


def server_problems(log_path: Path) -> list[str]:
    """Lines of the server's log that say something went wrong (tracebacks, worker timeouts)."""
    markers = ("Traceback", "[ERROR]", "WORKER TIMEOUT", "database is locked", "OperationalError")
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [line for line in text.splitlines() if any(m in line for m in markers)]


# --- one database, start to finish ---------------------------------------------------------


@dataclass
class Options:
    clients: int
    seconds: float
    rounds: int
    warmup_seconds: float
    max_requests: int


def bench_database(kind: str, url: str, options: Options) -> dict[str, Any]:
    """Set up a fresh database of ``kind``, serve it and measure. Returns the JSON-ready result."""
    with tempfile.TemporaryDirectory(prefix=f"queue-bench-{kind}-") as tmp:
        workdir = Path(tmp)
        if kind == "sqlite":
            url = f"sqlite:///{workdir / 'queue.sqlite3'}"
        else:
            reset_postgresql(url)
        env = {
            **os.environ,
            "QUEUE_DATABASE_URL": url,
            "QUEUE_INSTANCE_PATH": str(workdir / "instance"),
            # Several gunicorn workers must share one key; a random one per process would not.
            "QUEUE_SECRET_KEY": secrets.token_hex(32),
            "QUEUE_SMS_GATEWAY": "console",
        }
        # Several web processes must share rate-limit counts (queue-app serve insists).
        env.setdefault("QUEUE_RATE_LIMIT_STORAGE", "redis://127.0.0.1:6379/13")
        settings = Settings.from_env(env)
        print(f"\n== {kind}: {redact(settings.database_url)}", flush=True)
        print(
            f"   queue-app serve with QUEUE_WEB_WORKERS={settings.web_workers} "
            f"QUEUE_WEB_THREADS={settings.web_threads} (defaults unless set in the environment)",
            flush=True,
        )
        run_cli(["db", "upgrade"], env)
        zone = quiet_zone(datetime.now(UTC))
        config_path = workdir / "bench.yaml"
        config_path.write_text(yaml.safe_dump(bench_config(zone), allow_unicode=True))
        run_cli(["load", str(config_path)], env)
        kiosk_token = run_cli(["token", "create", "--role", "kiosk", "--branch", BRANCH], env)
        kiosk_token = kiosk_token.strip().splitlines()[-1]

        with serving(env, workdir) as server:
            phases, issued = measure(server, kiosk_token, options)
        problems = server_problems(server.log_path)
        result = summarise(kind, settings, zone, phases, issued, options)
        result["server_log_problems"] = problems[:20]
        result["server_log_problem_count"] = len(problems)
        return result


def timed_phase(
    server: Server,
    endpoint: Endpoint,
    *,
    clients: int,
    seconds: float,
    max_requests: int,
    round_number: int,
    pace_s: float = 0.0,
    name_width: int = 8,
) -> PhaseResult:
    """``run_phase`` with the CPU the server and this process's clients spent meanwhile; a
    line for each reported round (round 0 is a warm-up)."""
    server_before = process_tree_cpu_s(server.process.pid)
    client_before = time.process_time()
    result = run_phase(
        server.port,
        endpoint,
        clients=clients,
        seconds=seconds,
        max_requests=max_requests,
        round_number=round_number,
        pace_s=pace_s,
    )
    result.client_cpu_s = time.process_time() - client_before
    server_after = process_tree_cpu_s(server.process.pid)
    if server_before is not None and server_after is not None:
        result.server_cpu_s = server_after - server_before
    if round_number > 0:
        print(
            f"   round {round_number} {endpoint.name:<{name_width}} {result.rps:8.1f} req/s  "
            f"p50 {percentile(result.latencies_ms, 50):6.1f} ms  "
            f"p99 {percentile(result.latencies_ms, 99):6.1f} ms  errors {result.errors}  "
            f"server CPU {fmt(per_request_ms(result.server_cpu_s, result.ok))} ms/req",
            flush=True,
        )
    return result


def measure(server: Server, kiosk_token: str, options: Options) -> tuple[list[PhaseResult], int]:
    """Warm up, then rounds of trivial, issue, lookup, and a last trivial run so each round's
    figures have a trivial run on both sides. Returns the phases and how many tickets exist."""

    def phase(endpoint: Endpoint, round_number: int, seconds: float) -> PhaseResult:
        return timed_phase(
            server,
            endpoint,
            clients=options.clients,
            seconds=seconds,
            max_requests=options.max_requests,
            round_number=round_number,
        )

    trivial, issue = trivial_endpoint(), issue_endpoint(kiosk_token)
    # Warm-up (round 0, not reported): every worker process imports, connects and fills its
    # pool; the first tickets also give the lookups something to find.
    phase(trivial, 0, options.warmup_seconds)
    tokens = tokens_of(phase(issue, 0, options.warmup_seconds))
    tags: dict[str, str] = {}
    phase(lookup_endpoint(tokens, options.clients, tags), 0, options.warmup_seconds)
    phase(unchanged_endpoint(tokens, options.clients, tags), 0, options.warmup_seconds)

    phases: list[PhaseResult] = []
    for round_number in range(1, options.rounds + 1):
        phases.append(phase(trivial, round_number, options.seconds))
        issued = phase(issue, round_number, options.seconds)
        phases.append(issued)
        tokens.extend(tokens_of(issued))
        tags.clear()
        phases.append(
            phase(lookup_endpoint(tokens, options.clients, tags), round_number, options.seconds)
        )
        phases.append(
            phase(unchanged_endpoint(tokens, options.clients, tags), round_number, options.seconds)
        )
    phases.append(phase(trivial, options.rounds + 1, options.seconds))
    return phases, len(tokens)


# --- figures --------------------------------------------------------------------------------


def pooled(phases: Sequence[PhaseResult]) -> dict[str, Any]:
    ok = sum(p.ok for p in phases)
    elapsed = sum(p.elapsed_s for p in phases)
    latencies = [ms for p in phases for ms in p.latencies_ms]
    statuses: Counter[str] = sum((p.statuses for p in phases), Counter())
    samples: dict[str, str] = {}
    for p in phases:
        for status, sample in p.error_samples.items():
            samples.setdefault(status, sample)
    server_cpu = [p.server_cpu_s for p in phases]
    return {
        "rps": ok / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "ok": ok,
        "errors": sum(statuses.values()) - ok,
        "statuses": dict(statuses),
        "error_samples": samples,
        "server_cpu_ms_per_request": per_request_ms(
            None if None in server_cpu else sum(c or 0.0 for c in server_cpu), ok
        ),
        "client_cpu_ms_per_request": per_request_ms(sum(p.client_cpu_s or 0.0 for p in phases), ok),
    }


def summarise(
    kind: str,
    settings: Settings,
    zone: str,
    phases: Sequence[PhaseResult],
    tickets: int,
    options: Options,
) -> dict[str, Any]:
    by_name: dict[str, list[PhaseResult]] = {}
    for p in phases:
        by_name.setdefault(p.endpoint, []).append(p)
    endpoints = {name: pooled(runs) for name, runs in by_name.items()}
    trivial_rps = endpoints["trivial"]["rps"]
    trivial_cpu = endpoints["trivial"]["server_cpu_ms_per_request"]
    for name, figures in endpoints.items():
        figures["ratio"] = figures["rps"] / trivial_rps if trivial_rps else math.nan
        # What the throughput ratio would be if the web server's CPU were the only limit: the
        # client's share of the cores and PostgreSQL's own CPU are left out.
        cpu = figures["server_cpu_ms_per_request"]
        figures["cpu_ratio"] = trivial_cpu / cpu if trivial_cpu and cpu else None
        if name in TARGET_RATIO:
            figures["target_ratio"] = TARGET_RATIO[name]
            figures["meets_ratio"] = figures["ratio"] >= TARGET_RATIO[name]
            figures["meets_p99"] = figures["p99_ms"] < TARGET_P99_MS

    # Per round, against the mean of the trivial runs just before and just after it: how much
    # the ratio drifts tells how far to trust the pooled one.
    trivial_runs = {p.round: p.rps for p in by_name["trivial"]}
    rounds = []
    for round_number in range(1, options.rounds + 1):
        around = (trivial_runs[round_number] + trivial_runs[round_number + 1]) / 2
        row: dict[str, Any] = {"round": round_number, "trivial_rps": round(around, 1)}
        for name in TARGET_RATIO:
            run = next(p for p in by_name[name] if p.round == round_number)
            row[f"{name}_rps"] = round(run.rps, 1)
            row[f"{name}_ratio"] = round(run.rps / around, 3) if around else None
        rounds.append(row)

    return {
        "database": kind,
        "web_workers": settings.web_workers,
        "web_threads": settings.web_threads,
        "branch_timezone": zone,
        "tickets_in_line_at_end": tickets,
        "endpoints": {name: rounded(figures) for name, figures in endpoints.items()},
        "rounds": rounds,
        "phases": [p.summary() for p in phases],
    }


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def report(results: Sequence[dict[str, Any]], options: Options) -> str:
    lines = [
        f"\n{options.clients} clients, {options.rounds} rounds of {options.seconds:g} s per "
        f"endpoint; targets: issue >= {TARGET_RATIO['issue']:.0%}, lookup and unchanged >= "
        f"{TARGET_RATIO['lookup']:.0%} of trivial req/s, p99 < {TARGET_P99_MS:g} ms",
        f"{'database':<11} {'endpoint':<8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'ratio':>6} {'cpu ms':>7} {'cpu ratio':>9}  verdict",
    ]
    for result in results:
        for name, f in result["endpoints"].items():
            verdict = ""
            if name in TARGET_RATIO:
                verdict = ", ".join(
                    [
                        "ratio ok" if f["meets_ratio"] else f"ratio MISSED (< {f['target_ratio']})",
                        "p99 ok" if f["meets_p99"] else f"p99 MISSED (>= {TARGET_P99_MS:g} ms)",
                    ]
                )
            cpu, cpu_ratio = fmt(f["server_cpu_ms_per_request"]), fmt(f["cpu_ratio"], 2)
            row = (
                f"{result['database']:<11} {name:<8} {f['rps']:8.1f} {f['p50_ms']:7.1f} "
                f"{f['p99_ms']:7.1f} {f['errors']:6d} {f['ratio']:6.2f} {cpu:>7} {cpu_ratio:>9}"
            )
            lines.append(f"{row}  {verdict}".rstrip())
            if name == "unchanged" and f["ok"]:
                share = f["statuses"].get("304", 0) / f["ok"]
                lines.append(f"{'':<20} answered 304: {share:.1%} (the rest: a new minute)")
            if f["errors"]:
                lines.append(f"{'':<20} statuses {f['statuses']}")
                for status, sample in f["error_samples"].items():
                    lines.append(f"{'':<20} {status}: {sample[:200]}")
        drift = ", ".join(
            f"r{r['round']} issue {r['issue_ratio']} lookup {r['lookup_ratio']} "
            f"unchanged {r['unchanged_ratio']}"
            for r in result["rounds"]
        )
        lines.append(f"{'':<11} per round: {drift}")
        lines.append(
            f"{'':<11} client CPU per request: "
            + ", ".join(
                f"{name} {fmt(f['client_cpu_ms_per_request'])} ms"
                for name, f in result["endpoints"].items()
            )
        )
        lines.append(
            f"{'':<11} {result['tickets_in_line_at_end']} tickets waiting at the end; "
            f"{result['server_log_problem_count']} problem lines in the server log"
        )
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------


NO_POSTGRESQL = (
    "PostgreSQL needs QUEUE_BENCH_DATABASE_URL or QUEUE_TEST_DATABASE_URL: a database whose "
    "public schema the bench may drop"
)
# What a bench that can also run on SQLite alone adds to it.
OR_SQLITE = " (or run with --db sqlite)"


def run_and_report(
    run: Callable[[], list[dict[str, Any]]],
    render: Callable[[list[dict[str, Any]]], str],
    json_path: Path | None,
    options: dict[str, Any],
    machine: Callable[[], dict[str, Any]] | None = None,
) -> int:
    """A bench's last steps, the same for every bench: ``run`` it, print what ``render`` makes of
    its results and, with ``json_path``, write them (``write_json``, with ``machine()`` read at
    the end). The exit status: 0, or 1 with the reason when the run failed."""
    started = datetime.now(UTC)
    try:
        results = run()
    except BenchError as err:
        print(f"bench failed: {err}", file=sys.stderr)
        return 1
    print(render(results))
    if json_path:
        write_json(json_path, started, options, results, machine() if machine else None)
    return 0


def write_json(
    path: Path,
    started: datetime,
    options: dict[str, Any],
    results: Sequence[Any],
    machine: dict[str, Any] | None = None,
) -> None:
    """Every figure of a run, with when, on what and with which options it ran."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "started_at": started.isoformat(),
        "duration_s": round((datetime.now(UTC) - started) / timedelta(seconds=1), 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            **(machine or {}),
        },
        "options": options,
        "results": results,
    }
    path.write_text(json.dumps(document, indent=2, default=str))
    print(f"\nwrote {path}")


def postgresql_url() -> str | None:
    return os.environ.get("QUEUE_BENCH_DATABASE_URL") or os.environ.get("QUEUE_TEST_DATABASE_URL")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.serve_load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and round")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="cap per endpoint and round"
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        clients=args.clients,
        seconds=args.seconds,
        rounds=args.rounds,
        warmup_seconds=args.warmup_seconds,
        max_requests=args.max_requests,
    )
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    pg_url = postgresql_url()
    if "postgresql" in kinds and not pg_url:
        print(NO_POSTGRESQL + OR_SQLITE, file=sys.stderr)
        return 2
    return run_and_report(
        lambda: [bench_database(kind, pg_url or "", options) for kind in kinds],
        lambda results: report(results, options),
        args.json,
        vars(options),
    )


if __name__ == "__main__":
    sys.exit(main())
