"""A token given an expiry answers 401 from then on, in the API's error shape, saying that it
expired; an expiry that is not ahead is refused when the token is made."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queue_app import access
from queue_app.errors import InvalidInput
from queue_app.web.extensions import db


def _take_ticket(client, raw: str):
    return client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card"},
        headers={"Authorization": f"Bearer {raw}"},
    )


def test_an_expired_token_gets_401_saying_it_expired(make_branch, client, clock):
    make_branch()
    raw = access.create_token(
        db.session, clock, "kiosk", "cairo-civil", expires_at=clock.now() + timedelta(hours=1)
    )
    assert _take_ticket(client, raw).status_code == 201
    clock.advance(hours=1)

    response = _take_ticket(client, raw)

    assert response.status_code == 401
    body = response.json
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == "unauthorized"
    assert "expired" in body["message"]
    assert body["fields"]["token"] == ["expired"]
    assert body["fields"]["expired_at"] == "2026-11-24T09:00:00+00:00"


def test_an_expiry_in_the_past_is_refused_by_the_service(make_branch, clock):
    make_branch()
    with pytest.raises(InvalidInput, match="not in the future"):
        access.create_token(db.session, clock, "kiosk", "cairo-civil", expires_at=clock.now())
