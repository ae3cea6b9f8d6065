"""Helpers for page tests: take tickets through the public API, read the page's script blob."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import flask_babel
import pytest
from flask import Flask, g
from flask.testing import FlaskClient

BLOB = re.compile(r'<script id="page-data" type="application/json">(.*?)</script>', re.S)


def page_blob(html: str) -> dict[str, Any]:
    """The JSON the template hands to the page's script."""
    match = BLOB.search(html)
    assert match, "no page-data blob"
    return json.loads(match.group(1))


def _fresh_csrf_token() -> None:
    g.pop("csrf_token", None)  # returns None: a before_request that returns a value answers


@pytest.fixture(autouse=True)
def _locale_per_request(request: pytest.FixtureRequest) -> None:
    """Choose the language afresh for every request, as production does.

    Flask-Babel caches the locale on ``g``; a real request gets a fresh app context and so a
    fresh ``g``, but the ``app`` fixture keeps one app context open for the whole test, which
    every test-client request then reuses. Tests without an app need nothing.
    """
    if "app" in request.fixturenames:
        app: Flask = request.getfixturevalue("app")
        app.before_request(flask_babel.refresh)
        # Flask-WTF keeps the request's CSRF token on ``g`` too: fresh per request, as in
        # production, or a second test client would be handed the first one's.
        app.before_request(_fresh_csrf_token)


@pytest.fixture
def take_ticket(
    client: FlaskClient, make_token: Callable[..., dict[str, str]]
) -> Callable[..., dict[str, Any]]:
    """Take a walk-in ticket at cairo-civil (the branch must exist) and return its JSON."""

    def take(service: str = "id-card", **body: Any) -> dict[str, Any]:
        response = client.post(
            "/api/v1/branches/cairo-civil/tickets",
            json={"service": service, **body},
            headers=make_token("kiosk"),
        )
        assert response.status_code == 201, response.json
        return response.json

    return take
