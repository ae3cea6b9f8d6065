"""Maintenance windows already in the database with dates the API now refuses (stored before the
checks, or written by hand) must not break the public pages: each page still answers 200."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from queue_app.models import Maintenance
from queue_app.web.extensions import db

FAR_AWAY = "http://203.0.113.7/health"
LAST_MINUTE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
FIRST_MINUTE = datetime(1, 1, 1, 0, 0, tzinfo=UTC)
PAGES = [
    "/status",
    "/status?lang=en",
    "/kiosk/cairo-civil",
    "/kiosk/cairo-civil?lang=en",
    "/display/cairo-civil",
    "/book/cairo-civil",
    "/book/cairo-civil?lang=en",
    "/",
    "/api/v1/branches",
    "/api/v1/branches/cairo-civil",
    "/api/v1/branches/cairo-civil/services/id-card/slots?from=2026-11-24&days=7",
]


@pytest.mark.parametrize(
    ("starts", "ends", "shown"),
    [
        (LAST_MINUTE - timedelta(hours=3), LAST_MINUTE, False),  # the year 9999, as reported
        (timedelta(hours=-1), LAST_MINUTE, True),  # running, "until 9999"
        (FIRST_MINUTE, timedelta(hours=1), True),  # since year 1
        (FIRST_MINUTE, LAST_MINUTE, True),
        (timedelta(days=1), timedelta(days=90), True),  # far longer than the 7 days allowed
    ],
)
def test_pages_render_with_a_stored_window_the_api_would_refuse(
    client, make_backend, make_branch, clock, starts, ends, shown
):
    backend = make_backend(health_url=FAR_AWAY)
    make_branch(backends=[backend])
    now = clock.now()
    db.session.add(
        Maintenance(
            backend_id=backend.id,
            starts_at=starts if isinstance(starts, datetime) else now + starts,
            ends_at=ends if isinstance(ends, datetime) else now + ends,
            note="written by hand",
            announced_at=now,
        )
    )
    db.session.commit()
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
    status = client.get("/status?lang=en").text
    assert ("written by hand" in status) is shown
    kiosk = client.get("/kiosk/cairo-civil?lang=en").text
    assert ('data-test="maintenance"' in kiosk) is shown
