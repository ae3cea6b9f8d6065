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
    # Another window of the same system, or the same one after withdrawal, is fine.
    other = client.post(
        WINDOWS, json={"start": START, "end": "2026-11-25T13:00:00+02:00"}, headers=manager
    )
    assert other.status_code == 201
    assert client.delete(f"{WINDOWS}/{first.json['id']}", headers=manager).status_code == 200
    anew = client.post(WINDOWS, json={"start": START, "end": END}, headers=manager)
    assert anew.status_code == 201, anew.json


# --- withdrawal ---------------------------------------------------------------------------


def test_withdraw_a_window_not_yet_started(client, manager, clock):
    made = client.post(WINDOWS, json={"start": START, "end": END}, headers=manager).json
    response = client.delete(f"{WINDOWS}/{made['id']}", headers=manager)
    assert response.status_code == 200, response.json
    assert response.json["withdrawn_at"] == "2026-11-24T08:00:00+00:00"
    assert response.json["end"] == "2026-11-25T10:00:00+00:00"  # as announced, for the record
    assert "Planned maintenance" not in client.get("/kiosk/cairo-civil?lang=en").text
    assert 'data-test="window"' not in client.get("/status?lang=en").text
    # Twice: nothing left to withdraw.
    _assert_error(client.delete(f"{WINDOWS}/{made['id']}", headers=manager), 409, "state_conflict")


def test_withdrawing_a_running_window_ends_it_now(client, manager, clock):
    made = client.post(
        WINDOWS,
        json={"start": "2026-11-24T09:00:00+02:00", "end": "2026-11-24T14:00:00+02:00"},
        headers=manager,
    ).json
    assert 'data-test="window"' in client.get("/status?lang=en").text
    response = client.delete(f"{WINDOWS}/{made['id']}", headers=manager)
    assert response.status_code == 200, response.json
    assert response.json["end"] == "2026-11-24T08:00:00+00:00"
    assert response.json["withdrawn_at"] is None
    assert 'data-test="window"' not in client.get("/status?lang=en").text
    slots = client.get(
        "/api/v1/branches/cairo-civil/services/id-card/slots",
        query_string={"from": "2026-11-24", "days": 1},
    ).json
    assert any(s["start"] == "2026-11-24T09:00:00+00:00" for s in slots)


def test_moved_appointments_stay_moved(client, manager):
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": "2026-11-25T09:00:00+02:00", "phone": "01012345678"},
    ).json
    made = client.post(WINDOWS, json={"start": START, "end": END}, headers=manager).json
    assert made["tickets_moved"] == 1
    moved_to = client.get(f"/api/v1/tickets/{booked['token']}").json["slot"]
    assert client.delete(f"{WINDOWS}/{made['id']}", headers=manager).status_code == 200
    assert client.get(f"/api/v1/tickets/{booked['token']}").json["slot"] == moved_to


@pytest.mark.parametrize(
    ("path", "token", "status", "code"),
    [
        (f"{WINDOWS}/999999", "manager", 404, "not_found"),
        # Beyond any row's id: once a 500 on SQLite (fuzzing, issue 16).
        (f"{WINDOWS}/99999999999999999999", "manager", 404, "not_found"),
        (f"{WINDOWS}/2147483648", "manager", 404, "not_found"),
        ("/api/v1/backends/nothing/maintenance/1", "manager", 404, "not_found"),
        (f"{WINDOWS}/1", None, 401, "unauthorized"),
        (f"{WINDOWS}/1", "staff", 403, "forbidden"),
        (f"{WINDOWS}/1", "kiosk", 403, "forbidden"),
    ],
)
def test_bad_withdrawals(client, manager, make_token, path, token, status, code):
    headers = make_token(token) if token else {}
    _assert_error(client.delete(path, headers=headers), status, code)


def test_a_window_of_another_system_is_not_found_here(client, manager, make_backend, make_token):
    make_backend("traffic", name_en="Traffic licensing system")
    made = client.post(
        "/api/v1/backends/traffic/maintenance",
        json={"start": START, "end": END},
        headers=make_token("admin"),
    ).json
    _assert_error(client.delete(f"{WINDOWS}/{made['id']}", headers=manager), 404, "not_found")
    assert _windows() == 1


@pytest.fixture
def giza_only(manager, make_backend, make_branch) -> str:
    """A system only Giza's services need (the Cairo manager's branch does not)."""
    make_branch("giza-civil", backends=[make_backend("giza-land", name_en="Giza land registry")])
    return "/api/v1/backends/giza-land/maintenance"


def test_a_manager_cannot_announce_for_a_system_their_branch_does_not_need(
    client, manager, giza_only
):
    body = _assert_error(
        client.post(giza_only, json={"start": START, "end": END}, headers=manager),
        403,
        "forbidden",
    )
    assert body["fields"] == {"backend": "giza-land"}
    assert _windows() == 0


def test_a_manager_cannot_withdraw_another_branch_s_window_an_admin_can(
    client, manager, giza_only, make_token
):
    giza_manager = make_token("manager", "giza-civil")
    made = client.post(giza_only, json={"start": START, "end": END}, headers=giza_manager)
    assert made.status_code == 201, made.text
    window_id = made.json["id"]
    _assert_error(client.delete(f"{giza_only}/{window_id}", headers=manager), 403, "forbidden")
    assert db.session.get(Maintenance, window_id).cancelled_at is None
    withdrawn = client.delete(f"{giza_only}/{window_id}", headers=make_token("admin"))
    assert withdrawn.status_code == 200
    assert withdrawn.json["withdrawn_at"] is not None
