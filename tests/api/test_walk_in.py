"""Walk-in tickets through the public API: issue, look up, call, finish."""

from __future__ import annotations

import math

from flask.testing import FlaskClient
from sqlalchemy import func, select

from queue_app.models import Ticket
from queue_app.web.extensions import db


def _take(client: FlaskClient, headers: dict[str, str], **body: object):
    return client.post(
        "/api/v1/branches/cairo-civil/tickets", json={"service": "id-card", **body}, headers=headers
    )


def test_take_ticket_returns_number_place_and_links(client, make_branch, make_token):
    make_branch()
    kiosk = make_token("kiosk")
    first = _take(client, kiosk, phone="010 1234 5678")
    second = _take(client, kiosk)
    assert first.status_code == 201, first.json
    assert first.json["number"] == "A-001"
    assert second.json["number"] == "A-002"
    assert first.json["status"] == "waiting"
    assert first.json["position"] == 1
    assert second.json["position"] == 2
    assert second.json["eta_minutes"] == 6  # one ahead, six minutes each, one counter
    token = first.json["token"]
    assert first.json["status_url"] == f"http://queue.test/t/{token}"
    assert first.json["qr_url"] == f"http://queue.test/t/{token}/qr.png"
    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    looked_up = client.get(f"/api/v1/tickets/{token}").json
    assert looked_up["number"] == "A-001"
    assert [h["event"] for h in looked_up["history"]] == ["issued"]
    stored = db.session.scalar(select(Ticket).where(Ticket.token == token))
    assert stored.phone == "+201012345678"


def test_priority_goes_first_then_issue_order(client, make_branch, make_token, clock):
    make_branch()
    kiosk, staff = make_token("kiosk"), make_token("staff")
    numbers = []
    for priority in (False, False, True, False, True):
        clock.advance(seconds=30)
        numbers.append(_take(client, kiosk, priority=priority).json["number"])
    called = []
    for _ in range(5):
        clock.advance(minutes=5)
        response = client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
        called.append(response.json["number"])
    assert called == [numbers[2], numbers[4], numbers[0], numbers[1], numbers[3]]
    assert (
        client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff).status_code
        == 204
    )


def test_counter_actions_and_running_average(client, make_branch, make_token, clock):
    make_branch()
    kiosk, staff = make_token("kiosk"), make_token("staff")
    tokens = [_take(client, kiosk).json["token"] for _ in range(3)]
    call = client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
    assert call.json["status"] == "called"
    assert call.json["counter"] == "1"
    clock.advance(minutes=10)
    assert (
        client.post(f"/api/v1/tickets/{tokens[0]}/recall", headers=staff).json["status"] == "called"
    )
    done = client.post(f"/api/v1/tickets/{tokens[0]}/done", headers=staff)
    assert done.json["status"] == "done"
    # One measurement is too few to say anything: the configured six minutes still hold.
    assert client.get(f"/api/v1/tickets/{tokens[2]}").json["eta_minutes"] == 6
    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
    no_show = client.post(f"/api/v1/tickets/{tokens[1]}/no-show", headers=staff)
    assert no_show.json["status"] == "no_show"
    again = client.post(f"/api/v1/tickets/{tokens[1]}/done", headers=staff)
    assert again.status_code == 409
    assert again.json["error"] == "state_conflict"


def _serve(client: FlaskClient, kiosk, staff, clock, minutes: float, count: int) -> None:
    for _ in range(count):
        _take(client, kiosk)
        client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
        clock.advance(seconds=minutes * 60)
        client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)


def _tomorrow_places(client: FlaskClient) -> list[int]:
    slots = client.get(
        "/api/v1/branches/cairo-civil/services/id-card/slots?from=2026-11-25&days=1"
    ).json
    return [s["capacity"] for s in slots[:4]]


def test_the_measured_pace_needs_a_sample_and_stays_within_bounds(
    client, make_branch, make_token, clock
):
    make_branch()
    kiosk, staff = make_token("kiosk"), make_token("staff")
    configured = _tomorrow_places(client)
    assert configured == [2, 3, 2, 3]  # 2.5 places a slot at the configured six minutes

    # Ten call → done under a second each: half the configured time at most, not 273,326 places.
    _serve(client, kiosk, staff, clock, minutes=0.01, count=10)
    assert _tomorrow_places(client) == [5, 5, 5, 5]  # three minutes each: the lower bound

    # Twenty steady ten-minute services outvote the ten quick ones in the median; the
    # configured six minutes still weigh in, as five measurements would.
    _serve(client, kiosk, staff, clock, minutes=10, count=20)
    waiting = [_take(client, kiosk).json for _ in range(2)]
    measured = 30 / 35 * 600 + 5 / 35 * 360  # about 9.4 minutes
    assert waiting[1]["eta_minutes"] == math.ceil(measured / 60)
    assert sum(_tomorrow_places(client)) < sum(configured)


