"""Outages and who may cause and end them, on both databases: a branch's manager and its staff
act for that branch only, an admin and the health monitor for every branch (docs/outages.md,
"Who may declare and end an outage")."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from queue_app import access, directory, outage_moves, outages, service_state
from queue_app.models import (
    Backend,
    BackendState,
    Branch,
    Message,
    Outage,
    Role,
    Service,
    Ticket,
    TicketStatus,
)
from queue_app.service_state import ServiceState
from queue_app.web.extensions import db
from tests.conftest import needs_postgresql

CAIRO, GIZA = "cairo-civil", "giza-civil"
SYSTEM = "civil-registry"
PAUSED, OPEN = ServiceState.PAUSED, ServiceState.OPEN


@pytest.fixture
def registry(make_backend, make_branch):
    """One central system that two offices need; either needs two staff reports to pause."""
    backend = make_backend(SYSTEM, failure_threshold=1, recovery_threshold=1)
    for code in (CAIRO, GIZA):
        make_branch(code, backends=[backend]).reports_needed = 2
    db.session.commit()
    return backend


def _path(action: str) -> str:
    return f"/api/v1/backends/{SYSTEM}/{action}"


def _state(clock, branch: str) -> ServiceState:
    db.session.commit()
    service = directory.current(db.session).branch(branch).service("id-card")
    return service_state.status_of(service, clock.now()).state


def _states(clock) -> tuple[ServiceState, ServiceState]:
    return _state(clock, CAIRO), _state(clock, GIZA)


def _open_outages() -> list[tuple[int | None, str]]:
    """(branch id or None, how detected) of every open outage."""
    db.session.expire_all()
    return [
        (o.branch_id, o.detected_by.value)
        for o in db.session.scalars(select(Outage).where(Outage.ended_at.is_(None)))
    ]


def _branch_id(code: str) -> int:
    return db.session.scalar(select(Branch.id).where(Branch.code == code))


def _take(client, make_token, branch: str) -> int:
    response = client.post(
        f"/api/v1/branches/{branch}/tickets",
        json={"service": "id-card", "phone": "01012345678"},
        headers=make_token("kiosk", branch),
    )
    return response.status_code


def _forbidden(response) -> None:
    assert response.status_code == 403, response.json
    assert set(response.json) == {"error", "message", "fields"}
    assert response.json["error"] == "forbidden"


def test_a_manager_s_declaration_pauses_their_branch_only(client, registry, clock, make_token):
    down = client.post(
        _path("outages"), json={"note": "our line is cut"}, headers=make_token("manager", CAIRO)
    )
    assert down.status_code == 201, down.json
    assert down.json["state"] == "up"  # the system itself answers: Giza reaches it
    assert down.json["down_at"] == [CAIRO]
    assert down.json["current_outage"]["branch"] == CAIRO
    assert down.json["current_outage"]["detected_by"] == "manager"
    assert _states(clock) == (PAUSED, OPEN)
    # Giza, which needs the same system, keeps issuing; Cairo issues none.
    assert _take(client, make_token, GIZA) == 201
    assert _take(client, make_token, CAIRO) == 409
    listing = client.get(_path("outages")).json
    assert [(o["branch"], o["ended_at"]) for o in listing] == [(CAIRO, None)]


def test_a_manager_is_refused_another_branch_s_outage(client, registry, clock, make_token):
    cairo = make_token("manager", CAIRO)
    _forbidden(client.post(_path("outages"), json={"branch": GIZA}, headers=cairo))
    assert _open_outages() == []
    giza = client.post(_path("outages"), json={}, headers=make_token("manager", GIZA))
    assert giza.status_code == 201
    _forbidden(client.post(_path("outages/resolve"), json={"branch": GIZA}, headers=cairo))
    # Without a branch, a Cairo manager speaks for Cairo, which is not down.
    assert client.post(_path("outages/resolve"), headers=cairo).status_code == 409
    assert _open_outages() == [(_branch_id(GIZA), "manager")]
    assert _states(clock) == (OPEN, PAUSED)


def test_a_manager_is_refused_the_outage_everywhere(client, registry, clock, make_token):
    admin = make_token("admin")
    assert client.post(_path("outages"), json={}, headers=admin).status_code == 201
    assert _states(clock) == (PAUSED, PAUSED)
    cairo = make_token("manager", CAIRO)
    _forbidden(client.post(_path("outages/resolve"), headers=cairo))
    _forbidden(client.post(_path("outages/resolve"), json={"branch": None}, headers=cairo))
    assert _open_outages() == [(None, "manager")]
    assert _states(clock) == (PAUSED, PAUSED)


def test_staff_cannot_declare_nor_resolve(client, registry, make_token):
    staff = make_token("staff", CAIRO)
    _forbidden(client.post(_path("outages"), json={}, headers=staff))
    _forbidden(client.post(_path("outages/resolve"), headers=staff))
    assert _open_outages() == []


def test_an_admin_takes_it_down_everywhere_or_at_one_branch(client, registry, clock, make_token):
    admin = make_token("admin")
    down = client.post(_path("outages"), json={"expected_minutes": 30}, headers=admin)
    assert down.status_code == 201
    assert down.json["state"] == "down"
    assert down.json["current_outage"]["branch"] is None
    assert _states(clock) == (PAUSED, PAUSED)
    assert _take(client, make_token, GIZA) == 409
    up = client.post(_path("outages/resolve"), headers=admin)
    assert up.status_code == 200
    assert (up.json["state"], up.json["current_outage"]) == ("up", None)
    assert up.json["outages"] == []
    assert _states(clock) == (OPEN, OPEN)
    one = client.post(_path("outages"), json={"branch": GIZA}, headers=admin)
    assert (one.json["state"], one.json["down_at"]) == ("up", [GIZA])
    assert _states(clock) == (OPEN, PAUSED)
    # Without a branch an admin ends the outage everywhere, and there is none: it says where.
    none = client.post(_path("outages/resolve"), json={}, headers=admin)
    assert none.status_code == 409
    assert none.json["fields"]["down_at"] == [GIZA]
    assert (
        client.post(_path("outages/resolve"), json={"branch": GIZA}, headers=admin).json["down_at"]
        == []
    )
    assert _states(clock) == (OPEN, OPEN)


def test_an_admin_naming_an_unknown_branch_changes_nothing(client, registry, make_token):
    response = client.post(
        _path("outages"), json={"branch": "atlantis"}, headers=make_token("admin")
    )
    assert response.status_code == 404
    assert set(response.json) == {"error", "message", "fields"}
    assert _open_outages() == []


def test_two_staff_of_one_branch_pause_that_branch_only(client, registry, clock, make_token):
    report = _path("reports")
    first = client.post(report, json={}, headers=make_token("staff", CAIRO))
    assert (first.json["reports"], first.json["needed"]) == (1, 2)
    assert _states(clock) == (OPEN, OPEN)
    second = client.post(report, json={"note": "no answer"}, headers=make_token("staff", CAIRO))
    assert second.json["reports"] == 2
    assert second.json["backend"]["down_at"] == [CAIRO]
    assert second.json["backend"]["state"] == "up"
    assert _open_outages() == [(_branch_id(CAIRO), "staff_reports")]
    assert _states(clock) == (PAUSED, OPEN)
    assert _take(client, make_token, GIZA) == 201


def test_reports_of_two_branches_do_not_add_up(client, registry, clock, make_token):
    report = _path("reports")
    assert client.post(report, json={}, headers=make_token("staff", CAIRO)).json["reports"] == 1
    assert client.post(report, json={}, headers=make_token("staff", GIZA)).json["reports"] == 1
    # An admin's report names a branch and counts there.
    admin = client.post(report, json={"branch": GIZA}, headers=make_token("admin"))
    assert admin.json["reports"] == 2
    assert _open_outages() == [(_branch_id(GIZA), "staff_reports")]
    assert _states(clock) == (OPEN, PAUSED)


def test_staff_of_another_branch_cannot_report_there(client, registry, make_token):
    response = client.post(_path("reports"), json={"branch": GIZA}, headers=make_token("staff"))
    _forbidden(response)
    assert db.session.scalar(select(func.count()).select_from(Outage)) == 0


def _reported_down(client, make_token, branch: str) -> None:
    for _ in range(2):
        client.post(_path("reports"), json={}, headers=make_token("staff", branch))


def test_staff_say_it_is_back_at_their_branch_only(client, registry, clock, make_token):
    _reported_down(client, make_token, CAIRO)
    _reported_down(client, make_token, GIZA)
    assert _states(clock) == (PAUSED, PAUSED)
    cairo_staff = make_token("staff", CAIRO)
    _forbidden(client.post(_path("back"), json={"branch": GIZA}, headers=cairo_staff))
    assert _states(clock) == (PAUSED, PAUSED)
    back = client.post(_path("back"), json={}, headers=cairo_staff)
    assert back.status_code == 200, back.json
    assert back.json["down_at"] == [GIZA]
    assert _states(clock) == (OPEN, PAUSED)
    ended = db.session.scalar(select(Outage).where(Outage.branch_id == _branch_id(CAIRO)))
    assert ended.ended_by == "staff"
    # Said twice: nothing is down here any more.
    again = client.post(_path("back"), headers=cairo_staff)
    assert again.status_code == 409
    assert set(again.json) == {"error", "message", "fields"}
    # The reports before it was back belong to that outage: one new report starts afresh.
    clock.advance(minutes=1)
    report = client.post(_path("reports"), json={}, headers=cairo_staff)
    assert report.json["reports"] == 1
    assert _states(clock) == (OPEN, PAUSED)
    # Giza's manager may end Giza's reported outage too.
    manager = client.post(_path("outages/resolve"), headers=make_token("manager", GIZA))
    assert manager.json["down_at"] == []
    assert _states(clock) == (OPEN, OPEN)


def test_staff_cannot_end_a_manager_s_declaration_nor_the_outage_everywhere(
    client, registry, clock, make_token
):
    staff = make_token("staff", CAIRO)
    client.post(_path("outages"), json={}, headers=make_token("manager", CAIRO))
    _forbidden(client.post(_path("back"), headers=staff))
    assert _states(clock) == (PAUSED, OPEN)
    client.post(_path("outages/resolve"), headers=make_token("manager", CAIRO))
    client.post(_path("outages"), json={}, headers=make_token("admin"))
    _forbidden(client.post(_path("back"), headers=staff))
    assert _states(clock) == (PAUSED, PAUSED)


def test_back_needs_a_token_that_may_report(client, registry, make_token):
    assert client.post(_path("back")).status_code == 401
    _forbidden(client.post(_path("back"), headers=make_token("kiosk", CAIRO)))
    unsaid = client.post(_path("back"), json={}, headers=make_token("admin"))
    assert unsaid.status_code == 422
    assert unsaid.json["fields"] == {"branch": ["required for an admin token"]}
    assert client.post(
        "/api/v1/backends/nothing/back", headers=make_token("staff")
    ).status_code == (404)


def _check(clock, backend_id: int, *, ok: bool) -> None:
    outages.record_check(db.session, clock, backend_id, ok=ok, error=None if ok else "timeout")


def test_a_branch_outage_and_one_everywhere_pause_until_both_end(
    client, registry, clock, make_token
):
    cairo = make_token("manager", CAIRO)
    client.post(_path("outages"), json={}, headers=cairo)
    _check(clock, registry.id, ok=False)  # the monitor: down everywhere
    assert sorted(_open_outages(), key=str) == sorted(
        [(_branch_id(CAIRO), "manager"), (None, "health_check")], key=str
    )
    assert _states(clock) == (PAUSED, PAUSED)
    # Cairo's own outage ends first: the system is still down everywhere.
    client.post(_path("outages/resolve"), headers=cairo)
    assert _states(clock) == (PAUSED, PAUSED)
    assert _take(client, make_token, CAIRO) == 409
    _check(clock, registry.id, ok=True)
    assert _states(clock) == (OPEN, OPEN)


def test_the_health_check_ends_the_outage_everywhere_not_a_branch_s(
    client, registry, clock, make_token
):
    _reported_down(client, make_token, CAIRO)
    _check(clock, registry.id, ok=False)
    assert _states(clock) == (PAUSED, PAUSED)
    clock.advance(minutes=1)
    _check(clock, registry.id, ok=True)
    db.session.expire_all()
    assert db.session.scalar(select(Backend.state)) == BackendState.UP
    assert _open_outages() == [(_branch_id(CAIRO), "staff_reports")]
    assert _states(clock) == (PAUSED, OPEN)
    for _ in range(3):
        _check(clock, registry.id, ok=True)
    assert _states(clock) == (PAUSED, OPEN)
    # Staff say so: now it is back.
    client.post(_path("back"), headers=make_token("staff", CAIRO))
    assert _states(clock) == (OPEN, OPEN)


def test_a_branch_s_outage_moves_that_branch_s_line_only(client, registry, clock, make_token):
    for branch in (CAIRO, GIZA):
        for _ in range(2):
            assert _take(client, make_token, branch) == 201
    client.post(_path("outages"), json={}, headers=make_token("manager", CAIRO))
    clock.advance(minutes=25)  # past the branch's 20 minutes
    done = outage_moves.run_timers(db.session, clock)
    assert done.moved == 2
    db.session.expire_all()
    rows = db.session.execute(
        select(Branch.code, Ticket.status).join(Branch, Branch.id == Ticket.branch_id)
    ).all()
    assert sorted(rows) == sorted(
        [(CAIRO, TicketStatus.SCHEDULED)] * 2 + [(GIZA, TicketStatus.WAITING)] * 2
    )


def test_giza_books_while_cairo_is_down(client, registry, clock, make_token):
    """The booking rules block an outage's times at the branches it covers only."""
    client.post(_path("outages"), json={}, headers=make_token("manager", CAIRO))
    body = {"service": "id-card", "start": "2026-11-24T13:00:00+02:00", "phone": "01012345678"}
    refused = client.post(f"/api/v1/branches/{CAIRO}/appointments", json=body)
    assert refused.status_code == 409
    assert refused.json["error"] == "system_unavailable"
    booked = client.post(f"/api/v1/branches/{GIZA}/appointments", json=body)
    assert booked.status_code == 201, booked.json


