"""Two devices pressing "call next" at one counter at the same moment, through a real HTTP server.

Issue 14: hundreds of 500s, though no ticket was called twice. Each press must get an answer (200
with the called ticket, 204 when nobody waits, or a clean 409 saying another device just called),
and the counter must never end up calling two citizens at once.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from queue_app import tickets
from queue_app.access import Principal
from queue_app.clock import FixedClock
from queue_app.models import Role, Ticket, TicketEvent, TicketStatus
from queue_app.web.extensions import db
from tests.browser.harness import LiveServer

DEVICES = 4
PRESSES = 15  # per device: bounded, and more presses than a quick race needs to show itself
WAIT_S = 60


@pytest.fixture
def served(app: Flask) -> Callable[[], str]:
    server = LiveServer()
    server.serve(app)
    try:
        yield lambda: server.base_url
    finally:
        server.stop()


def test_devices_pressing_call_next_together_each_get_an_answer(
    app: Flask, served: Callable[[], str], make_branch, make_token, clock: FixedClock
) -> None:
    branch = make_branch()
    kiosk = Principal(role=Role.KIOSK, branch_id=branch.id, branch_code=branch.code)
    for _ in range(DEVICES * PRESSES + 5):
        tickets.take_walk_in(db.session, clock, kiosk, "cairo-civil", "id-card")
    headers = make_token("staff")
    db.session.remove()  # the test's own session holds no lock while the devices press
    url = f"{served()}/api/v1/branches/cairo-civil/counters/1/call-next"
    start = threading.Barrier(DEVICES, timeout=WAIT_S)

    def device(_: int) -> list[tuple[int, str]]:
        answers = []
        with requests.Session() as http:
            for _ in range(PRESSES):
                start.wait()  # every round, the devices press together
                response = http.post(url, headers=headers, timeout=WAIT_S)
                answers.append((response.status_code, response.text))
        return answers

    with ThreadPoolExecutor(max_workers=DEVICES) as pool:
        answers = [a for batch in pool.map(device, range(DEVICES)) for a in batch]

    statuses = Tally(status for status, _ in answers)
    assert set(statuses) <= {200, 409}, [a for a in answers if a[0] not in (200, 409)][:3]
    for status, body in answers:
        if status == 409:
            assert '"error": "counter_busy"' in body.replace('":"', '": "'), body
    # Every round at least one device's press called someone.
    assert statuses[200] >= PRESSES

    called = Tally(
        db.session.scalars(select(TicketEvent.ticket_id).where(TicketEvent.event == "called"))
    )
    assert set(called.values()) == {1}, "a ticket was called twice"
    assert len(called) == statuses[200]
    at_counter = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.status == TicketStatus.CALLED)
    )
    assert at_counter == 1, "the counter calls one citizen at a time"
