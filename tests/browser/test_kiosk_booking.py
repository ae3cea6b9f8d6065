"""The kiosk in a real Chromium, for a service paused because the system it needs is down: no
walk-in ticket, but its earliest free time, booked with a mobile number typed on the keypad or
without one, and the booked ticket on the screen with its QR code and its time; without a
number, the screen says nobody will text and the slip with the time is printed at once."""

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
from tests.helpers.qr_reading import decode

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
    assert not browser.find("#phone-skip").is_displayed()  # the ticket's way on, not a booking's
    browser.tap("book-submit")  # an empty number: type one, or choose to book without
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
    assert not browser.find("#no-phone-notice").is_displayed()  # the text message will come
    assert browser.driver.find_elements("css selector", "#print-frame") == []  # on request
    assert browser.qr_code() == f"{office.base_url}/t/{ticket.token}"
    # No walk-in ticket was ever asked for.
    posts = [line for line in office.server.log if line.startswith("POST ")]
    assert posts == [f"POST /api/v1/branches/{office.branch}/appointments 201"], office.why()


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_a_citizen_without_a_phone_books_and_gets_the_slip_with_the_time(
    browser: Browser, office: Office, open_kiosk: Any
) -> None:
    office.set_backend("traffic-licensing", BackendState.DOWN)
    office.set_capacity("licence", 2)
    open_kiosk()
    words = browser.page_data()["strings"]
    offered = datetime.fromisoformat(
        browser.visible("service-licence").get_attribute("data-next-slot") or ""
    )
    browser.tap("service-licence")
    browser.wait_screen("phone")
    booking_time = browser.visible("book-time").text

    # The booking is made, but its answer is lost on the way back: the kiosk asks again with
    # the same Idempotency-Key and gets the same booking, not a second one.
    browser.expected_console.append("ERR_EMPTY_RESPONSE")  # Chromium logs the cut answer
    office.server.lose_answer(
        lambda environ: (
            environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/appointments")
        )
    )
    browser.tap("book-no-phone")
    browser.wait_screen("ticket", timeout=15)

    [ticket] = office.tickets()
    assert ticket.kind == TicketKind.APPOINTMENT
    assert ticket.status == TicketStatus.SCHEDULED
    assert ticket.slot_start == offered
    assert ticket.phone is None
    posts = [line for line in office.server.log if line.startswith("POST ")]
    assert "answer lost" in posts[0], office.why()
    assert posts[-1] == f"POST /api/v1/branches/{office.branch}/appointments 201", office.why()

    # The screen: the number, the time, and plainly that nobody will text.
    assert browser.visible("ticket-number").text == ticket.number
    assert booking_time in browser.find("#ticket-issued").text
    assert browser.visible("no-phone-notice").text == words["no_phone_notice"]
    assert "لن يراسلك أحد" in words["no_phone_notice"]  # the kiosk speaks Arabic first
    assert browser.qr_code() == f"{office.base_url}/t/{ticket.token}"

    # And the slip is printed without a tap: paper is this citizen's only record.
    harness.wait_for(
        lambda: browser.visible("print-message").text == words["printing"],
        message="the printing message",
    )
    frame = harness.wait_for(lambda: browser.find("#print-frame"), message="the print frame")
    assert frame.get_attribute("src").endswith(f"/tickets/{ticket.token}/print")
    assert not browser.visible("print").is_enabled()  # no second slip by a second tap

    # What the printer gets: the number, the time (Arabic first, then English), the warning,
    # and the QR code of the ticket's page.
    browser.get(f"{office.kiosk_url}/tickets/{ticket.token}/print")
    assert browser.direction() == ("ar", "rtl", "rtl")
    shown = browser.text()
    assert ticket.number in shown
    assert shown.index("موعدك") < shown.index("Your time")
    assert shown.index("لن تصلك أي رسالة نصية") < shown.index("No text message will come")
    assert decode(harness.screenshot(browser.driver)) == [f"{office.base_url}/t/{ticket.token}"]
