"""The kiosk touch screen when things go wrong: a paused service, a server that goes away for a
few seconds, an answer lost on its way back. The citizen always reads a plain message, never a
blank screen or a stack trace, and never gets two tickets for one request."""

from __future__ import annotations

import time
from typing import Any

import pytest

from queue_app.models import BackendState
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser

pytestmark = pytest.mark.slow

# What must never reach a citizen's screen.
TECHNICAL = ("Traceback", "Exception", "Error:", "undefined", "NaN", "null", "[object", "500")
# Chromium logs each refused or cut request in the console; here that is the point.
NETWORK_ERRORS = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE")


def plain(text: str) -> str:
    assert text.strip(), "a blank screen"
    for word in TECHNICAL:
        assert word not in text, f"{word!r} shown to a citizen: {text!r}"
    return text


def ticket_posts(office: Office) -> list[str]:
    return [line for line in office.server.log if line.startswith("POST ") and "/tickets" in line]


def up_to_get_ticket(browser: Browser, service: str = "id-card") -> None:
    browser.tap(f"service-{service}")
    browser.wait_screen("phone")
    browser.tap("phone-skip")
    browser.wait_screen("priority")


def test_paused_service_says_so_and_gives_no_ticket(
    browser: Browser, office: Office, open_kiosk: Any
) -> None:
    office.set_backend("traffic-licensing", BackendState.DOWN)
    office.set_capacity("licence", 2)  # appointments to offer instead of tickets
    open_kiosk()
    words = browser.page_data()["strings"]

    tile = browser.visible("service-licence")
    # No walk-in ticket: the tile offers the earliest free time to book instead
    # (tests/browser/test_kiosk_booking.py books it).
    assert tile.get_attribute("data-mode") == "book"
    assert "state-paused" in (tile.get_attribute("class") or "")
    said = tile.text
    assert words["state"]["paused"] in said
    assert "منظومة تراخيص المرور" in said  # which system is down
    assert words["notices"]["paused_book"] in said  # and what to do
    # The other service goes on.
    assert browser.visible("service-id-card").get_attribute("data-mode") == "ticket"

    # A system goes down while a citizen is half-way: the server refuses, the kiosk explains.
    browser.expected_console.append("status of 409")
    up_to_get_ticket(browser, "id-card")
    office.set_backend("civil-registry", BackendState.DOWN)
    browser.tap("priority-no")
    harness.wait_for(
        lambda: browser.visible("working-message").text == words["paused_now"],
        message="the paused message",
    )
    detail = browser.visible("working-detail").text
    assert "منظومة الأحوال المدنية" in detail
    plain(browser.text())
    assert not browser.find("#try-again").is_displayed()  # trying again would not help
    assert office.tickets() == []
    browser.tap("restart")
    browser.wait_screen("services")
    tile = browser.visible("service-id-card")
    harness.wait_for(lambda: "state-paused" in (tile.get_attribute("class") or ""))
    assert tile.get_attribute("data-mode") == "book"  # a time to book, no ticket


def test_server_briefly_unreachable_then_one_ticket(
    browser: Browser, office: Office, open_kiosk: Any
) -> None:
    open_kiosk()
    words = browser.page_data()["strings"]
    browser.expected_console.extend(NETWORK_ERRORS)
    up_to_get_ticket(browser)

    office.server.stop()
    browser.tap("priority-no")
    harness.wait_for(
        lambda: browser.visible("working-message").text == words["retrying"],
        message="the retrying message",
    )
    plain(browser.text())
    time.sleep(1.5)  # at least one more attempt meets the closed port
    assert browser.screen() == "working"
    assert office.tickets() == []
    office.server.start()  # the same port: the restarted server

    browser.wait_screen("ticket", timeout=15)
    [ticket] = office.tickets()
    assert browser.visible("ticket-number").text == ticket.number == "A-001"
    assert browser.qr_code() == f"{office.base_url}/t/{ticket.token}"
    assert len(ticket_posts(office)) == 1, office.why()  # refused ones never reached it


def test_server_down_too_long_then_try_again(
    browser: Browser, office: Office, open_kiosk: Any
) -> None:
    open_kiosk()
    words = browser.page_data()["strings"]
    browser.expected_console.extend(NETWORK_ERRORS)
    up_to_get_ticket(browser)

    with office.server.down():
        browser.tap("priority-no")
        # Four attempts, 1 + 2 + 4 s apart, then the kiosk says it could not.
        harness.wait_for(
            lambda: browser.visible("working-message").text == words["gave_up"],
            timeout=15,
            message="the gave-up message",
        )
        plain(browser.text())
        assert browser.visible("try-again")
        assert office.tickets() == []

    browser.tap("try-again")
    browser.wait_screen("ticket")
    assert [t.number for t in office.tickets()] == ["A-001"]


def test_answer_lost_on_the_way_back_makes_one_ticket(
    browser: Browser, office: Office, open_kiosk: Any
) -> None:
    open_kiosk()
    browser.expected_console.extend(NETWORK_ERRORS)
    up_to_get_ticket(browser)

    # The server issues the ticket, commits, and the connection drops before the answer leaves.
    office.server.lose_answer(
        lambda environ: (
            environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/tickets")
        )
    )
    browser.tap("priority-no")
    browser.wait_screen("ticket", timeout=15)

    posts = ticket_posts(office)
    assert "answer lost" in posts[0], office.why()
    assert len(posts) >= 2, office.why()  # and it came again
    # The retry carried the same Idempotency-Key: the first ticket, not a second one.
    [ticket] = office.tickets()
    assert browser.visible("ticket-number").text == ticket.number == "A-001"
    assert browser.qr_code() == f"{office.base_url}/t/{ticket.token}"
