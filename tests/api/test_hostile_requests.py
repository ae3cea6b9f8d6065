"""Requests without a token that once made the server answer 500 (issue 16), and the shape of
the server's own errors under /api/v1: each answers a clear 4xx and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from queue_app.db import Base
from queue_app.web.extensions import db

TICKETS = "/api/v1/branches/cairo-civil/tickets"
SLOTS = "/api/v1/branches/cairo-civil/services/id-card/slots"


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.json
    assert set(body) == {"error", "message", "fields"}
    assert body["message"]
    return body


@pytest.fixture
def kiosk(make_branch, make_token) -> dict[str, str]:
    make_branch()
    return make_token("kiosk")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"service": "\\ud800"}',
        b'{"service": "id-card", "phone": "\\udfff"}',
        b'{"service": "id-card", "locale": "ar\\ud83d"}',
        b'{"service": "id-card\\u0000"}',
    ],
    ids=["lone-high-surrogate", "lone-low-surrogate-in-phone", "cut-pair", "nul"],
)
def test_strings_that_cannot_be_stored_are_refused(client, kiosk, raw):
    before = _row_counts()
    response = client.post(TICKETS, data=raw, headers={**kiosk, "Content-Type": "application/json"})
    assert _error(response, 400)["error"] == "bad_request"
    assert _row_counts() == before


@pytest.mark.parametrize("day", ["9999-12-31", "9999-12-01", "0001-01-01", "1970-01-01"])
def test_slots_at_the_ends_of_the_calendar_are_an_empty_list(client, make_branch, day):
    make_branch()
    response = client.get(f"{SLOTS}?from={day}&days=31")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == []


def test_slots_within_the_horizon_are_still_listed(client, make_branch):
    make_branch()
    assert client.get(f"{SLOTS}?days=7").json


@pytest.mark.parametrize(
    ("token", "status"),
    [("abc%00def", 400), ("%00", 400), ("a%C0%80b", 404), ("%EF%BF%BF", 404), ("x" * 2000, 404)],
    ids=["nul", "only-nul", "overlong-utf8", "noncharacter", "long"],
)
def test_odd_ticket_tokens_are_refused_or_not_found(client, make_branch, token, status):
    make_branch()
    before = _row_counts()
    _error(client.get(f"/api/v1/tickets/{token}"), status)
    _error(client.post(f"/api/v1/tickets/{token}/cancel"), status)
    page = client.get(f"/t/{token}")
    assert page.status_code == status
    assert page.mimetype == "text/html"
    assert _row_counts() == before


def test_nul_in_a_form_is_refused_before_the_page_reads_it(client, make_branch):
    make_branch()
    before = _row_counts()
    form = {"service": "id-card", "phone": "01001234567"}
    assert client.post("/book/cairo-civil", data=form).status_code != 400
    before = _row_counts()
    response = client.post("/book/cairo-civil", data={**form, "phone": "0100\x001234567"})
    assert response.status_code == 400
    assert _row_counts() == before


def test_method_not_allowed_says_which_are(client, kiosk):
    response = client.delete(TICKETS, headers=kiosk)
    assert _error(response, 405)["error"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
    page = client.put("/")
    assert page.status_code == 405
    assert "GET" in page.headers["Allow"]


def test_a_too_long_address_is_refused_in_the_api_shape(client, make_branch):
    make_branch()
    response = client.get("/api/v1/tickets/" + "a" * 20000)
    assert _error(response, 414)["error"] == "uri_too_long"
