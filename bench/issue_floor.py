"""Ticket issue against its floor: the product's issue next to a hand-written one, same server.

The floor (``bench/floor_server.py``) is ``queue-app serve``'s app with one more route that makes
the same rows as a walk-in ticket with a phone (number, ticket, first event, outbox message,
line revision) in one transaction with the fewest round trips, and nothing else. The issue's
target: the product's ticket issue within 1.5x of the floor, and its p99 under 100 ms, with 8
kiosks issuing at once, on SQLite and on PostgreSQL.

    python -m bench.issue_floor [--db sqlite|postgresql|both] [--seconds N] [--clients 8]
                                [--rounds R] [--starts 0 500] [--json out.json]

Per database (and, for SQLite, once more with one web process), in one run: a fresh database
made with the project's commands, the floor's server started, then rounds of trivial
(``GET /healthz``), floor issue and product issue, each with ``--clients`` keep-alive clients, for
two offices: "big" (3 services, 4 counters, as ``bench.serve_load``) and "small" (1 service,
1 counter). Every ticket stays waiting, so the line grows during a phase; each product phase
has a branch of its own whose line starts empty or with ``--starts`` tickets issued beforehand
(untimed), since the product's issue works out the new ticket's place and wait from the whole
line. Ratios are within one run: the machines are noisy.

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``) is
dropped and recreated, so point it at a database you may wipe.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import os
import secrets
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from bench.floor_server import FLOOR_PATH
from bench.serve_load import (
    COUNTERS,
    NO_POSTGRESQL,
    OR_SQLITE,
    SERVICES,
    BenchError,
    Endpoint,
    PhaseResult,
    Request,
    bench_config,
    fmt,
    percentile,
    pooled,
    postgresql_url,
    quiet_zone,
    redact,
    reset_postgresql,
    run_and_report,
    run_cli,
    server_problems,
    serving,
    timed_phase,
    trivial_endpoint,
)
from bench.serve_load import Server as Server
from queue_app.settings import Settings

# ``queue-app serve`` with the floor's route (bench/floor_server.py), on the same options.
FLOOR_SERVER = (sys.executable, "-m", "bench.floor_server")

# The issue's targets: the product's issue at most 1.5x slower than the floor, p99 under 100 ms.
TARGET_TIMES_FLOOR = 1.5
TARGET_P99_MS = 100.0

# The offices: (services, counters). "big" is bench.serve_load's branch.
SHAPES: dict[str, tuple[tuple[str, ...], int]] = {
    "big": (SERVICES, COUNTERS),
    "small": (SERVICES[:1], 1),
}


# --- the branches -----------------------------------------------------------------------------


def floor_branch(shape: str) -> str:
    return f"floor-{shape}"


def warm_branch(shape: str) -> str:
    return f"warm-{shape}"


def product_branch(shape: str, start: int, round_number: int) -> str:
    return f"{shape}-line{start}-r{round_number}"


def branch_codes(rounds: int, starts: Sequence[int]) -> dict[str, str]:
    """Every branch of the run -> its shape."""
    codes = {}
    for shape in SHAPES:
        codes[floor_branch(shape)] = shape
        codes[warm_branch(shape)] = shape
        for start in starts:
            for round_number in range(1, rounds + 1):
                codes[product_branch(shape, start, round_number)] = shape
    return codes


def floor_config(zone: str, codes: dict[str, str]) -> dict[str, Any]:
    """bench.serve_load's configuration with one branch per code, of the code's shape."""
    config = bench_config(zone)
    template = config["branches"][0]
    branches = []
    for code, shape in codes.items():
        services, counters = SHAPES[shape]
        branch = copy.deepcopy(template)
        branch["code"] = code
        branch["name"] = {"ar": f"فرع القياس {code}", "en": f"Benchmark branch {code}"}
        branch["services"] = [s for s in branch["services"] if s["code"] in services]
        branch["counters"] = [
            {"code": str(i + 1), "services": list(services), "open": True} for i in range(counters)
        ]
        branches.append(branch)
    config["branches"] = branches
    return config


# --- what the kiosks send ---------------------------------------------------------------------


class Phones:
    """A new Egyptian mobile number for every ticket of the run, so that no number reaches the
    day's cap of messages (``daily_cap``, 8 by default) and the product never refuses one."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def __call__(self) -> str:
        return f"+2010{next(self._next) % 10**8:08d}"


def issue_endpoint(
    name: str, path: str, token: str, services: Sequence[str], phones: Phones, *, keep: bool
) -> Endpoint:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def make(client: int, n: int) -> Request:
        # Kiosks spread over the services, as in bench.serve_load; each letter has its own
        # number row, and in the small office all kiosks share its one.
        service = services[(client + n) % len(services)]
        body = json.dumps({"service": service, "phone": phones()}).encode()
        return Request("POST", path, body, headers)

    return Endpoint(name, 201, make, keep_bodies=keep)


