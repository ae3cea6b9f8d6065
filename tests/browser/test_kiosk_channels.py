"""The kiosk in a real Chromium lets the citizen who leaves a number choose WhatsApp or SMS
where the branch offers both: WhatsApp first and chosen until touched, Arabic first; a branch
with SMS alone asks nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from queue_app.models import Branch
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.conftest import DATABASES

pytestmark = pytest.mark.slow


def _offer(office: Office, channels: str) -> None:
    with office.app.app_context():
        branch = db.session.scalar(select(Branch).where(Branch.code == office.branch))
        branch.channels = channels
        db.session.commit()
        db.session.remove()


def _ticket_with_number(browser: Browser, number: str, channel: str | None) -> None:
    browser.tap("service-id-card")
    browser.wait_screen("phone")
    if channel is not None:
        browser.tap(f"channel-{channel}")
    for digit in number:
        browser.tap(f"key-{digit}")
    browser.tap("phone-continue")
    browser.wait_screen("priority")
    browser.tap("priority-no")
    browser.wait_screen("ticket")
    browser.tap("ticket-done")
    browser.wait_screen("services")


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_the_citizen_chooses_whatsapp_or_sms(browser: Browser, office: Office, open_kiosk):
    _offer(office, "whatsapp,sms")
    open_kiosk()
    browser.tap("service-id-card")
    browser.wait_screen("phone")
    whatsapp, sms = browser.visible("channel-whatsapp"), browser.visible("channel-sms")
    assert (whatsapp.text, sms.text) == ("واتساب", "رسالة نصية (SMS)")
    assert (whatsapp.get_attribute("aria-pressed"), sms.get_attribute("aria-pressed")) == (
        "true",
        "false",
    )
    # Right to left, WhatsApp comes first: to the right of SMS.
    assert whatsapp.location["x"] > sms.location["x"]
    browser.tap("channel-sms")
    assert browser.visible("channel-sms").get_attribute("aria-pressed") == "true"
    assert browser.visible("channel-whatsapp").get_attribute("aria-pressed") == "false"
    browser.tap("restart")
    browser.wait_screen("services")

    _ticket_with_number(browser, "01012345678", "sms")
    _ticket_with_number(browser, "01112345678", None)  # untouched: the branch's first
    tickets = office.tickets()
    assert [(t.phone, t.channel) for t in tickets] == [
        ("+201012345678", "sms"),
        ("+201112345678", "whatsapp"),
    ]
    assert browser.console_errors() == []


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_sms_alone_asks_nothing(browser: Browser, office: Office, open_kiosk):
    open_kiosk()
    browser.tap("service-id-card")
    browser.wait_screen("phone")
    assert browser.driver.find_elements("css selector", "[data-channel]") == []
    harness.wait_for(lambda: "اختياري" in browser.text(), message="the phone screen")
