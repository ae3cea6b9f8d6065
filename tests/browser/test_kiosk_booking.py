"""The kiosk in a real Chromium, for a service paused because the system it needs is down: no
walk-in ticket, but its earliest free time, booked with a mobile number typed on the keypad,
and the booked ticket on the screen with its QR code and its time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from queue_app.models import BackendState, TicketKind, TicketStatus
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.browser.test_kiosk_flow import type_on_keypad
from tests.conftest import DATABASES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_a_paused_service_books_its_earliest_free_time(
    browser: Browser, office: Office, open_kiosk: Any
) -> None:
    # As a manager's outage declaration does: the service's system goes down.
    office.set_backend("traffic-licensing", BackendState.DOWN)
    office.set_capacity("licence", 2)  # appointments to offer instead of tickets
    open_kiosk()
    words = browser.page_data()["strings"]

    tile = browser.visible("service-licence")
    assert tile.get_attribute("data-mode") == "book"
    assert tile.get_attribute("disabled") is None
    offered = datetime.fromisoformat(tile.get_attribute("data-next-slot") or "")
    assert offered > office.clock.now()
    said = tile.text
    assert words["state"]["paused"] in said
    assert "منظومة تراخيص المرور" in said  # which system is down
    assert "أقرب موعد متاح:" in said  # and the time offered instead, with its day
    assert words["book_it"] in said

    browser.tap("service-licence")
    browser.wait_screen("phone")
    booking_time = browser.visible("book-time").text
    assert booking_time  # the day and time being booked, in sight while typing
    assert not browser.find("#phone-skip").is_displayed()  # a booking needs a number
    browser.tap("book-submit")
    harness.wait_for(
        lambda: browser.visible("phone-message").text == words["book_needs_phone"],
        message="the number asked for",
    )
    assert office.tickets() == []

    type_on_keypad(browser, "01012345678")
    browser.tap("book-submit")
    browser.wait_screen("ticket")

    [ticket] = office.tickets()
    assert ticket.kind == TicketKind.APPOINTMENT
    assert ticket.status == TicketStatus.SCHEDULED
    assert ticket.slot_start == offered
    assert ticket.phone == "+201012345678"
    assert ticket.locale == "ar"
    assert browser.visible("ticket-number").text == ticket.number == "C-001"
    assert browser.find("#ticket-heading").text == words["your_appointment"]
    # The time, as on the booking screen: weekday, day and month, then the slot's end.
    assert booking_time in browser.find("#ticket-issued").text
    assert not browser.find("#ticket-ahead-row").is_displayed()  # not in the line yet
    assert browser.qr_code() == f"{office.base_url}/t/{ticket.token}"
    # No walk-in ticket was ever asked for.
    posts = [line for line in office.server.log if line.startswith("POST ")]
    assert posts == [f"POST /api/v1/branches/{office.branch}/appointments 201"], office.why()