def product_issue(branch: str, token: str, shape: str, phones: Phones, name: str) -> Endpoint:
    path = f"/api/v1/branches/{branch}/tickets"
    return issue_endpoint(name, path, token, SHAPES[shape][0], phones, keep=True)


def floor_issue(branch: str, token: str, shape: str, phones: Phones, name: str) -> Endpoint:
    path = FLOOR_PATH.replace("<branch_code>", branch)
    return issue_endpoint(name, path, token, SHAPES[shape][0], phones, keep=False)


# --- the server -------------------------------------------------------------------------------


# --- one database, start to finish --------------------------------------------------------------


@dataclass
class Options:
    clients: int
    seconds: float
    rounds: int
    warmup_seconds: float
    max_requests: int
    starts: tuple[int, ...]
    # Seconds between one kiosk's requests in the timed floor and issue phases (0: flat out).
    pace_s: float = 0.0


@dataclass(frozen=True)
class Variant:
    """A database and how many web processes serve it (None: ``queue-app serve``'s default)."""

    kind: str
    workers: int | None = None

    @property
    def label(self) -> str:
        return self.kind if self.workers is None else f"{self.kind}-w{self.workers}"


def bench_variant(variant: Variant, url: str, options: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"queue-floor-{variant.label}-") as tmp:
        workdir = Path(tmp)
        if variant.kind == "sqlite":
            url = f"sqlite:///{workdir / 'queue.sqlite3'}"
        else:
            reset_postgresql(url)
        env = {
            **os.environ,
            "QUEUE_DATABASE_URL": url,
            "QUEUE_INSTANCE_PATH": str(workdir / "instance"),
            "QUEUE_SECRET_KEY": secrets.token_hex(32),
            "QUEUE_SMS_GATEWAY": "console",
        }
        env.setdefault("QUEUE_RATE_LIMIT_STORAGE", "redis://127.0.0.1:6379/13")
        if variant.workers is not None:
            env["QUEUE_WEB_WORKERS"] = str(variant.workers)
        settings = Settings.from_env(env)
        print(f"\n== {variant.label}: {redact(settings.database_url)}", flush=True)
        print(
            f"   queue-app serve (+ the floor's route) with QUEUE_WEB_WORKERS="
            f"{settings.web_workers} QUEUE_WEB_THREADS={settings.web_threads}",
            flush=True,
        )
        run_cli(["db", "upgrade"], env)
        zone = quiet_zone(datetime.now(UTC))
        codes = branch_codes(options.rounds, options.starts)
        config_path = workdir / "bench.yaml"
        config_path.write_text(yaml.safe_dump(floor_config(zone, codes), allow_unicode=True))
        run_cli(["load", str(config_path)], env)
        tokens = {
            code: run_cli(["token", "create", "--role", "kiosk", "--branch", code], env)
            .strip()
            .splitlines()[-1]
            for code in codes
        }
        with serving(env, workdir, FLOOR_SERVER) as server:
            phases, prefilled = measure(server, tokens, options)
        problems = server_problems(server.log_path)
        lines = waiting_lines(settings.database_url)
        result = summarise(variant, settings, zone, phases, prefilled, lines, options)
        result["server_log_problems"] = problems[:20]
        result["server_log_problem_count"] = len(problems)
        return result


