"""Races: many kiosks and counters at once must never share a number or a ticket.

DESIGN.md promises numbers per branch, letter and day ("A-001") with no duplicates, and STYLE.md
rule 7 says concurrency is settled by the database and proven by a race test. PostgreSQL is raced by
threads, each with its own app context and so its own session and connection; SQLite is raced by
the web app and a second OS process writing into one file, as `queue-app serve` and a second web
process would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter as Tally
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from queue_app import access, counters, migrate, tickets
from queue_app.access import Principal
from queue_app.app import create_app
from queue_app.clock import FixedClock
from queue_app.errors import StateConflict
from queue_app.models import (
    Branch,
    Counter,
    OpeningHours,
    Role,
    Service,
    Ticket,
    TicketEvent,
    TicketNumberSequence,
    TicketStatus,
)
from queue_app.settings import Settings
from queue_app.web.extensions import db
from tests.conftest import SUN_TO_THU, needs_postgresql

REPO = Path(__file__).resolve().parents[2]
POSTGRESQL_ONLY = pytest.mark.parametrize(
    "db_kind", [pytest.param("postgresql", marks=[pytest.mark.postgresql, needs_postgresql])]
)
# Bounds, so that a deadlock fails the test instead of hanging the run.
WAIT_S = 120


def _kiosk(branch: Branch) -> Principal:
    return Principal(role=Role.KIOSK, branch_id=branch.id, branch_code=branch.code)


def _staff(branch: Branch) -> Principal:
    return Principal(role=Role.STAFF, branch_id=branch.id, branch_code=branch.code)


def _in_threads(count: int, work: Callable[[int], list[object]]) -> list[list[object]]:
    """Run ``work(i)`` in ``count`` threads released together; re-raise the first failure."""
    start = threading.Barrier(count, timeout=WAIT_S)

    def run(i: int) -> list[object]:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run, i) for i in range(count)]
        return [future.result(timeout=WAIT_S) for future in futures]


# --- PostgreSQL: threads ------------------------------------------------------------------


@POSTGRESQL_ONLY
def test_kiosks_racing_get_every_number_once(app: Flask, make_branch, clock: FixedClock) -> None:
    threads, per_thread = 16, 25
    branch = make_branch()
    kiosk = _kiosk(branch)

    def issue(thread: int) -> list[object]:
        # A thread of its own gets an app context of its own, hence its own scoped session.
        with app.app_context():
            issued: list[object] = []
            for _ in range(per_thread):
                ticket = tickets.take_walk_in(
                    db.session, clock, kiosk, "cairo-civil", "id-card"
                ).ticket
                issued.append((ticket.token, ticket.sequence))
            return issued

    issued = [pair for batch in _in_threads(threads, issue) for pair in batch]

    total = threads * per_thread
    assert sorted(number for _, number in issued) == list(range(1, total + 1))
    stored = dict(db.session.execute(select(Ticket.token, Ticket.sequence)).all())
    assert stored == dict(issued)
    assert db.session.scalar(select(TicketNumberSequence.last_number)) == total


@POSTGRESQL_ONLY
def test_counters_racing_never_call_the_same_ticket(
    app: Flask, make_branch, clock: FixedClock
) -> None:
    waiting, counter_count = 60, 4
    branch = make_branch(counters=counter_count)
    kiosk, staff = _kiosk(branch), _staff(branch)
    for _ in range(waiting):
        tickets.take_walk_in(db.session, clock, kiosk, "cairo-civil", "id-card")
    db.session.remove()  # the main thread holds no connection while the counters race
    retries = Tally[str]()

    def serve(i: int) -> list[object]:
        counter_code = str(i + 1)
        called: list[object] = []
        with app.app_context():
            # Bounded: every round either calls a ticket or finds the line empty.
            for _ in range(waiting + counter_count):
                try:
                    ticket = counters.call_next(
                        db.session, clock, staff, "cairo-civil", counter_code
                    )
                except StateConflict:
                    # call_next's documented "too many counters at once; try again".
                    db.session.rollback()
                    retries[counter_code] += 1
                    continue
                if ticket is None:
                    return called
                called.append(ticket.id)
        raise AssertionError(f"counter {counter_code} kept calling after the line was empty")

    per_counter = _in_threads(counter_count, serve)

    all_called = [ticket_id for batch in per_counter for ticket_id in batch]
    assert len(all_called) == len(set(all_called)), f"called twice; retries: {retries}"
    assert set(all_called) == set(db.session.scalars(select(Ticket.id)))
    called_events = Tally(
        db.session.scalars(select(TicketEvent.ticket_id).where(TicketEvent.event == "called"))
    )
    assert set(called_events.values()) == {1}
    assert len(called_events) == waiting
    assert (
        db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.status == TicketStatus.WAITING)
        )
        == 0
    )


def test_citizen_cancelling_while_a_counter_calls_leaves_one_winner(
    app: Flask, make_branch, clock: FixedClock
) -> None:
    # cancel() reads the ticket, then writes; a counter calling it in between used to be
    # overwritten (history "called", then "cancelled"). Exactly one of the two may win.
    branch = make_branch()
    token = tickets.take_walk_in(
        db.session, clock, _kiosk(branch), "cairo-civil", "id-card"
    ).ticket.token
    db.session.remove()
    counter_result: list[object] = []

    def counter_calls() -> None:
        with app.app_context():
            try:
                called = counters.call_next(db.session, clock, _staff(branch), "cairo-civil", "1")
                counter_result.append(called.number if called else None)
            except Exception as err:  # handed to the main thread's assertions
                counter_result.append(err)

    counter = threading.Thread(target=counter_calls)

    def counter_moves_in_between(session: Session) -> None:
        # The citizen has read the ticket as waiting and is about to write "cancelled": the worst
        # moment for a counter to call it. A fix that locks the row makes the counter wait here,
        # hence the bounded join; the counter then finishes after the citizen's commit.
        counter.start()
        counter.join(timeout=2)

    citizen_session = db.session()
    event.listen(citizen_session, "before_commit", counter_moves_in_between, once=True)
    try:
        tickets.cancel(db.session, clock, token)
        cancelled = True
    except StateConflict:
        db.session.rollback()
        cancelled = False
    counter.join(timeout=WAIT_S)
    assert not counter.is_alive()

    db.session.expire_all()
    ticket = db.session.scalar(select(Ticket).where(Ticket.token == token))
    events = [e.event for e in ticket.events]
    assert not ("called" in events and "cancelled" in events), events
    if cancelled:
        assert ticket.status == TicketStatus.CANCELLED
        assert counter_result == [None]
    else:
        assert ticket.status == TicketStatus.CALLED
        assert counter_result == ["A-001"]


# --- SQLite: the web app and a second process on one file --------------------------------


def _open_branch(session: Session, code: str) -> Branch:
    branch = Branch(
        code=code, name_ar="فرع", name_en="Branch", timezone="Africa/Cairo", country="EG"
    )
    branch.opening_hours = [
        OpeningHours(weekday=day, opens=time(8), closes=time(15)) for day in SUN_TO_THU
    ]
    branch.services.append(
        Service(
            code="id-card",
            letter="A",
            name_ar="بطاقة",
            name_en="ID card",
            avg_service_minutes=6,
            slot_minutes=30,
        )
    )
    branch.counters.append(Counter(code="1", is_open=True, services=branch.services))
    session.add(branch)
    session.commit()
    return branch


@pytest.mark.slow
def test_sqlite_file_shared_by_web_app_and_second_process(
    tmp_path: Path, clock: FixedClock
) -> None:
    threads, per_thread, by_helper = 4, 25, 100
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    migrate.upgrade(url)
    app = create_app(
        Settings(database_url=url, secret_key="test", instance_path=tmp_path / "instance"),
        clock=clock,
    )
    app.config["TESTING"] = True
    with app.app_context():
        _open_branch(db.session, "cairo-civil")
        headers = {
            "Authorization": "Bearer "
            + access.create_token(db.session, clock, "kiosk", "cairo-civil")
        }

    helper = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.helpers.issue_tickets",
            url,
            "cairo-civil",
            "id-card",
            str(by_helper),
            clock.now().isoformat(),
            str(tmp_path / "helper-instance"),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert helper.stdout is not None
        assert helper.stdin is not None
        ready = helper.stdout.readline().strip()
        assert ready == "ready", helper.communicate(timeout=WAIT_S)[1]

        def issue(i: int) -> list[object]:
            if i == 0:
                # The helper starts together with the threads that are released with this one.
                helper.stdin.write("go\n")
                helper.stdin.flush()
            client = app.test_client()
            outcomes: list[object] = []
            for _ in range(per_thread):
                try:
                    response = client.post(
                        "/api/v1/branches/cairo-civil/tickets",
                        json={"service": "id-card"},
                        headers=headers,
                    )
                except Exception as err:  # TESTING propagates errors; a 500 is a finding
                    outcomes.append(f"error: {err}")
                    continue
                if response.status_code == 201:
                    outcomes.append(response.json["number"])
                else:
                    outcomes.append(f"error: {response.status_code} {response.get_data(True)}")
            return outcomes

        web_outcomes = [o for batch in _in_threads(threads, issue) for o in batch]
        helper_out, helper_err = helper.communicate(timeout=WAIT_S)
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait()

    helper_outcomes = [json.loads(line) for line in helper_out.splitlines()]
    errors = [o for o in web_outcomes if str(o).startswith("error")] + [
        o["error"] for o in helper_outcomes if "error" in o
    ]
    assert errors == [], errors
    assert helper.returncode == 0, helper_err
    web_numbers = [int(str(number).removeprefix("A-")) for number in web_outcomes]
    helper_numbers = [o["number"] for o in helper_outcomes]
    total = threads * per_thread + by_helper
    assert len(helper_numbers) == by_helper
    assert sorted(web_numbers + helper_numbers) == list(range(1, total + 1))
    with app.app_context():
        assert sorted(db.session.scalars(select(Ticket.sequence))) == list(range(1, total + 1))
        db.session.remove()
        db.engine.dispose()
