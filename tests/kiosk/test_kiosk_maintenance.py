"""The kiosk's start screen mentions an announced maintenance window of a system its services
need, until the window is over: which system, from when to when, in the branch's own time."""

from __future__ import annotations

from datetime import timedelta

import flask_babel
import pytest

from queue_app import maintenance
from queue_app.access import Principal
from queue_app.models import Role
from queue_app.web.extensions import db

PAGE = "/kiosk/cairo-civil"

ADMIN = Principal(Role.ADMIN, None, None)


@pytest.fixture(autouse=True)
def _locale_per_request(app):
    # As tests/pages/conftest.py does: one app context serves every request of a test.
    app.before_request(flask_babel.refresh)


def _announce(clock, code: str, note: str = "upgrade") -> None:
    now = clock.now()
    maintenance.announce(
        db.session,
        clock,
        ADMIN,
        code,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=2),
        note=note,
    )


def test_the_start_screen_names_the_window(client, make_branch, make_backend, clock):
    backend = make_backend(health_url="http://203.0.113.7/health")
    make_branch(backends=[backend])
    _announce(clock, backend.code)
    arabic = client.get(PAGE).text
    assert arabic.count('data-test="maintenance"') == 1
    assert (
        "صيانة مقررة في منظومة الأحوال المدنية: من الأربعاء ٢٥ نوفمبر الساعة ١٠:٠٠ ص إلى "
        "الأربعاء ٢٥ نوفمبر الساعة ١٢:٠٠ م."
    ) in arabic
    english = client.get(PAGE + "?lang=en").text
    assert (
        "Planned maintenance of Civil registry system: from Wednesday 25 November at "
        "10:00\u202fAM to Wednesday 25 November at 12:00\u202fPM."
    ) in english


def test_only_systems_the_branch_needs_and_only_until_the_end(
    client, make_branch, make_backend, clock
):
    needed = make_backend(health_url="http://203.0.113.7/health")
    make_backend("traffic", name_en="Traffic licensing system")
    make_branch(backends=[needed])
    _announce(clock, "traffic")
    assert 'data-test="maintenance"' not in client.get(PAGE).text
    _announce(clock, needed.code)
    assert client.get(PAGE).text.count('data-test="maintenance"') == 1
    clock.advance(days=1, hours=2)  # the window is over
    assert 'data-test="maintenance"' not in client.get(PAGE).text


def test_no_window_no_line(client, make_branch):
    make_branch()
    assert 'data-test="maintenance"' not in client.get(PAGE).text
