"""The booking page on a phone-sized Chromium: a citizen taps through service, day and time,
types a mobile number, books, and follows the confirmation to the ticket's page, where they take
another time and confirm it, each answer shown in place."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from queue_app.models import TicketEvent, TicketStatus
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.conftest import DATABASES

pytestmark = pytest.mark.slow

PHONE = (412, 915)  # CSS pixels of a common Android phone
# A finger's width: what the page's targets must at least be (WCAG 2.5.5 asks 44 CSS px).
FINGER_PX = 44


def as_phone(browser: Browser) -> None:
    width, height = PHONE
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
    )


def step(browser: Browser) -> str:
    # One script call: the page swaps #booking in place, so an element found first may be gone
    # (stale) by the time its attribute is asked for.
    return browser.driver.execute_script(
        "const b = document.getElementById('booking'); return b ? b.dataset.step || '' : '';"
    )


def wait_step(browser: Browser, name: str) -> None:
    harness.wait_for(
        lambda: step(browser) == name,
        message=f"the {name!r} step (on {step(browser)!r}: {browser.text()[:300]!r})",
    )


def fits_the_phone(browser: Browser) -> None:
    """Nothing wider than the screen, and everything to tap big enough for a thumb."""
    width = browser.driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the page is {width} px wide on a {PHONE[0]} px phone"
    heights = browser.driver.execute_script(
        "return [...document.querySelectorAll('a.choice, a.button, button, main a, .lang-switch')]"
        ".filter((e) => e.offsetParent).map((e) => e.getBoundingClientRect().height)"
    )
    assert heights
    assert min(heights) >= FINGER_PX, heights


def tap_first_choice(browser: Browser) -> str:
    choice = browser.visible("choice")
    text = choice.text
    choice.click()
    return text


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_book_on_a_phone_then_take_another_time_and_confirm(
    browser: Browser, office: Office
) -> None:
    as_phone(browser)
    browser.get(f"{office.base_url}/book/{office.branch}")
    wait_step(browser, "service")
    assert browser.direction() == ("ar", "rtl", "rtl")
    assert "حجز موعد" in browser.text()
    fits_the_phone(browser)

    assert "بطاقة الرقم القومي" in tap_first_choice(browser)
    wait_step(browser, "day")
    fits_the_phone(browser)
    assert "اليوم" in tap_first_choice(browser)  # today, tagged so
    wait_step(browser, "time")
    fits_the_phone(browser)
    chosen = tap_first_choice(browser)
    wait_step(browser, "phone")
    fits_the_phone(browser)
    shown_time = browser.visible("chosen-time").text
    assert chosen.splitlines()[0] in shown_time  # the time tapped is the one to book

    field = browser.visible("phone")
    field.send_keys("0101234567")  # one digit short
    browser.tap("book-submit")
    harness.wait_for(lambda: browser.visible("book-error").text, message="the phone message")
    assert "هذا ليس رقم هاتف محمول في مصر" in browser.visible("book-error").text
    assert office.tickets() == []
    browser.expected_console.append("status of 422")  # the refused form, as Chromium logs it

    field = browser.visible("phone")
    field.send_keys("8")
    browser.tap("book-submit")
    harness.wait_for(lambda: "/booked/" in browser.driver.current_url, message="the confirmation")
    wait_step(browser, "booked")
    fits_the_phone(browser)

    [ticket] = office.tickets()
    assert ticket.status == TicketStatus.SCHEDULED
    assert ticket.phone == "+201012345678"
    assert ticket.locale == "ar"
    assert browser.visible("ticket-number").text == ticket.number == "A-001"
    booked_time = browser.visible("booked-time").text
    assert booked_time == shown_time  # weekday, day, month, from and to
    assert "تم حجز موعدك" in browser.text()

    # The confirmation's link: the ticket's own page, which offers the citizen's choices.
    browser.tap("ticket-link")
    harness.wait_for(lambda: browser.driver.current_url.endswith(f"/t/{ticket.token}"))
    words: dict[str, Any] = browser.page_data()["strings"]
    choices = browser.visible("choices")
    assert "هل ستحضر في هذا الموعد؟" in choices.text
    assert browser.find("#slot").text == booked_time

    browser.tap("next-slot")
    harness.wait_for(
        lambda: browser.visible("choice-result").text.startswith("موعدك الجديد:"),
        message="the new time",
    )
    [moved] = office.tickets()
    assert moved.slot_start is not None
    assert ticket.slot_start is not None
    assert moved.slot_start > ticket.slot_start
    new_time = browser.find("#slot").text
    assert new_time != booked_time
    assert new_time in browser.visible("choice-result").text

    browser.tap("confirm")
    harness.wait_for(
        lambda: browser.visible("choice-result").text == words["confirm_thanks"],
        message="the thanks",
    )
    assert browser.find("#time-confirmed").is_displayed()
    assert not browser.find("#confirm").is_displayed()
    assert words["events"]["confirmed"] in browser.find("#history").text
    with office.app.app_context():
        events = list(db.session.scalars(select(TicketEvent.event).order_by(TicketEvent.id)))
        db.session.remove()
    assert events == ["booked", "moved", "confirmed"]
