"""The kiosk touch screen in a real Chromium: a citizen taps through it and gets a ticket whose QR
code, read back from a screenshot by an independent decoder (zxing-cpp), opens the ticket's page."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains

from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.conftest import DATABASES
from tests.helpers.qr_reading import decode

pytestmark = pytest.mark.slow

ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")


def type_on_keypad(browser: Browser, digits: str) -> None:
    for digit in digits:
        browser.tap(f"key-{digit}")


def take_ticket(browser: Browser, service: str = "id-card", priority: bool = False) -> None:
    """From the start screen, without a phone number."""
    browser.tap(f"service-{service}")
    browser.wait_screen("phone")
    browser.tap("phone-skip")
    browser.wait_screen("priority")
    browser.tap("priority-yes" if priority else "priority-no")


def check_ticket_page(browser: Browser, url: str, number: str) -> None:
    """Open what the QR code says, as the citizen's phone does: the same ticket."""
    browser.get(url)
    assert browser.find("#number").text == number


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_arabic_kiosk_enrols_and_hands_out_a_ticket(browser: Browser, office: Office) -> None:
    # A screen nobody enrolled yet: it says so, in both languages, and takes the code the
    # command line printed, typed on its form.
    browser.get(office.kiosk_url)
    browser.wait_screen("enrol")
    assert browser.direction() == ("ar", "rtl", "rtl")
    code = office.enrolment_code()
    browser.visible("enrol-code").send_keys(code)
    browser.tap("enrol-submit")
    enrolled = browser.page_data()["enrolment"]
    said = harness.wait_for(
        lambda: browser.visible("enrol-message").text,
        message=f"the answer to the code: {browser.text()[:400]!r}",
    )
    # In both languages, for whoever enrols it.
    for locale, branch in (("ar", "سجل مدني مدينة نصر"), ("en", "Nasr City civil registry")):
        assert enrolled[locale]["strings"]["enrolled"] % {"branch": branch} in said
    browser.wait_screen("services", timeout=5)  # back to the start by itself

    # Arabic, right to left, before the citizen touches anything.
    assert browser.direction() == ("ar", "rtl", "rtl")
    shown = browser.text()
    assert "اختر الخدمة" in shown  # "Choose a service"
    assert "بطاقة الرقم القومي" in shown
    tile = browser.visible("service-id-card")
    assert "متاحة" in tile.text  # "Open"

    browser.tap("service-id-card")
    browser.wait_screen("phone")
    assert "بطاقة الرقم القومي" in browser.text()  # what was chosen stays in sight
    type_on_keypad(browser, "01012345678")
    # The keypad writes the digits the way the screen speaks: Arabic-Indic.
    display = browser.visible("phone-display").text
    assert display.translate(ARABIC_DIGITS) == "01012345678"
    assert display != "01012345678"
    browser.tap("phone-continue")
    browser.wait_screen("priority")
    browser.tap("priority-no")
    browser.wait_screen("ticket")

    [ticket] = office.tickets()
    number = browser.visible("ticket-number").text
    assert number == ticket.number == "A-001"
    assert ticket.locale == "ar"
    assert ticket.phone == "+201012345678"
    assert not ticket.priority
    shown = browser.text()
    assert "تذكرتك" in shown  # "Your ticket"
    assert "أنت التالي" in shown  # "You are next"

    url = browser.qr_code()
    assert url == f"{office.base_url}/t/{ticket.token}"
    check_ticket_page(browser, url, number)
    assert browser.direction() == ("ar", "rtl", "rtl")


