"""The ticket page in Chromium sends back the ETag of its last answer: the server answers 304
while nothing changed, the page keeps showing what it had, and a call at the counter still
reaches the page at its next poll."""

from __future__ import annotations

import pytest

from queue_app.pages import ticket_page
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser

pytestmark = pytest.mark.slow


def _status(browser: Browser) -> str:
    return browser.find("#status").get_attribute("class") or ""


def test_unchanged_polls_are_304_and_a_call_still_shows(
    browser: Browser, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ticket_page, "POLL_SECONDS", 1)  # the page reads it when served
    client = office.app.test_client()
    kiosk = {"Authorization": f"Bearer {office.kiosk_token()}"}
    taken = client.post(
        f"/api/v1/branches/{office.branch}/tickets", json={"service": "id-card"}, headers=kiosk
    )
    assert taken.status_code == 201, taken.json
    token = taken.json["token"]
    poll = f"GET /api/v1/tickets/{token}"

    browser.get(f"{office.base_url}/t/{token}?lang=en")
    harness.wait_for(
        lambda: office.server.log.count(f"{poll} 304") >= 2,
        message=f"two polls answered 304; {office.why()}",
    )
    assert "status-waiting" in _status(browser)
    assert not browser.find("#updated").get_attribute("class").count("stale")

    with office.app.app_context():
        from queue_app import access
        from queue_app.web.extensions import db

        staff = access.create_token(db.session, office.clock, "staff", office.branch)
        db.session.remove()
    called = client.post(
        f"/api/v1/branches/{office.branch}/counters/1/call-next",
        headers={"Authorization": f"Bearer {staff}"},
    )
    assert called.json["token"] == token
    full_answers = office.server.log.count(f"{poll} 200")
    harness.wait_for(
        lambda: "status-called" in _status(browser),
        message=f"the call shown; {office.why()}",
    )
    assert office.server.log.count(f"{poll} 200") > full_answers
    assert browser.console_errors() == []
