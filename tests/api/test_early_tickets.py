"""Walk-in tickets before the opening (``early_tickets_minutes``): the crowd at the door from
06:30 takes its tickets and leaves; their waits count from the opening."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient

from queue_app.models import Holiday
from queue_app.web.extensions import db

BRANCH = "/api/v1/branches/cairo-civil"
# Tuesday 24 November 2026 in Cairo (UTC+2); the branch opens at 08:00.
TUESDAY_0630 = datetime(2026, 11, 24, 4, 30, tzinfo=UTC)
TUESDAY_0700 = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
FRIDAY_0700 = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # the branch works Sunday to Thursday


def _take(client: FlaskClient, headers: dict[str, str], **body: object):
    return client.post(f"{BRANCH}/tickets", json={"service": "id-card", **body}, headers=headers)


@pytest.fixture
def early_branch(make_branch):
    branch = make_branch()
    branch.early_tickets_minutes = 90  # from 06:30
    db.session.commit()
    return branch


def test_early_ticket_is_issued_in_the_window_for_today(client, early_branch, make_token, clock):
    clock.set(TUESDAY_0700)
    response = _take(client, make_token("kiosk"))
    assert response.status_code == 201, response.json
    assert response.json["number"] == "A-001"
    assert response.json["status"] == "waiting"
    # Numbers run on through the day: the first ticket after the opening is the second.
    clock.set(datetime(2026, 11, 24, 6, 5, tzinfo=UTC))  # 08:05
    assert _take(client, make_token("kiosk")).json["number"] == "A-002"
    service = client.get(BRANCH).json["services"][0]
    assert service["state"] == "open"


def test_the_window_opens_exactly_that_many_minutes_before(client, early_branch, make_token, clock):
    kiosk = make_token("kiosk")
    clock.set(TUESDAY_0630)
    clock.advance(seconds=-1)
    refused = _take(client, kiosk)
    assert refused.status_code == 409
    assert refused.json["error"] == "service_closed"
    assert set(refused.json) == {"error", "message", "fields"}
    assert refused.json["fields"]["next_opening"].startswith("2026-11-24T08:00:00+02:00")
    clock.advance(seconds=1)
    assert _take(client, kiosk).status_code == 201


def test_off_by_default(client, make_branch, make_token, clock):
    make_branch()
    clock.set(TUESDAY_0700)
    response = _take(client, make_token("kiosk"))
    assert response.status_code == 409
    assert response.json["error"] == "service_closed"


@pytest.mark.parametrize("day", ["holiday", "friday"])
def test_no_early_tickets_on_a_closed_day(client, early_branch, make_token, clock, day):
    if day == "holiday":
        early_branch.holidays.append(Holiday(day=date(2026, 11, 24)))
        db.session.commit()
        clock.set(TUESDAY_0700)
    else:
        clock.set(FRIDAY_0700)
    response = _take(client, make_token("kiosk"))
    assert response.status_code == 409
    assert response.json["error"] == "service_closed"


def test_a_paused_service_is_still_paused_before_the_opening(
    client, make_backend, make_branch, make_token, clock
):
    backend = make_backend()
    branch = make_branch(backends=[backend])
    branch.early_tickets_minutes = 90
    clock.set(TUESDAY_0700)
    client.post(f"/api/v1/backends/{backend.code}/outages", json={}, headers=make_token("manager"))
    response = _take(client, make_token("kiosk"))
    assert response.status_code == 409
    assert response.json["error"] == "service_paused"


def test_the_wait_counts_from_the_opening(client, early_branch, make_token, clock):
    kiosk = make_token("kiosk")
    clock.set(TUESDAY_0630)
    for _ in range(10):
        assert _take(client, kiosk).status_code == 201
    clock.set(TUESDAY_0700)
    eleventh = _take(client, kiosk)
    # An hour to the opening, then ten citizens of six minutes at the one counter.
    assert eleventh.json["position"] == 11
    assert eleventh.json["eta_minutes"] == 60 + 10 * 6
    first = client.get(BRANCH).json["services"][0]
    assert first["state"] == "closed"
    assert first["takes_walk_ins"] is True
    assert first["eta_minutes"] == 60 + 11 * 6  # a newcomer, behind the eleven