def measure(
    server: Server, tokens: dict[str, str], options: Options
) -> tuple[list[PhaseResult], dict[str, int]]:
    """Fill the lines that start long, warm up, then the rounds. Returns the timed phases and
    how many tickets each long line was given beforehand."""
    phones = Phones()

    def phase(
        endpoint: Endpoint, round_number: int, seconds: float, cap: int, pace_s: float = 0.0
    ) -> PhaseResult:
        return timed_phase(
            server,
            endpoint,
            clients=options.clients,
            seconds=seconds,
            max_requests=cap,
            round_number=round_number,
            pace_s=pace_s,
            name_width=16,
        )

    # The long lines, untimed, through the floor (the same rows, faster). Each kiosk sends its
    # share, so a line gets the next multiple of the number of clients.
    prefilled: dict[str, int] = {}
    for shape in SHAPES:
        for start in (s for s in options.starts if s > 0):
            for round_number in range(1, options.rounds + 1):
                code = product_branch(shape, start, round_number)
                fill = floor_issue(code, tokens[code], shape, phones, "fill")
                filled = phase(fill, 0, 600, start)
                if filled.errors:
                    raise BenchError(f"filling {code}: {filled.statuses} {filled.error_samples}")
                prefilled[code] = filled.ok

    trivial = trivial_endpoint()
    phase(trivial, 0, options.warmup_seconds, options.max_requests)
    for shape in SHAPES:
        floor_code, warm_code = floor_branch(shape), warm_branch(shape)
        for endpoint in (
            floor_issue(floor_code, tokens[floor_code], shape, phones, "warm"),
            product_issue(warm_code, tokens[warm_code], shape, phones, "warm"),
        ):
            phase(endpoint, 0, options.warmup_seconds, options.max_requests)

    phases: list[PhaseResult] = []
    for round_number in range(1, options.rounds + 1):
        phases.append(phase(trivial, round_number, options.seconds, options.max_requests))
        for shape in SHAPES:
            floor_code = floor_branch(shape)
            floor = floor_issue(floor_code, tokens[floor_code], shape, phones, f"floor/{shape}")
            endpoints = [floor]
            for start in options.starts:
                code = product_branch(shape, start, round_number)
                name = f"issue/{shape}/{start}"
                endpoints.append(product_issue(code, tokens[code], shape, phones, name))
            # Every other round the other way round, so that drift during a round does not
            # always favour the same side.
            if round_number % 2 == 0:
                endpoints.reverse()
            for endpoint in endpoints:
                phases.append(
                    phase(
                        endpoint,
                        round_number,
                        options.seconds,
                        options.max_requests,
                        options.pace_s,
                    )
                )
    phases.append(phase(trivial, options.rounds + 1, options.seconds, options.max_requests))
    return phases, prefilled


