"""Each service's earliest free time in GET /api/v1/branches(/{b}): what the kiosk offers when a
service gives no ticket, and what any client may show to book."""

from __future__ import annotations

from datetime import timedelta

from queue_app import appointments
from queue_app.models import BackendState, CapacityOverride
from queue_app.web.extensions import db


def _down(backend, clock):
    backend.state = BackendState.DOWN
    backend.state_since = clock.now()
    db.session.commit()


def _no_free_time(branch, clock):
    """No appointment place left in the booking horizon: a manager's capacity of 0."""
    db.session.add(
        CapacityOverride(
            service_id=branch.services[0].id,
            first_day=clock.now().date(),
            last_day=clock.now().date() + timedelta(days=90),
            per_slot=0,
            created_at=clock.now(),
        )
    )
    db.session.commit()


def _take_ticket(client, make_token):
    return client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card"},
        headers=make_token("kiosk"),
    )


def test_the_branch_api_gives_each_service_its_next_slot(client, make_branch, make_backend, clock):
    backend = make_backend()
    make_branch(services=[("id-card", "A"), ("birth-cert", "B")], backends=[backend])
    services = client.get("/api/v1/branches/cairo-civil").json["services"]
    assert [s["next_slot"] for s in services] == ["2026-11-24T08:30:00+00:00"] * 2
    _down(backend, clock)  # paused or not, the earliest free time is the same
    listed = client.get("/api/v1/branches").json[0]["services"]
    assert [s["next_slot"] for s in listed] == ["2026-11-24T08:30:00+00:00"] * 2
    clock.advance(hours=6)  # 16:00: closed, tomorrow's first slot
    services = client.get("/api/v1/branches/cairo-civil").json["services"]
    assert services[0]["next_slot"] == "2026-11-25T06:00:00+00:00"


def test_no_free_time_is_none(client, make_branch, clock):
    branch = make_branch()
    _no_free_time(branch, clock)
    [service] = client.get("/api/v1/branches/cairo-civil").json["services"]
    assert service["next_slot"] is None


def test_the_board_and_the_counter_screen_do_not_ask_for_it(
    client, make_branch, monkeypatch, signed_in
):
    make_branch()
    signed_in("staff")

    def refuse(*args, **kwargs):
        raise AssertionError("earliest_slot asked for a page that does not show it")

    monkeypatch.setattr(appointments, "earliest_slot", refuse)
    assert client.get("/display/cairo-civil").status_code == 200
    assert client.get("/counter/cairo-civil/1").status_code == 200


def test_a_declared_outage_moves_it_past_the_outage(client, make_branch, make_backend, make_token):
    backend = make_backend()
    make_branch(backends=[backend])
    declared = client.post(
        f"/api/v1/backends/{backend.code}/outages", json={}, headers=make_token("admin")
    )
    assert declared.status_code in (200, 201), declared.json
    # No expected end: the outage counts to the end of the day, so tomorrow's first slot.
    [service] = client.get("/api/v1/branches/cairo-civil").json["services"]
    assert service["state"] == "paused"
    assert service["next_slot"] == "2026-11-25T06:00:00+00:00"


def test_a_paused_service_refuses_a_ticket_with_the_same_next_slot(
    client, make_branch, make_backend, make_token, clock
):
    backend = make_backend()
    make_branch(backends=[backend])
    _down(backend, clock)
    offered = client.get("/api/v1/branches/cairo-civil").json["services"][0]["next_slot"]
    refused = _take_ticket(client, make_token)
    assert refused.status_code == 409
    assert refused.json["error"] == "service_paused"
    assert refused.json["fields"]["backends"] == ["civil-registry"]
    assert refused.json["fields"]["next_slot"] == offered == "2026-11-24T08:30:00+00:00"


def test_a_paused_service_with_no_free_time_says_so(
    client, make_branch, make_backend, make_token, clock
):
    backend = make_backend()
    branch = make_branch(backends=[backend])
    _no_free_time(branch, clock)
    _down(backend, clock)
    refused = _take_ticket(client, make_token)
    assert refused.json["error"] == "service_paused"
    assert refused.json["fields"]["next_slot"] is None
