"""What one request costs inside the web process, without HTTP or client threads in the way.

Runs the app in this process through Flask's test client, one request at a time, and times:
``GET /healthz`` (no database), a bare database round trip (a request that runs ``SELECT 1``
through the same session machinery), walk-in ticket issue and ticket lookup. Each figure is also
given as a ratio to ``/healthz`` measured in the same run, interleaved in rounds, since machines
are noisy. This separates what our code costs from what any request touching the database costs:
the "bare round trip" is the ceiling for every endpoint that reads the database at all.

    python -m bench.request_cost [--db sqlite|postgresql|both] [--requests 500] [--rounds 3]
                                 [--waiting 300]

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` (or ``QUEUE_TEST_DATABASE_URL``)
is dropped and recreated.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from bench.serve_load import postgresql_url, reset_postgresql
from queue_app import access, migrate
from queue_app.app import create_app
from queue_app.clock import FixedClock
from queue_app.models import Branch, Counter, OpeningHours, Service
from queue_app.settings import Settings, normalise_database_url
from queue_app.web.extensions import db

# A Tuesday morning in Cairo: inside the branch's hours.
AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def build_app(url: str, workdir: Path) -> tuple[Flask, str]:
    migrate.upgrade(url)
    clock = FixedClock(AT)
    app = create_app(
        Settings(database_url=url, secret_key="bench", instance_path=workdir), clock=clock
    )

    @app.get("/bench/round-trip")
    def round_trip() -> dict[str, int]:
        return {"one": db.session.execute(text("SELECT 1")).scalar_one()}

    with app.app_context():
        branch = Branch(
            code="bench", name_ar="فرع", name_en="Branch", timezone="Africa/Cairo", country="EG"
        )
        branch.opening_hours = [
            OpeningHours(weekday=d, opens=clock_time(0), closes=clock_time(23, 59))
            for d in range(7)
        ]
        service = Service(
            code="id-card", letter="A", name_ar="بطاقة", name_en="ID card", avg_service_minutes=6
        )
        branch.services.append(service)
        branch.counters = [Counter(code=str(n), is_open=True, services=[service]) for n in (1, 2)]
        db.session.add(branch)
        db.session.commit()
        token = access.create_token(db.session, clock, "kiosk", "bench")
    return app, token


def time_requests(call: Callable[[], object], requests: int) -> float:
    """Mean milliseconds per call."""
    start = time.perf_counter()
    for _ in range(requests):
        call()
    return (time.perf_counter() - start) / requests * 1000


def bench(kind: str, url: str, requests: int, rounds: int, waiting: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        app, token = build_app(url, Path(tmp))
        client = app.test_client()
        kiosk = {"Authorization": f"Bearer {token}"}

        def issue() -> str:
            response = client.post(
                "/api/v1/branches/bench/tickets", json={"service": "id-card"}, headers=kiosk
            )
            assert response.status_code == 201, response.get_data(as_text=True)
            return response.json["token"]

        tokens = [issue() for _ in range(waiting)]  # a line of realistic length
        lookups = iter(tokens * (requests * rounds // len(tokens) + 2))
        calls: dict[str, Callable[[], object]] = {
            "trivial": lambda: client.get("/healthz"),
            "round trip": lambda: client.get("/bench/round-trip"),
            "issue": issue,
            "lookup": lambda: client.get(f"/api/v1/tickets/{next(lookups)}"),
        }
        for call in calls.values():  # warm caches and connection pools
            time_requests(call, 20)
        samples: dict[str, list[float]] = {name: [] for name in calls}
        ratios: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(rounds):
            trivial = time_requests(calls["trivial"], requests)
            samples["trivial"].append(trivial)
            for name, call in calls.items():
                if name == "trivial":
                    continue
                cost = time_requests(call, requests)
                samples[name].append(cost)
                ratios[name].append(trivial / cost)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    print(f"\n== {kind}: {requests} requests x {rounds} rounds, {waiting}+ tickets waiting")
    print(f"{'request':<12} {'ms/request':>11} {'throughput ratio to trivial':>28}")
    result = {}
    for name in calls:
        ms = statistics.median(samples[name])
        ratio = statistics.median(ratios[name]) if ratios[name] else 1.0
        result[name] = ratio
        print(f"{name:<12} {ms:>11.3f} {ratio:>28.3f}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--waiting", type=int, default=300)
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
                bench(kind, url, args.requests, args.rounds, args.waiting)
            continue
        raw = postgresql_url()
        if not raw:
            print("postgresql: set QUEUE_BENCH_DATABASE_URL or QUEUE_TEST_DATABASE_URL; skipped")
            continue
        url = normalise_database_url(raw)
        reset_postgresql(url)
        bench(kind, url, args.requests, args.rounds, args.waiting)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