def test_numbers_restart_each_local_day(client, make_branch, make_token, clock):
    make_branch()
    kiosk = make_token("kiosk")
    assert _take(client, kiosk).json["number"] == "A-001"
    clock.advance(days=1)  # Wednesday
    assert _take(client, kiosk).json["number"] == "A-001"
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_closed_outside_hours(client, make_branch, make_token, clock):
    make_branch()
    kiosk = make_token("kiosk")
    clock.advance(hours=8)  # 18:00 in Cairo
    response = _take(client, kiosk)
    assert response.status_code == 409
    assert response.json["error"] == "service_closed"
    assert response.json["fields"]["next_opening"].startswith("2026-11-25T08:00:00+02:00")


def test_citizen_cancels(client, make_branch, make_token):
    make_branch()
    token = _take(client, make_token("kiosk")).json["token"]
    assert client.post(f"/api/v1/tickets/{token}/cancel").json["status"] == "cancelled"
    assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 409


def test_branches_show_state_line_and_wait(client, make_branch, make_token):
    make_branch(counters=2, services=[("id-card", "A"), ("birth-cert", "B")])
    kiosk = make_token("kiosk")
    for _ in range(3):
        _take(client, kiosk)
    _take(client, kiosk, service="birth-cert")
    branches = client.get("/api/v1/branches").json
    assert [b["code"] for b in branches] == ["cairo-civil"]
    services = {s["code"]: s for s in branches[0]["services"]}
    assert services["id-card"]["state"] == "open"
    assert services["id-card"]["waiting"] == 3
    # The counters serve both services: 4 people × 6 min over 2 counters, for a ticket taken now.
    assert services["id-card"]["eta_minutes"] == 12
    assert services["birth-cert"]["waiting"] == 1
    assert services["id-card"]["name"] == {"ar": "خدمة A", "en": "Service A"}
    detail = client.get("/api/v1/branches/cairo-civil").json
    assert [c["code"] for c in detail["counters"]] == ["1", "2"]
    client.post("/api/v1/branches/cairo-civil/counters/2/call-next", headers=make_token("staff"))
    detail = client.get("/api/v1/branches/cairo-civil").json
    assert detail["counters"][1]["now_serving"] == "A-001"
    assert detail["counters"][0]["now_serving"] is None


def test_ticket_json_carries_the_wait_and_its_range(client, make_branch, make_token, clock):
    """One counter serves three services: the wait counts every line it serves, and the ticket
    at the counter for the time it has left."""
    make_branch(services=[("id-card", "A"), ("birth-cert", "B"), ("inquiries", "C")])
    kiosk, staff = make_token("kiosk"), make_token("staff")
    first = _take(client, kiosk).json
    clock.advance(minutes=1)
    _take(client, kiosk, service="inquiries")
    clock.advance(minutes=1)
    birth = _take(client, kiosk, service="birth-cert").json
    # Two citizens of other services ahead, six minutes each (the old formula said 0).
    assert (birth["position"], birth["eta_minutes"], birth["eta_range_minutes"]) == (1, 12, [9, 17])
    looked_up = client.get(f"/api/v1/tickets/{birth['token']}").json
    assert (looked_up["eta_minutes"], looked_up["eta_range_minutes"]) == (12, [9, 17])

    client.post("/api/v1/branches/cairo-civil/counters/1/call-next", headers=staff)
    clock.advance(minutes=2)
    # A-001 has been at the counter for 2 of its 6 minutes: 4 more, then C-001's 6.
    looked_up = client.get(f"/api/v1/tickets/{birth['token']}").json
    assert (looked_up["eta_minutes"], looked_up["eta_range_minutes"]) == (10, [7, 15])
    called = client.get(f"/api/v1/tickets/{first['token']}").json
    assert called["status"] == "called"
    assert (called["eta_minutes"], called["eta_range_minutes"]) == (None, None)