def _messages(prefix: str) -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.event.like(f"{prefix}%"))))


def test_no_recovery_offer_while_another_outage_still_pauses_the_branch(
    client, registry, clock, make_token
):
    for _ in range(3):
        assert _take(client, make_token, CAIRO) == 201
    outages.declare(db.session, clock, SYSTEM)  # everywhere, no end known: to Wednesday
    clock.advance(minutes=20)
    assert outage_moves.run_timers(db.session, clock).moved == 3
    clock.advance(minutes=100)  # 12:00: Cairo's own link goes down too
    outages.declare(db.session, clock, SYSTEM, branch_code=CAIRO)
    clock.advance(minutes=30)
    outages.resolve(db.session, clock, SYSTEM)  # back everywhere at 12:30, not at Cairo
    assert _states(clock) == (PAUSED, OPEN)
    assert outage_moves.run_timers(db.session, clock).offered == 0
    assert _messages("offer:") == []
    clock.advance(minutes=5)
    outages.resolve(db.session, clock, SYSTEM, branch_code=CAIRO)
    assert outage_moves.run_timers(db.session, clock).offered == 3


def test_those_awaiting_a_time_are_told_when_their_branch_is_back_not_before(
    client, registry, clock, make_token
):
    for branch in (CAIRO, GIZA):
        assert _take(client, make_token, branch) == 201
    # Every place kept for walk-ins: the outage finds no free time for anybody.
    db.session.execute(Service.__table__.update().values(walk_in_percent=100))
    directory.mark_changed(db.session)
    db.session.commit()
    everywhere = outages.declare(db.session, clock, SYSTEM)
    clock.advance(minutes=20)
    assert outage_moves.run_timers(db.session, clock).unplaced == 2
    cairo = outages.declare(db.session, clock, SYSTEM, branch_code=CAIRO)
    clock.advance(minutes=10)
    outages.resolve(db.session, clock, SYSTEM)
    # Giza's citizen is told the system is back; Cairo's, still paused, is left to Cairo's
    # outage, which goes on looking for room.
    told = _messages("system_back:")
    db.session.expire_all()
    rows = db.session.execute(
        select(Branch.code, Ticket).join(Branch, Branch.id == Ticket.branch_id)
    )
    tickets = dict(rows.all())
    assert [m.ticket_id for m in told] == [tickets[GIZA].id]
    assert told[0].event == f"system_back:outage:{everywhere.id}"
    assert tickets[GIZA].awaiting_slot_for is None
    assert tickets[CAIRO].awaiting_slot_for == f"outage:{cairo.id}"
    clock.advance(minutes=10)
    outages.resolve(db.session, clock, SYSTEM, branch_code=CAIRO)
    told = _messages("system_back:")
    assert sorted(m.event for m in told) == sorted(
        [f"system_back:outage:{everywhere.id}", f"system_back:outage:{cairo.id}"]
    )


@pytest.mark.parametrize(
    "db_kind", [pytest.param("postgresql", marks=[pytest.mark.postgresql, needs_postgresql])]
)
def test_staff_reporting_at_once_open_one_outage(app, registry, clock):
    """Four counters press at the same moment, two more than needed: one outage, which one
    "back" ends."""
    cairo = directory.current(db.session).branch(CAIRO)
    reporters = [access.Principal(Role.STAFF, cairo.id, CAIRO, token_id=None) for _ in range(4)]
    start = threading.Barrier(len(reporters), timeout=60)

    def press(who: access.Principal) -> int:
        with app.app_context():
            start.wait()
            return outages.report(db.session, clock, who, SYSTEM, branch_code=CAIRO)[0]

    with ThreadPoolExecutor(max_workers=len(reporters)) as pool:
        counts = list(pool.map(press, reporters))
    assert sorted(counts) == [1, 2, 3, 4]  # each counted those before it
    assert _open_outages() == [(cairo.id, "staff_reports")]
    outages.back(db.session, clock, reporters[0], SYSTEM, branch_code=CAIRO)
    assert _states(clock) == (OPEN, OPEN)
