"""Whatever a small office's morning does, what the kiosk and the ticket page say is what working
the whole line out again says (queue_app/line_estimates.py against waiting_line + wait_estimate).

Hypothesis draws a morning in a branch whose two counters share three services: walk-ins (some
priority), calls, citizens served and cancelled, pages polled, and the clock moving on by whole
minutes (within a minute, a kept line counts from the minute's first working-out, by design).
After every ticket issued and every page polled, its place, wait and range must equal those of
a fresh working-out of the whole line at the same moment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from queue_app import tickets
from queue_app.clock import FixedClock
from queue_app.models import Branch, Ticket
from queue_app.web.extensions import db
from tests.conftest import TUESDAY_MORNING

SERVICES = [("id-card", "A"), ("passport", "B"), ("birth", "C")]

step = st.one_of(
    st.tuples(st.just("take"), st.sampled_from([c for c, _ in SERVICES]), st.booleans()),
    st.tuples(st.just("call"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("done"), st.integers(0, 50)),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("poll"), st.integers(0, 50)),
    st.tuples(st.just("minute")),
)
mornings = st.lists(step, min_size=1, max_size=25)


def _told(answer: dict[str, Any]) -> tuple[Any, ...]:
    return answer["position"], answer["eta_minutes"], list(answer["eta_range_minutes"] or [])


def _worked_out_again(token: str, clock: FixedClock) -> tuple[Any, ...]:
    ticket = db.session.scalar(select(Ticket).where(Ticket.token == token))
    assert ticket is not None
    view = tickets.view_ticket(db.session, clock.now(), ticket)
    db.session.rollback()
    return view.position, view.eta_minutes, list(view.eta_range_minutes or [])


def test_what_a_citizen_is_told_is_what_the_whole_line_gives(
    app: Flask,
    client: FlaskClient,
    make_branch: Callable[..., Branch],
    make_token: Callable[..., dict[str, str]],
    clock: FixedClock,
) -> None:
    offices = itertools.count()

    @given(morning=mornings)
    @settings(
        max_examples=20,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    def check(morning: list[tuple[Any, ...]]) -> None:
        code = f"office-{next(offices)}"
        make_branch(code, services=SERVICES, counters=2)
        kiosk, staff = make_token("kiosk", code), make_token("staff", code)
        clock.set(TUESDAY_MORNING)
        base = f"/api/v1/branches/{code}"
        waiting: list[str] = []
        called: list[str] = []

        def compare(answer: dict[str, Any], what: str) -> None:
            if answer["status"] == "waiting":
                expected = _worked_out_again(answer["token"], clock)
                assert _told(answer) == expected, (what, answer["number"], morning)

        for action, *args in morning:
            if action == "take":
                service, priority = args
                body = {"service": service, "priority": priority}
                answer = client.post(f"{base}/tickets", json=body, headers=kiosk)
                assert answer.status_code == 201, answer.json
                waiting.append(answer.json["token"])
                compare(answer.json, "issued")
            elif action == "call":
                answer = client.post(f"{base}/counters/{args[0]}/call-next", headers=staff)
                if answer.status_code == 200 and answer.json:
                    token = answer.json["token"]
                    if token in waiting:
                        waiting.remove(token)
                        called.append(token)
            elif action == "done" and called:
                token = called.pop(args[0] % len(called))
                assert client.post(f"/api/v1/tickets/{token}/done", headers=staff).status_code in (
                    200,
                    409,
                )
            elif action == "cancel" and waiting:
                token = waiting.pop(args[0] % len(waiting))
                assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 200
            elif action == "poll" and waiting:
                token = waiting[args[0] % len(waiting)]
                page = client.get(f"/api/v1/tickets/{token}")
                assert page.status_code == 200
                compare(page.json, "polled")
            elif action == "minute":
                clock.advance(minutes=1)

    check()
