"""The waiting-room board in a real Chromium: an outage moves paper tickets (no mobile number),
and the board lists their new times, the latest first, keeping the list fresh by itself."""

from __future__ import annotations

import pytest

from queue_app import outage_moves, outages
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser

pytestmark = pytest.mark.slow


def take_paper_ticket(office: Office, service: str, kiosk: dict[str, str]) -> str:
    """A walk-in ticket taken without a number, as at the kiosk; its number."""
    response = office.app.test_client().post(
        f"/api/v1/branches/{office.branch}/tickets", json={"service": service}, headers=kiosk
    )
    assert response.status_code == 201, response.json
    return str(response.json["number"])


def outage_moves_the_line(office: Office, backend: str) -> None:
    """A manager declares the system down until past closing: its line moves at once."""
    with office.app.app_context():
        outages.declare(db.session, office.clock, backend, expected_minutes=48 * 60)
        assert outage_moves.run_timers(db.session, office.clock).moved >= 1
        db.session.remove()


def shown_numbers(browser: Browser) -> list[str]:
    rows = browser.driver.find_elements("css selector", "#moved-rows tr")
    return [row.get_attribute("data-moved") for row in rows]


def test_the_board_lists_paper_tickets_moved_today_with_their_new_time(
    browser: Browser, office: Office
) -> None:
    kiosk = {"Authorization": f"Bearer {office.kiosk_token()}"}
    first = take_paper_ticket(office, "id-card", kiosk)
    second = take_paper_ticket(office, "licence", kiosk)
    outage_moves_the_line(office, "civil-registry")

    browser.get(f"{office.base_url}/display/{office.branch}")
    section = browser.find("#moved")
    assert section.is_displayed()
    assert shown_numbers(browser) == [first]
    text = section.text
    assert text.index("مواعيد جديدة للتذاكر التي نُقلت اليوم") < text.index(
        "New times for tickets moved today"
    )
    assert "بطاقة الرقم القومي" in text
    assert "National ID card" in text

    # A second outage, a minute later, moves the other line: the board picks it up by itself
    # (asked at once here, rather than after its 30 seconds).
    office.clock.advance(minutes=1)
    outage_moves_the_line(office, "traffic-licensing")
    browser.driver.execute_script("document.dispatchEvent(new Event('visibilitychange'))")
    harness.wait_for(
        lambda: shown_numbers(browser) == [second, first], message="the new move, listed first"
    )
    row = browser.find(f'#moved-rows tr[data-moved="{second}"]')
    assert "رخصة القيادة" in row.text
    assert "Driving licence" in row.text
    assert row.find_element("css selector", "th").get_attribute("scope") == "row"


def test_the_board_shows_no_list_when_nobody_was_moved(browser: Browser, office: Office) -> None:
    browser.get(f"{office.base_url}/display/{office.branch}")
    assert not browser.find("#moved").is_displayed()
    browser.driver.execute_script("document.dispatchEvent(new Event('visibilitychange'))")
    harness.wait_for(
        lambda: any("/moved 200" in line for line in office.server.log if line.startswith("GET ")),
        message="the board asks for the list",
    )
    assert not browser.find("#moved").is_displayed()