def test_english_on_a_switch(browser: Browser, office: Office, open_kiosk) -> None:
    open_kiosk()
    browser.tap("lang-switch")
    harness.wait_for(lambda: browser.direction()[0] == "en", message="the English page")
    browser.wait_screen("services")
    assert browser.direction() == ("en", "ltr", "ltr")
    assert "Choose a service" in browser.text()
    assert "National ID card" in browser.visible("service-id-card").text

    take_ticket(browser, priority=True)
    browser.wait_screen("ticket")
    [ticket] = office.tickets()
    number = browser.visible("ticket-number").text
    assert number == ticket.number
    assert ticket.locale == "en"
    assert ticket.priority
    assert ticket.phone is None
    assert "Your ticket" in browser.text()

    url = browser.qr_code()
    assert url == f"{office.base_url}/t/{ticket.token}"

    # Finish: the next citizen finds the kiosk in Arabic again.
    browser.tap("ticket-done")
    harness.wait_for(lambda: browser.direction()[0] == "ar", message="Arabic after Finish")
    browser.wait_screen("services")
    assert browser.direction() == ("ar", "rtl", "rtl")
    assert "A-001" not in browser.text()

    check_ticket_page(browser, url, number)


def test_wrong_phone_number_gives_a_clear_message_and_no_ticket(
    browser: Browser, office: Office, open_kiosk
) -> None:
    open_kiosk()
    words = browser.page_data()["strings"]
    browser.tap("service-id-card")
    browser.wait_screen("phone")

    type_on_keypad(browser, "123")
    browser.tap("phone-continue")
    browser.wait_screen("phone")
    assert browser.visible("phone-message").text == words["phone_short"]

    # Long enough, but no Egyptian mobile number: the server says so, the kiosk tells why.
    browser.expected_console.append("status of 422")
    browser.tap("key-clear")
    assert browser.visible("phone-display").text == ""
    type_on_keypad(browser, "12345678901")
    browser.tap("phone-continue")
    browser.wait_screen("priority")
    browser.tap("priority-no")
    harness.wait_for(
        lambda: browser.screen() == "phone" and browser.visible("phone-message").text,
        message="the phone screen again, with a message",
    )
    message = browser.visible("phone-message").text
    assert message == words["phone_invalid"].replace("%(country)s", "مصر")
    assert office.tickets() == []

    # The citizen can go on without a number.
    browser.tap("phone-skip")
    browser.wait_screen("priority")
    browser.tap("priority-no")
    browser.wait_screen("ticket")
    [ticket] = office.tickets()
    assert ticket.phone is None


def test_double_tap_on_get_ticket_makes_one_ticket(
    browser: Browser, office: Office, open_kiosk
) -> None:
    open_kiosk()
    browser.tap("service-id-card")
    browser.wait_screen("phone")
    browser.tap("phone-skip")
    browser.wait_screen("priority")
    button = browser.visible("priority-no")
    ActionChains(browser.driver).double_click(button).perform()
    browser.wait_screen("ticket")
    tickets = office.tickets()
    assert [t.number for t in tickets] == ["A-001"], office.why()
    assert browser.visible("ticket-number").text == "A-001"


def test_print_button_and_printable_ticket(browser: Browser, office: Office, open_kiosk) -> None:
    open_kiosk()
    words = browser.page_data()["strings"]
    take_ticket(browser)
    browser.wait_screen("ticket")
    [ticket] = office.tickets()

    # The kiosk checks the printable page, loads it in a hidden frame and prints it from there
    # (headless Chromium has no printer: the call returns and nothing comes out).
    browser.tap("print")
    harness.wait_for(
        lambda: browser.visible("print-message").text == words["printing"],
        message="the printing message",
    )
    frame = harness.wait_for(lambda: browser.find("#print-frame"), message="the print frame")
    assert frame.get_attribute("src").endswith(f"/tickets/{ticket.token}/print")
    assert not browser.visible("print").is_enabled()  # no second slip by a second tap

    # The page itself: Arabic first, the number, and a QR code that reads back to the ticket.
    browser.get(f"{office.kiosk_url}/tickets/{ticket.token}/print")
    assert browser.direction() == ("ar", "rtl", "rtl")
    shown = browser.text()
    assert ticket.number in shown
    assert "بطاقة الرقم القومي" in shown
    assert "National ID card" in shown
    found = decode(harness.screenshot(browser.driver))
    assert found == [f"{office.base_url}/t/{ticket.token}"]
