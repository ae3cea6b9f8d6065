"""Joining the line from a phone-sized Chromium: the citizen opens the poster's address, chooses
the service, types the number, types the code the outbox holds, and lands on the ticket's page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from queue_app.models import Branch, Message, TicketStatus
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.browser.test_booking_page import as_phone, fits_the_phone
from tests.browser.test_booking_page import wait_step as booking_step
from tests.conftest import DATABASES

pytestmark = pytest.mark.slow


def step(browser: Browser) -> str:
    found = browser.driver.find_elements("css selector", "#join")
    return (found[0].get_attribute("data-step") or "") if found else ""


def wait_step(browser: Browser, name: str) -> None:
    harness.wait_for(
        lambda: step(browser) == name,
        message=f"the {name!r} step (on {step(browser)!r}: {browser.text()[:300]!r})",
    )


def _joinable(office: Office) -> None:
    with office.app.app_context():
        branch = db.session.scalars(select(Branch).where(Branch.code == office.branch)).one()
        branch.join_from_phone = True
        db.session.commit()
        db.session.remove()


def _code(office: Office) -> str:
    with office.app.app_context():
        body = db.session.scalars(
            select(Message.body).where(Message.event.like("code:%")).order_by(Message.id.desc())
        ).first()
        db.session.remove()
    assert body is not None
    return re.search(r"\b(\d{6})\b", body).group(1)


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_take_a_ticket_from_a_phone(browser: Browser, office: Office) -> None:
    _joinable(office)
    as_phone(browser)
    browser.get(f"{office.base_url}/join/{office.branch}")
    wait_step(browser, "choose")
    assert browser.direction() == ("ar", "rtl", "rtl")
    assert "خذ تذكرتك من هاتفك" in browser.text()
    fits_the_phone(browser)

    browser.visible("phone").send_keys("01012345678")
    browser.tap("ask-code")
    wait_step(browser, "code")
    fits_the_phone(browser)
    assert office.tickets() == []

    browser.visible("code").send_keys("000000" if _code(office) != "000000" else "111111")
    browser.tap("take-ticket")
    harness.wait_for(lambda: browser.visible("code-error").text, message="the wrong code")
    assert "هذا ليس الرمز الذي أرسلناه" in browser.visible("code-error").text
    assert office.tickets() == []
    browser.expected_console.append("status of 422")

    browser.visible("code").send_keys(_code(office))
    browser.tap("take-ticket")
    harness.wait_for(lambda: "/t/" in browser.driver.current_url, message="the ticket's page")
    [ticket] = office.tickets()
    assert ticket.status == TicketStatus.WAITING
    assert ticket.phone == "+201012345678"
    assert browser.driver.current_url.startswith(f"{office.base_url}/t/{ticket.token}")
    assert ticket.number in browser.text()


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_book_with_a_code_where_the_branch_asks(browser: Browser, office: Office) -> None:
    """The booking page's script sends the form in the background: the code step it shows in
    place must send its own form the same way, to the confirmation."""
    with office.app.app_context():
        branch = db.session.scalars(select(Branch).where(Branch.code == office.branch)).one()
        branch.booking_code = True
        db.session.commit()
        db.session.remove()
    as_phone(browser)
    browser.get(f"{office.base_url}/book/{office.branch}?service=id-card")
    booking_step(browser, "day")
    browser.visible("choice").click()  # the first day
    booking_step(browser, "time")
    browser.visible("choice").click()  # its first time
    booking_step(browser, "phone")
    browser.visible("phone").send_keys("01012345678")
    browser.tap("book-submit")
    booking_step(browser, "code")
    assert office.tickets() == []
    browser.visible("code").send_keys(_code(office))
    browser.tap("book-submit")
    harness.wait_for(lambda: "/booked/" in browser.driver.current_url, message="the booking")
    [ticket] = office.tickets()
    assert ticket.status == TicketStatus.SCHEDULED