def waiting_lines(url: str) -> dict[str, int]:
    """Each branch's waiting tickets, counted in the database after the run."""
    engine = create_engine(url)
    found: list[Any]
    try:
        with engine.connect() as conn:
            found = list(
                conn.execute(
                    text(
                        "SELECT b.code, count(*) FROM tickets t "
                        "JOIN branches b ON b.id = t.branch_id "
                        "WHERE t.status = 'waiting' GROUP BY b.code"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    return {str(code): int(count) for code, count in found}


# --- figures ------------------------------------------------------------------------------------


def positions(phase: PhaseResult) -> list[int]:
    """The places in line the product's issue answered (its ``position``)."""
    found = []
    for body in phase.bodies:
        position = json.loads(body).get("position")
        if isinstance(position, int):
            found.append(position)
    return found


def figures_of(runs: Sequence[PhaseResult]) -> dict[str, Any]:
    figures = pooled(runs)
    latencies = [ms for p in runs for ms in p.latencies_ms]
    figures["p99_9_ms"] = percentile(latencies, 99.9)
    figures["max_ms"] = max(latencies) if latencies else math.nan
    return figures


def summarise(
    variant: Variant,
    settings: Settings,
    zone: str,
    phases: Sequence[PhaseResult],
    prefilled: dict[str, int],
    lines: dict[str, int],
    options: Options,
) -> dict[str, Any]:
    by_name: dict[str, list[PhaseResult]] = {}
    for p in phases:
        by_name.setdefault(p.endpoint, []).append(p)
    endpoints = {name: figures_of(runs) for name, runs in by_name.items()}
    trivial = endpoints["trivial"]
    for figures in endpoints.values():
        figures["ratio_to_trivial"] = figures["rps"] / trivial["rps"] if trivial["rps"] else None

    scenarios = []
    for shape in SHAPES:
        floor = endpoints[f"floor/{shape}"]
        for start in options.starts:
            name = f"issue/{shape}/{start}"
            issue = endpoints[name]
            times_floor = floor["rps"] / issue["rps"] if issue["rps"] else math.inf
            floor_cpu = floor["server_cpu_ms_per_request"]
            issue_cpu = issue["server_cpu_ms_per_request"]
            cpu_times_floor = issue_cpu / floor_cpu if floor_cpu and issue_cpu else None
            per_round = []
            for round_number in range(1, options.rounds + 1):
                f = next(p for p in by_name[f"floor/{shape}"] if p.round == round_number)
                i = next(p for p in by_name[name] if p.round == round_number)
                code = product_branch(shape, start, round_number)
                answered = positions(i)
                per_round.append(
                    {
                        "round": round_number,
                        "branch": code,
                        "floor_rps": round(f.rps, 1),
                        "issue_rps": round(i.rps, 1),
                        "times_floor": round(f.rps / i.rps, 2) if i.rps else None,
                        "issue_p99_ms": round(percentile(i.latencies_ms, 99), 1),
                        "line_at_start": prefilled.get(code, 0),
                        "line_at_end": lines.get(code, 0),
                        "last_position_answered": max(answered) if answered else None,
                    }
                )
            scenarios.append(
                {
                    "shape": shape,
                    "services": len(SHAPES[shape][0]),
                    "counters": SHAPES[shape][1],
                    "line_start": start,
                    "times_floor": times_floor,
                    "cpu_times_floor": cpu_times_floor,
                    "issue_p99_ms": issue["p99_ms"],
                    "floor_p99_ms": floor["p99_ms"],
                    "meets_times_floor": times_floor <= TARGET_TIMES_FLOOR,
                    "meets_p99": issue["p99_ms"] < TARGET_P99_MS,
                    "rounds": per_round,
                }
            )
    return {
        "variant": variant.label,
        "database": variant.kind,
        "web_workers": settings.web_workers,
        "web_threads": settings.web_threads,
        "branch_timezone": zone,
        "endpoints": {name: rounded(f) for name, f in endpoints.items()},
        "scenarios": [rounded(s) for s in scenarios],
        "waiting_lines_at_end": lines,
        "phases": [p.summary() for p in phases],
    }


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def report(results: Sequence[dict[str, Any]], options: Options) -> str:
    lines = [
        f"\n{options.clients} clients, {options.rounds} rounds of {options.seconds:g} s per "
        f"endpoint; targets: the product's issue within {TARGET_TIMES_FLOOR:g}x of the floor's "
        f"req/s, p99 < {TARGET_P99_MS:g} ms",
        f"{'variant':<13} {'endpoint':<16} {'req/s':>8} {'p50':>6} {'p99':>6} {'p99.9':>6} "
        f"{'errors':>6} {'cpu ms':>7} {'/trivial':>8}",
    ]
    for result in results:
        for name, f in result["endpoints"].items():
            lines.append(
                f"{result['variant']:<13} {name:<16} {f['rps']:8.1f} {f['p50_ms']:6.1f} "
                f"{f['p99_ms']:6.1f} {f['p99_9_ms']:6.1f} {f['errors']:6d} "
                f"{fmt(f['server_cpu_ms_per_request']):>7} {fmt(f['ratio_to_trivial'], 2):>8}"
            )
            if f["errors"]:
                lines.append(f"{'':<30} statuses {f['statuses']}")
                for status, sample in f["error_samples"].items():
                    lines.append(f"{'':<30} {status}: {sample[:200]}")
        lines.append(
            f"{'':<13} {'office, line':<22} {'floor/issue req/s':>17} {'issue/floor cpu':>15} "
            f"{'issue p99':>9}  line start -> end per round; verdict"
        )
        for s in result["scenarios"]:
            verdict = ", ".join(
                [
                    "1.5x ok" if s["meets_times_floor"] else f"MISSED (> {TARGET_TIMES_FLOOR:g}x)",
                    "p99 ok" if s["meets_p99"] else f"p99 MISSED (>= {TARGET_P99_MS:g} ms)",
                ]
            )
            grown = ", ".join(
                f"{r['line_at_start']}->{r['line_at_end']} ({r['times_floor']}x)"
                for r in s["rounds"]
            )
            office = f"{s['shape']} ({s['services']}s/{s['counters']}c), from {s['line_start']}"
            lines.append(
                f"{'':<13} {office:<22} {s['times_floor']:17.2f} "
                f"{fmt(s['cpu_times_floor'], 2):>15} {s['issue_p99_ms']:9.1f}  {grown}; {verdict}"
            )
        lines.append(
            f"{'':<13} {result['server_log_problem_count']} problem lines in the server log"
        )
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.issue_floor", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=5.0, help="per endpoint and round")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="cap per endpoint and round"
    )
    parser.add_argument(
        "--starts",
        type=int,
        nargs="+",
        default=[0, 500],
        help="tickets waiting when a product phase starts (issued beforehand, untimed)",
    )
    parser.add_argument(
        "--sqlite-one-worker",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="SQLite once more with QUEUE_WEB_WORKERS=1",
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=0.0,
        help="seconds between one kiosk's tickets in the timed phases (default 0: flat out); "
        "the latency at a kiosk's pace, where throughput ratios say nothing",
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
        starts=tuple(dict.fromkeys(args.starts)),
        pace_s=args.pace,
    )
    variants: list[Variant] = []
    if args.db in ("sqlite", "both"):
        variants.append(Variant("sqlite"))
        if args.sqlite_one_worker:
            variants.append(Variant("sqlite", workers=1))
    if args.db in ("postgresql", "both"):
        variants.append(Variant("postgresql"))
    pg_url = postgresql_url()
    if any(v.kind == "postgresql" for v in variants) and not pg_url:
        print(NO_POSTGRESQL + OR_SQLITE, file=sys.stderr)
        return 2
    return run_and_report(
        lambda: [bench_variant(variant, pg_url or "", options) for variant in variants],
        lambda results: report(results, options),
        args.json,
        vars(options),
    )


if __name__ == "__main__":
    sys.exit(main())
