"""A property of ticket numbers under concurrency (issue 16), on SQLite and PostgreSQL.

Hypothesis draws a plan: several kiosks (threads, each with its own app context and so its own
session and connection), each issuing walk-ins in its own order across two branches, two
services (letters) and two days. The kiosks start together, so the database sees their writes
interleaved as the scheduler runs them. Whatever the plan, the numbers of each branch, letter
and day are 1, 2, 3... with no gap and no duplicate, the ones stored are the ones handed out,
and each day's sequence row holds the last of them. Each request's clock is drawn too (its
requests started at different moments, in any order): still, a later number is never ahead of an
earlier one in the calling order (``queued_at``, then id), or a counter would call A-006 before
A-005.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from queue_app import tickets
from queue_app.access import Principal
from queue_app.clock import FixedClock
from queue_app.models import Branch, Role, Ticket, TicketNumberSequence
from queue_app.web.extensions import db
from tests.conftest import TUESDAY_MORNING

BRANCHES = ("cairo-civil", "giza-traffic")
SERVICES = (("id-card", "A"), ("birth-cert", "B"))
DAYS = (0, 1)  # Tuesday and Wednesday, both working mornings
WAIT_S = 120  # a deadlock fails the example instead of hanging the run

Key = tuple[str, str, date]

# One kiosk's walk-ins, in its order: (branch, service, day, second its request started).
issue = st.tuples(
    st.sampled_from(BRANCHES),
    st.sampled_from([code for code, _ in SERVICES]),
    st.sampled_from(DAYS),
    st.integers(0, 3),
)
plans = st.lists(st.lists(issue, min_size=1, max_size=6), min_size=2, max_size=4)


def _issue_all(app: Flask, kiosks: dict[str, Principal], plan: list[list[tuple]]) -> list[Key]:
    start = threading.Barrier(len(plan), timeout=WAIT_S)

    def run(walk_ins: list[tuple[str, str, int, int]]) -> list[Key]:
        issued = []
        with app.app_context():
            start.wait()
            for branch, service, day, second in walk_ins:
                clock = FixedClock(TUESDAY_MORNING + timedelta(days=day, seconds=second))
                ticket = tickets.take_walk_in(
                    db.session, clock, kiosks[branch], branch, service
                ).ticket
                issued.append((branch, ticket.letter, ticket.local_day, ticket.sequence))
            db.session.remove()
        return issued

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        futures = [pool.submit(run, walk_ins) for walk_ins in plan]
        return [item for future in futures for item in future.result(timeout=WAIT_S)]


def _last_numbers(branch_ids: dict[int, str]) -> dict[Key, int]:
    rows = db.session.scalars(select(TicketNumberSequence))
    return {(branch_ids[r.branch_id], r.letter, r.local_day): r.last_number for r in rows}


def test_numbers_stay_gap_free_and_unique_whatever_the_interleaving(
    app: Flask, make_branch: Callable[..., Branch]
) -> None:
    made = [make_branch(code, services=list(SERVICES), counters=2) for code in BRANCHES]
    kiosks = {b.code: Principal(role=Role.KIOSK, branch_id=b.id, branch_code=b.code) for b in made}
    branch_ids = {b.id: b.code for b in made}

    # The app and its branches are made once; each example issues on top of the last ones, so
    # "gap-free" means: this example's numbers continue each sequence exactly where it stood.
    @given(plan=plans)
    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def check(plan: list[list[tuple[str, str, int, int]]]) -> None:
        db.session.remove()
        before = _last_numbers(branch_ids)
        issued = _issue_all(app, kiosks, plan)

        numbers: dict[Key, list[int]] = defaultdict(list)
        for branch, letter, day, number in issued:
            numbers[(branch, letter, day)].append(number)
        for key, got in numbers.items():
            first = before.get(key, 0) + 1
            assert sorted(got) == list(range(first, first + len(got))), (key, plan)

        db.session.expire_all()
        after = _last_numbers(branch_ids)
        for key, got in numbers.items():
            assert after[key] == max(got)
        stored = db.session.execute(
            select(Ticket.branch_id, Ticket.letter, Ticket.local_day, Ticket.sequence)
        ).all()
        assert len(stored) == len(set(stored))
        assert len(stored) == sum(after.values())

        lines: dict[tuple[int, str, date], list[tuple[int, datetime, int]]] = defaultdict(list)
        for row in db.session.execute(
            select(
                Ticket.branch_id,
                Ticket.letter,
                Ticket.local_day,
                Ticket.sequence,
                Ticket.queued_at,
                Ticket.id,
            )
        ):
            lines[(row[0], row[1], row[2])].append((row.sequence, row.queued_at, row.id))
        for key, line in lines.items():
            by_number = sorted(line)
            assert sorted(line, key=lambda t: (t[1], t[2])) == by_number, (key, plan)

    check()
