"""Announcing and withdrawing maintenance through the API: input that would break the public pages
is refused with the JSON error shape and changes nothing; the same window twice is a conflict."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.models import Maintenance
from queue_app.web.extensions import db

# The fixture's clock: Tuesday 24 November 2026, 08:00 UTC (10:00 in Cairo).
WINDOWS = "/api/v1/backends/civil-registry/maintenance"
START = "2026-11-25T08:00:00+02:00"
END = "2026-11-25T12:00:00+02:00"


@pytest.fixture
def manager(make_backend, make_branch, make_token) -> dict[str, str]:
    make_branch(backends=[make_backend(health_url="http://203.0.113.7/health")])
    return make_token("manager")


def _windows() -> int:
    return db.session.scalar(select(func.count()).select_from(Maintenance))


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.json
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == code
    assert body["message"]
    return body


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        ("9999-12-31T20:00:00+02:00", "9999-12-31T23:00:00+02:00", "start", "year"),
        ("9999-12-31T20:00:00-05:00", "9999-12-31T23:00:00-05:00", "start", ""),
        ("0001-01-01T01:00:00+05:00", END, "start", ""),
        (START, "9999-12-31T23:59:59+00:00", "end", ""),
        ("2027-12-01T08:00:00+02:00", "2027-12-01T12:00:00+02:00", "start", "year"),
        (START, "2026-12-10T12:00:00+02:00", "end", "7 days"),
        (END, START, "end", ""),
        (START, START, "end", ""),
        ("2026-11-20T08:00:00+02:00", "2026-11-20T12:00:00+02:00", "end", "over"),
        ("2026-11-20T08:00:00+02:00", "2026-11-25T12:00:00+02:00", "start", "day"),
        ("2026-11-25T08:00:00", "2026-11-25T12:00:00", "start", ""),
        (START, "2026-11-25T12:00:00", "end", ""),
        ("2026-11-25", "2026-11-26", "start", ""),
        ("tomorrow", END, "start", ""),
        ("2026-13-01T08:00:00+02:00", END, "start", ""),
    ],
)
def test_windows_that_would_break_the_pages_are_refused(client, manager, start, end, field, words):
    response = client.post(WINDOWS, json={"start": start, "end": end, "note": "x"}, headers=manager)
    body = _assert_error(response, 422, "invalid_input")
    assert field in body["fields"], body
    assert words in body["message"]
    assert _windows() == 0


def test_a_window_running_since_this_morning_is_accepted(client, manager):
    response = client.post(
        WINDOWS,
        json={"start": "2026-11-24T07:00:00+02:00", "end": "2026-11-24T14:00:00+02:00"},
        headers=manager,
    )
    assert response.status_code == 201, response.json


def test_the_same_window_twice_is_a_conflict_naming_the_first(client, manager):
    first = client.post(WINDOWS, json={"start": START, "end": END, "note": "a"}, headers=manager)
    assert first.status_code == 201, first.json
    # The same instants written with another offset are the same window.
    again = client.post(
        WINDOWS,
        json={"start": "2026-11-25T06:00:00+00:00", "end": "2026-11-25T10:00:00Z", "note": "b"},
        headers=manager,
    )
    body = _assert_error(again, 409, "maintenance_already_announced")
    assert body["fields"]["id"] == first.json["id"]
    assert _windows() == 1
    # Another window of the same system is fine.
    other = client.post(
        WINDOWS, json={"start": START, "end": "2026-11-25T13:00:00+02:00"}, headers=manager
    )
    assert other.status_code == 201
