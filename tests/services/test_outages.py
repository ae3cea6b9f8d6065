"""Outages end to end on both databases: detect, pause, reschedule, tell, recover."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from queue_app import directory, outage_moves, outages, service_state
from queue_app.models import (
    Backend,
    BackendState,
    Branch,
    Message,
    Outage,
    Service,
    Ticket,
    TicketStatus,
)
from queue_app.web.extensions import db
from queue_app.worker.health_monitor import HealthMonitor, Leadership, check
from tests.helpers.health_server import HealthEndpoint, health_endpoint

BRANCH = "/api/v1/branches/cairo-civil"
# The fixture's clock: Tuesday 24 November 2026, 10:00 in Cairo; the branch closes at 15:00.
WEDNESDAY_8 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.fixture
def health() -> Iterator[HealthEndpoint]:
    with health_endpoint() as endpoint:
        yield endpoint


@pytest.fixture
def registry(make_backend, make_branch, health):
    backend = make_backend(health_url=health.url, failure_threshold=3, recovery_threshold=2)
    make_branch(backends=[backend])
    return backend


@pytest.fixture
def monitor(app, clock, tmp_path) -> HealthMonitor:
    sessions: sessionmaker[Session] = sessionmaker(bind=db.engine, expire_on_commit=False)
    return HealthMonitor(sessions, clock, Leadership(db.engine, tmp_path / "monitor.lock"))


def _take(client, make_token, n: int, *, phone: bool = True) -> list[dict]:
    kiosk = make_token("kiosk")
    made = []
    for i in range(n):
        body = {"service": "id-card"} | ({"phone": f"0101234{i:04d}"} if phone else {})
        response = client.post(f"{BRANCH}/tickets", json=body, headers=kiosk)
        assert response.status_code == 201, response.json
        made.append(response.json)
    return made


def _state() -> BackendState:
    db.session.expire_all()
    return db.session.scalar(select(Backend.state))


def _service_state(clock) -> service_state.ServiceState:
    db.session.commit()
    service = directory.current(db.session).branch("cairo-civil").service("id-card")
    return service_state.status_of(service, clock.now()).state


def _outage_texts() -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Message).where(Message.event.like("rescheduled:outage:%")).order_by(Message.id)
        )
    )


def test_the_health_check_itself(health):
    assert check(health.url) == (True, None)
    health.up = False
    assert check(health.url) == (False, "HTTP 503")
    ok, error = check("http://127.0.0.1:9/health", timeout=1)
    assert not ok
    assert "Connection refused" in error


def test_a_blip_starts_nothing_and_three_failures_pause(registry, health, monitor, clock):
    health.up = False
    for _ in range(2):
        monitor.check_due(every_one=True)
    assert _state() == BackendState.UP  # two failures: a blip
    health.up = True
    monitor.check_due(every_one=True)
    health.up = False
    for _ in range(2):
        monitor.check_due(every_one=True)
    assert _state() == BackendState.UP  # the good check in between reset the count
    monitor.check_due(every_one=True)
    assert _state() == BackendState.DOWN
    assert _service_state(clock) == service_state.ServiceState.PAUSED
    outage = db.session.scalar(select(Outage))
    assert outage.detected_by.value == "health_check"
    assert outage.note == "HTTP 503"


def test_a_flapping_system_stays_one_outage_and_texts_nobody_twice(
    client, registry, health, monitor, clock, make_token
):
    _take(client, make_token, 3)
    db.session.execute(Message.__table__.delete())
    db.session.commit()
    health.up = False
    for _ in range(3):
        monitor.check_due(every_one=True)
    clock.advance(minutes=25)  # past reschedule_after_minutes (20)
    assert outage_moves.run_timers(db.session, clock).moved == 3
    # On and off: never two good checks in a row, so it stays down, one outage.
    for up in (True, False, True, False, True, False):
        health.up = up
        monitor.check_due(every_one=True)
        outage_moves.run_timers(db.session, clock)
    assert _state() == BackendState.DOWN
    assert db.session.scalar(select(func.count()).select_from(Outage)) == 1
    texts = _outage_texts()
    assert len(texts) == 3
    assert len({t.ticket_id for t in texts}) == 3
    # Two good checks in a row: back up; still nobody texted again.
    health.up = True
    monitor.check_due(every_one=True)
    monitor.check_due(every_one=True)
    assert _state() == BackendState.UP
    assert db.session.scalar(select(Outage.ended_by)) == "health_check"
    assert len(_outage_texts()) == 3


def test_the_line_moves_after_reschedule_after_minutes_to_the_next_opening_day(
    client, registry, clock, make_token
):
    tickets = _take(client, make_token, 4)
    _take(client, make_token, 1, phone=False)
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=10)
    assert outage_moves.run_timers(db.session, clock).moved == 0
    clock.advance(minutes=10)  # 20 minutes of outage
    done = outage_moves.run_timers(db.session, clock)
    assert (done.moved, done.texted) == (5, 4)
    db.session.expire_all()
    moved = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert {t.status for t in moved} == {TicketStatus.SCHEDULED}
    assert min(t.slot_start for t in moved) == WEDNESDAY_8  # no end given: the next opening day
    starts = [t.slot_start for t in moved]
    assert starts == sorted(starts)  # in the order they were issued
    texts = _outage_texts()
    assert [t.to for t in texts] == [f"+20101234{i:04d}" for i in range(4)]
    assert "عطل" in texts[0].body
    assert texts[0].body.endswith(tickets[0]["token"])
    # Nothing more on later runs.
    assert outage_moves.run_timers(db.session, clock).moved == 0
    outage = db.session.scalar(select(Outage))
    assert (outage.tickets_paused, outage.tickets_moved, outage.tickets_texted) == (5, 5, 4)


def test_one_counter_shared_by_three_services_moves_every_line(
    client, make_backend, make_branch, health, clock, make_token
):
    # The small office of the reports: one counter for three services, ten minutes a citizen:
    # each service has half an appointment a slot (a third of the counter, half kept for
    # walk-ins). Flooring each slot gave them none, and an outage moved nobody, for ever.
    backend = make_backend(health_url=health.url)
    make_branch(
        services=[("id-card", "A"), ("birth-cert", "B"), ("marriage", "C")],
        backends=[backend],
        avg_service_minutes=10,
    )
    kiosk = make_token("kiosk")
    for n, service in enumerate(["id-card", "birth-cert", "marriage"] * 3):
        body = {"service": service, "phone": f"0101234{n:04d}"}
        assert client.post(f"{BRANCH}/tickets", json=body, headers=kiosk).status_code == 201
    outages.declare(db.session, clock, backend.code)
    clock.advance(minutes=20)
    done = outage_moves.run_timers(db.session, clock)
    assert (done.moved, done.unplaced, done.texted) == (9, 0, 9)
    db.session.expire_all()
    moved = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert {t.status for t in moved} == {TicketStatus.SCHEDULED}
    for service_id in {t.service_id for t in moved}:
        starts = [t.slot_start for t in moved if t.service_id == service_id]
        assert starts == sorted(starts)
        assert len(set(starts)) == 3  # half a place a slot: one citizen a slot, never two


def test_an_expected_end_past_closing_moves_at_once_to_after_it(
    client, registry, clock, make_token
):
    _take(client, make_token, 2)
    outages.declare(db.session, clock, registry.code, expected_minutes=6 * 60)  # to 16:00
    done = outage_moves.run_timers(db.session, clock)
    assert done.moved == 2
    db.session.expire_all()
    first = min(db.session.scalars(select(Ticket.slot_start)))
    assert first == WEDNESDAY_8  # 16:00 is after closing: the next day's first slot


def test_an_expected_end_today_moves_after_it_today(client, registry, clock, make_token):
    _take(client, make_token, 2)
    outages.declare(db.session, clock, registry.code, expected_minutes=60)  # until 11:00
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)
    db.session.expire_all()
    starts = sorted(db.session.scalars(select(Ticket.slot_start)))
    assert starts[0] == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 11:00 Cairo, today


def test_manual_fallback_keeps_what_it_can_serve_and_moves_the_rest(
    client, registry, clock, make_token
):
    db.session.execute(
        Service.__table__.update().values(manual_fallback_percent=10)
    )  # 10% of one counter's rate: 5 hours x 10/h x 10% = 5 citizens before closing
    directory.mark_changed(db.session)
    db.session.commit()
    _take(client, make_token, 8)
    outages.declare(db.session, clock, registry.code)
    assert _service_state(clock) == service_state.ServiceState.DEGRADED
    clock.advance(minutes=20)
    done = outage_moves.run_timers(db.session, clock)
    db.session.expire_all()
    line = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    kept = [t for t in line if t.status == TicketStatus.WAITING]
    assert done.moved == len(line) - len(kept)
    assert [t.id for t in kept] == [t.id for t in line[: len(kept)]]  # the first in line stay
    assert 0 < len(kept) < len(line)


def test_staff_reports_declare_it_down_when_enough_come_soon_enough(
    client, registry, clock, make_token
):
    first, second, third = (make_token("staff") for _ in range(3))
    report = f"/api/v1/backends/{registry.code}/reports"
    assert client.post(report, json={}, headers=first).json["reports"] == 1
    clock.advance(minutes=11)  # the window is 10 minutes: the first no longer counts
    assert client.post(report, json={}, headers=first).json["reports"] == 1
    assert client.post(report, json={}, headers=second).json["backend"]["state"] == "up"
    last = client.post(report, json={"note": "لا يستجيب"}, headers=third)
    assert last.status_code == 200
    assert last.json["reports"] == 3
    # Down at the reporting branch only: the system stays up everywhere else.
    assert last.json["backend"]["state"] == "up"
    assert last.json["backend"]["down_at"] == ["cairo-civil"]
    assert last.json["backend"]["current_outage"]["detected_by"] == "staff_reports"
    assert last.json["backend"]["current_outage"]["branch"] == "cairo-civil"
    assert _service_state(clock) == service_state.ServiceState.PAUSED


def test_one_counter_pressing_three_times_is_one_report(client, registry, clock, make_token):
    staff = make_token("staff")
    report = f"/api/v1/backends/{registry.code}/reports"
    answers = [client.post(report, json={}, headers=staff).json for _ in range(3)]
    assert [a["reports"] for a in answers] == [1, 1, 1]
    assert answers[-1]["backend"]["state"] == "up"


def test_a_passing_check_does_not_end_an_outage_staff_reported(client, registry, clock, make_token):
    """The central system may answer the monitor while the branch's own link to it is down:
    the pause holds until a manager resolves it."""
    report = f"/api/v1/backends/{registry.code}/reports"
    for staff in [make_token("staff") for _ in range(3)]:
        client.post(report, json={}, headers=staff)
    for _ in range(registry.recovery_threshold + 2):
        outages.record_check(db.session, clock, registry.id, ok=True)
    db.session.expire_all()
    assert client.get("/api/v1/backends").json[0]["down_at"] == ["cairo-civil"]
    assert _service_state(clock) == service_state.ServiceState.PAUSED
    manager = make_token("manager")
    up = client.post(f"/api/v1/backends/{registry.code}/outages/resolve", headers=manager)
    assert up.json["down_at"] == []
    assert up.json["current_outage"] is None
    assert _service_state(clock) == service_state.ServiceState.OPEN


def test_a_manager_declares_and_resolves_and_recovery_texts_nobody(
    client, registry, clock, make_token
):
    _take(client, make_token, 2)
    db.session.execute(Message.__table__.delete())
    db.session.commit()
    manager = make_token("manager")
    down = client.post(
        f"/api/v1/backends/{registry.code}/outages",
        json={"note": "central network", "expected_minutes": 30},
        headers=manager,
    )
    assert down.status_code == 201, down.json
    # A manager's declaration holds at their branch: down there, up everywhere else.
    assert down.json["state"] == "up"
    assert down.json["down_at"] == ["cairo-civil"]
    assert down.json["current_outage"]["expected_end"] == "2026-11-24T08:30:00+00:00"
    assert down.json["current_outage"]["branch"] == "cairo-civil"
    assert client.get("/api/v1/backends").json[0]["outages"][0]["branch"] == "cairo-civil"
    assert _service_state(clock) == service_state.ServiceState.PAUSED
    up = client.post(f"/api/v1/backends/{registry.code}/outages/resolve", headers=manager)
    assert up.json["state"] == "up"
    assert up.json["down_at"] == []
    assert up.json["current_outage"] is None
    assert _service_state(clock) == service_state.ServiceState.OPEN
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    again = client.post(f"/api/v1/backends/{registry.code}/outages/resolve", headers=manager)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("path", "body", "token", "status"),
    [
        ("outages", {}, None, 401),
        ("outages", {}, "staff", 403),
        ("outages", {"expected_minutes": 0}, "manager", 422),
        ("outages", {"expected_minutes": "soon"}, "manager", 422),
        ("reports", {}, None, 401),
        ("reports", {}, "kiosk", 403),
        ("maintenance", {"start": "2026-11-25T08:00:00+02:00"}, "manager", 422),
        (
            "maintenance",
            {"start": "2026-11-25T10:00:00+02:00", "end": "2026-11-25T08:00:00+02:00"},
            "manager",
            422,
        ),
    ],
)
def test_bad_outage_requests_change_nothing(
    client, registry, make_token, path, body, token, status
):
    headers = make_token(token) if token else {}
    response = client.post(f"/api/v1/backends/{registry.code}/{path}", json=body, headers=headers)
    assert response.status_code == status, response.json
    assert set(response.json) == {"error", "message", "fields"}
    assert _state() == BackendState.UP
    assert db.session.scalar(select(func.count()).select_from(Outage)) == 0


def test_an_unknown_system_is_404(client, registry, make_token):
    response = client.post(
        "/api/v1/backends/nothing/outages", json={}, headers=make_token("manager")
    )
    assert response.status_code == 404


def test_maintenance_moves_the_appointments_inside_and_refuses_new_ones(
    client, registry, make_token
):
    inside = client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": "2026-11-25T09:00:00+02:00", "phone": "01012345678"},
    ).json
    outside = client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": "2026-11-25T13:00:00+02:00", "phone": "01087654321"},
    ).json
    announced = client.post(
        f"/api/v1/backends/{registry.code}/maintenance",
        json={
            "start": "2026-11-25T08:00:00+02:00",
            "end": "2026-11-25T12:00:00+02:00",
            "note": "تحديث المنظومة",
        },
        headers=make_token("manager"),
    )
    assert announced.status_code == 201, announced.json
    assert announced.json["tickets_moved"] == 1
    moved = client.get(f"/api/v1/tickets/{inside['token']}").json
    assert moved["slot"]["start"] == "2026-11-25T10:00:00+00:00"  # 12:00 Cairo, after the window
    assert client.get(f"/api/v1/tickets/{outside['token']}").json["slot"]["start"] == (
        "2026-11-25T11:00:00+00:00"
    )
    texts = db.session.scalars(
        select(Message).where(Message.event.like("rescheduled:maintenance:%"))
    ).all()
    assert [t.to for t in texts] == ["+201012345678"]
    assert "صيانة" in texts[0].body
    refused = client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": "2026-11-25T10:00:00+02:00", "phone": "01011112222"},
    )
    assert refused.status_code == 409
    assert refused.json["error"] == "system_unavailable"
    slots = client.get(
        f"{BRANCH}/services/id-card/slots", query_string={"from": "2026-11-25", "days": 1}
    ).json
    assert slots[0]["start"] == "2026-11-25T10:00:00+00:00"


def test_the_evening_notice_moves_tomorrow_s_appointments_once(client, registry, clock):
    booked = client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": "2026-11-25T09:00:00+02:00", "phone": "01012345678"},
    ).json
    outages.declare(db.session, clock, registry.code)  # no end known
    clock.set(datetime(2026, 11, 24, 15, 59, tzinfo=UTC))  # 17:59 Cairo
    outage_moves.run_timers(db.session, clock)
    assert (
        client.get(f"/api/v1/tickets/{booked['token']}")
        .json["slot"]["start"]
        .startswith("2026-11-25")
    )
    clock.set(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))  # 18:00: the evening notice
    outage_moves.run_timers(db.session, clock)
    moved = client.get(f"/api/v1/tickets/{booked['token']}").json
    assert moved["slot"]["start"].startswith("2026-11-26")  # Thursday, the day after
    outage_moves.run_timers(db.session, clock)
    texts = db.session.scalars(
        select(Message).where(Message.event.like("rescheduled:outage:%"))
    ).all()
    assert len(texts) == 1


def test_a_line_moved_in_the_evening_with_no_end_known_is_told_once(
    client, registry, clock, make_token
):
    # An office whose evening notice comes before it closes (or a worker that was away): the
    # line is moved after the evening notice's time. It goes past tomorrow at once, as the
    # evening notice would send tomorrow's appointments, so nobody gets "tomorrow" and then
    # "the day after" within seconds.
    branch = db.session.scalars(select(Branch)).one()
    branch.evening_notice = time(14, 0)
    db.session.commit()
    taken = _take(client, make_token, 3)  # Tuesday 10:00 Cairo
    clock.set(datetime(2026, 11, 24, 12, 30, tzinfo=UTC))  # 14:30 Cairo
    outages.declare(db.session, clock, registry.code)  # no end known
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)
    outage_moves.run_timers(db.session, clock)
    for ticket in taken:
        moved = client.get(f"/api/v1/tickets/{ticket['token']}").json
        assert moved["slot"]["start"].startswith("2026-11-26"), moved  # Thursday
    texts = db.session.scalars(
        select(Message).where(Message.event.like("rescheduled:outage:%"))
    ).all()
    assert len(texts) == 3
    assert len({text.ticket_id for text in texts}) == 3


def test_each_outage_keeps_its_record(client, registry, clock, make_token):
    _take(client, make_token, 3)
    _take(client, make_token, 1, phone=False)
    outages.declare(db.session, clock, registry.code, note="central network down")
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)
    outages.resolve(db.session, clock, registry.code)
    (record,) = client.get(f"/api/v1/backends/{registry.code}/outages").json
    assert record["backend"] == registry.code
    assert record["detected_by"] == "manager"
    assert record["note"] == "central network down"
    assert record["ended_at"] == "2026-11-24T08:20:00+00:00"
    assert (record["tickets_paused"], record["tickets_moved"], record["tickets_texted"]) == (
        4,
        4,
        3,
    )
    assert record["messages"] == {"queued": 3}
    assert client.get("/api/v1/backends/nothing/outages").status_code == 404


def test_concurrent_kiosks_during_an_outage_get_no_ticket_for_the_paused_service(
    app, registry, clock, make_token
):
    from sqlalchemy.orm import Session as PlainSession

    from queue_app import access, tickets
    from queue_app.errors import ServicePaused

    outages.declare(db.session, clock, registry.code)
    raw = make_token("kiosk")["Authorization"].split()[1]
    engine = db.engine
    answers: list[str] = []

    def kiosk() -> None:
        with PlainSession(engine) as session:
            principal = access.authenticate(session, clock, f"Bearer {raw}")
            for _ in range(5):
                try:
                    tickets.take_walk_in(session, clock, principal, "cairo-civil", "id-card")
                    answers.append("ticket")
                except ServicePaused:
                    answers.append("paused")

    threads = [threading.Thread(target=kiosk) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == ["paused"] * 30
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def _no_appointment_room(walk_in_percent: int = 100) -> None:
    """Every place kept for walk-ins: an outage finds no free time for anybody."""
    db.session.execute(Service.__table__.update().values(walk_in_percent=walk_in_percent))
    directory.mark_changed(db.session)
    db.session.commit()


def _messages(prefix: str) -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Message).where(Message.event.like(f"{prefix}%")).order_by(Message.id)
        )
    )


def test_nobody_is_left_silent_when_no_free_time_is_found(client, registry, clock, make_token):
    tickets = _take(client, make_token, 3)
    _take(client, make_token, 1, phone=False)
    _no_appointment_room()
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=20)
    done = outage_moves.run_timers(db.session, clock)
    assert (done.moved, done.unplaced, done.told_no_slot) == (0, 4, 3)
    told = _messages("no_slot:outage:")
    assert [m.to for m in told] == [f"+20101234{i:04d}" for i in range(3)]
    assert "تذكرتك باقية" in told[0].body
    assert told[0].body.endswith(tickets[0]["token"])
    outage = db.session.scalar(select(Outage))
    assert outage.tickets_unplaced == 4
    # The ticket says so, in its JSON and on its page, instead of promising a time.
    looked_up = client.get(f"/api/v1/tickets/{tickets[0]['token']}").json
    assert looked_up["awaiting_slot"] is True
    assert looked_up["history"][-1]["event"] == "no_slot_yet"
    page = client.get(f"/t/{tickets[0]['token']}").get_data(as_text=True)
    assert "لم نجد لك موعدًا متاحًا بعد" in page
    (record,) = client.get(f"/api/v1/backends/{registry.code}/outages").json
    assert record["tickets_unplaced"] == 4
    assert record["messages"] == {"queued": 3}
    assert "٤" in client.get("/status/cairo-civil").get_data(as_text=True)
    # Later rounds tell nobody again.
    for _ in range(3):
        clock.advance(minutes=outage_moves.RETRY_MINUTES)
        assert outage_moves.run_timers(db.session, clock).told_no_slot == 0
    assert len(_messages("no_slot:")) == 3


def test_the_worker_places_them_when_room_appears(client, registry, clock, make_token):
    tickets = _take(client, make_token, 3)
    _no_appointment_room()
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)
    clock.advance(minutes=1)
    assert outage_moves.run_timers(db.session, clock).moved == 0  # looked again: no room
    _no_appointment_room(walk_in_percent=50)  # the manager gives appointments room again
    clock.advance(minutes=1)
    assert outage_moves.run_timers(db.session, clock).moved == 0  # not looked at every round
    clock.advance(minutes=outage_moves.RETRY_MINUTES)
    done = outage_moves.run_timers(db.session, clock)
    assert (done.moved, done.placed_later, done.texted) == (3, 3, 3)
    db.session.expire_all()
    placed = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert {t.status for t in placed} == {TicketStatus.SCHEDULED}
    assert {t.awaiting_slot_for for t in placed} == {None}
    starts = [t.slot_start for t in placed]
    assert starts == sorted(starts)
    assert min(starts) >= WEDNESDAY_8
    moved = _messages("rescheduled:outage:")
    assert [m.ticket_id for m in moved] == [t.id for t in placed]  # one each: the promised one
    assert client.get(f"/api/v1/tickets/{tickets[0]['token']}").json["awaiting_slot"] is False
    outage = db.session.scalar(select(Outage))
    assert (outage.tickets_unplaced, outage.tickets_moved, outage.tickets_texted) == (0, 3, 6)
    clock.advance(minutes=outage_moves.RETRY_MINUTES)
    assert outage_moves.run_timers(db.session, clock).moved == 0


def test_the_system_back_first_tells_those_still_waiting_for_a_time(
    client, registry, clock, make_token
):
    tickets = _take(client, make_token, 2)
    _no_appointment_room()
    outages.declare(db.session, clock, registry.code)
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)
    clock.advance(minutes=30)
    outages.resolve(db.session, clock, registry.code)
    back = _messages("system_back:")
    assert [m.to for m in back] == ["+201012340000", "+201012340001"]
    assert "سارية" in back[0].body
    db.session.expire_all()
    assert {t.status for t in db.session.scalars(select(Ticket))} == {TicketStatus.WAITING}
    looked_up = client.get(f"/api/v1/tickets/{tickets[0]['token']}").json
    assert looked_up["awaiting_slot"] is False
    assert looked_up["position"] == 1  # back at the front of the line it never left
    outage = db.session.scalar(select(Outage))
    assert outage.tickets_unplaced == 0
    # A flap, down and up again, tells nobody a second time for the first outage.
    outages.declare(db.session, clock, registry.code)
    outages.resolve(db.session, clock, registry.code)
    assert len(_messages("system_back:")) == 2


def _per_slot() -> list[tuple[datetime, int]]:
    db.session.expire_all()
    return db.session.execute(
        select(Ticket.slot_start, func.count())
        .group_by(Ticket.slot_start)
        .order_by(Ticket.slot_start)
    ).all()


def test_walk_ins_moved_within_their_day_may_use_the_walk_in_share_left_unused(
    client, registry, clock, make_token
):
    # One counter, six minutes a citizen, 30-minute slots: five citizens a slot, half kept for
    # walk-ins. A quiet morning (ten walk-ins by 12:00, 1.25 a slot) leaves 1.25 of the 2.5
    # unused; the walk-ins an outage moves to later today are that day's walk-ins: it is theirs.
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # 12:00 Cairo
    _take(client, make_token, 10)
    clock.advance(minutes=1)
    outages.declare(db.session, clock, registry.code, expected_minutes=60)  # back at 13:01
    clock.advance(minutes=20)
    assert outage_moves.run_timers(db.session, clock).moved == 10
    per_slot = _per_slot()
    # 13:30, 14:00 and 14:30 before closing: 3.75 places a slot. Appointment places alone
    # (2.5 a slot) would have sent three of them to tomorrow.
    assert [start for start, _ in per_slot] == [
        datetime(2026, 11, 24, h, m, tzinfo=UTC) for h, m in ((11, 30), (12, 0), (12, 30))
    ]
    assert sum(n for _, n in per_slot) == 10
    # A booking made now finds today's slots full.
    assert slots_next_free_start(client) >= datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_a_busy_morning_keeps_the_walk_in_share_for_the_walk_ins_to_come(
    client, registry, clock, make_token
):
    # Ten walk-ins between 08:00 and 10:00 is 2.5 a slot: the whole walk-in share. The line
    # moved to after 11:01 gets the appointment places only; the afternoon's walk-ins keep theirs.
    _take(client, make_token, 10)
    clock.advance(minutes=1)
    outages.declare(db.session, clock, registry.code, expected_minutes=60)
    clock.advance(minutes=20)
    assert outage_moves.run_timers(db.session, clock).moved == 10
    counts = [n for _, n in _per_slot()]
    assert len(counts) == 4
    assert sum(counts) == 10
    assert max(counts) <= 3


def test_walk_ins_moved_to_a_later_day_leave_that_day_its_walk_in_share(
    client, registry, clock, make_token
):
    _take(client, make_token, 10)
    outages.declare(db.session, clock, registry.code)  # no end known: the next opening day
    clock.advance(minutes=20)
    assert outage_moves.run_timers(db.session, clock).moved == 10
    # Wednesday keeps half of each slot for its own walk-ins: 2.5 places a slot, not 5.
    counts = [n for _, n in _per_slot()]
    assert counts == [2, 3, 2, 3]


def slots_next_free_start(client) -> datetime:
    service = client.get(BRANCH).json["services"][0]
    return datetime.fromisoformat(service["next_slot"])


def test_a_line_moved_this_morning_and_again_this_evening_hears_the_second_time_tomorrow(
    client, registry, clock, make_token
):
    # Found by the day simulation: no end known, the line moved at 10:20 to Wednesday, and at
    # 18:00 the evening notice moved Wednesday again, with a second text the same evening.
    taken = _take(client, make_token, 2)
    booked = client.post(
        f"{BRANCH}/appointments",
        json={"service": "id-card", "start": "2026-11-25T14:00:00+02:00", "phone": "01099999999"},
    ).json
    db.session.execute(Message.__table__.delete())
    db.session.commit()
    outages.declare(db.session, clock, registry.code)  # no end known
    clock.advance(minutes=20)
    outage_moves.run_timers(db.session, clock)
    clock.set(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))  # 18:00 Cairo: the evening notice
    outage_moves.run_timers(db.session, clock)
    for ticket in (*taken, booked):
        moved = client.get(f"/api/v1/tickets/{ticket['token']}").json
        assert moved["slot"]["start"].startswith("2026-11-26"), moved  # Thursday
    texts = _messages("rescheduled:outage:")
    morning = [t for t in texts if t.event.count(":") == 2]
    evening = {t.ticket_id: t for t in texts if "evening" in t.event}
    assert len(morning) == 2
    assert len(evening) == 3
    # The two texted this morning hear of Thursday tomorrow at 06:00 Cairo, before they leave
    # home; the booking nobody had told of anything today hears of it at once.
    held = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    for text in morning:
        assert evening[text.ticket_id].next_attempt_at == held
    booked_id = db.session.scalar(select(Ticket.id).where(Ticket.token == booked["token"]))
    assert evening[booked_id].next_attempt_at == clock.now()
