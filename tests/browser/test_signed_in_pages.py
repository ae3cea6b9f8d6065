"""Signed-in pages in a real Chromium: staff sign in once and call tickets from the counter
screen (the board shows the call), with no credential in the page's storage; a manager changes
capacity in the console, sees what it will change first, and confirms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By

from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser

pytestmark = pytest.mark.slow


def sign_in(browser: Browser, office: Office, username: str, password: str, path: str) -> None:
    browser.get(f"{office.base_url}{path}")
    # Sent to the sign-in page, and back here afterwards.
    harness.wait_for(lambda: "/sign-in" in browser.driver.current_url, message="the sign-in")
    browser.find("#username").send_keys(username)
    browser.find("#password").send_keys(password)
    browser.find('[data-test="sign-in-form"] button[type="submit"]').click()
    harness.wait_for(lambda: browser.driver.current_url.endswith(path), message=f"back at {path}")


def take_ticket(office: Office, service: str = "id-card") -> str:
    kiosk = {"Authorization": f"Bearer {office.kiosk_token()}"}
    answer = office.app.test_client().post(
        f"/api/v1/branches/{office.branch}/tickets", json={"service": service}, headers=kiosk
    )
    assert answer.status_code == 201, answer.json
    return str(answer.json["number"])


def test_staff_sign_in_and_call_the_next_ticket_which_the_board_shows(
    browser: Browser, office: Office
) -> None:
    number = take_ticket(office)
    password = office.make_person("mona", "staff")
    sign_in(browser, office, "mona", password, f"/counter/{office.branch}/1")

    call = browser.find('[data-action="call_next"]')
    harness.wait_for(call.is_enabled, message="call next enabled")
    call.click()
    harness.wait_for(
        lambda: browser.find("#current").text == number, message=f"{number} on the counter"
    )
    assert number in browser.find("#message").text
    # The session cookie is HttpOnly and nothing is kept in the page's storage.
    assert browser.driver.execute_script("return document.cookie") == ""
    assert browser.driver.execute_script("return localStorage.length") == 0
    assert "Mona" in browser.find('[data-test="signed-in"]').text

    browser.get(f"{office.base_url}/display/{office.branch}")
    harness.wait_for(lambda: number in browser.text(), message=f"{number} on the board")


def test_signing_out_stops_the_buttons(browser: Browser, office: Office) -> None:
    take_ticket(office)
    password = office.make_person("mona", "staff")
    sign_in(browser, office, "mona", password, f"/counter/{office.branch}/1")
    browser.find('[data-test="sign-out"]').click()
    harness.wait_for(lambda: "/sign-in" in browser.driver.current_url, message="signed out")
    browser.get(f"{office.base_url}/counter/{office.branch}/1")
    assert "/sign-in" in browser.driver.current_url


def test_manager_changes_capacity_after_seeing_what_it_moves(
    browser: Browser, office: Office
) -> None:
    client = office.app.test_client()
    slots = client.get(f"/api/v1/branches/{office.branch}/services/id-card/slots").json
    booked = client.post(
        f"/api/v1/branches/{office.branch}/appointments",
        json={"service": "id-card", "start": slots[0]["start"], "phone": "01012345678"},
    )
    assert booked.status_code == 201, booked.json
    password = office.make_person("samir", "manager")
    sign_in(browser, office, "samir", password, f"/manage/{office.branch}")
    assert "لوحة إدارة الفرع" in browser.text()

    form = browser.find('[data-test="capacity"] form')
    per_slot = form.find_element(By.ID, "per_slot")
    per_slot.clear()
    per_slot.send_keys("0")
    last_day = (office.clock.now() + timedelta(days=2)).date()
    browser.driver.execute_script(
        "document.getElementById('last_day').value = arguments[0]", last_day.isoformat()
    )
    browser.find('[data-test="capacity-preview"]').click()
    harness.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="consequences"]'),
        message="the preview",
    )
    # The one booked appointment is over the new capacity: the preview says so, nothing moved.
    assert (
        "١ من المواعيد المحجوزة تتجاوز السعة الجديدة"
        in browser.find('[data-test="consequences"]').text
    )
    assert office.tickets()[0].slot_start.isoformat() == slots[0]["start"]
    browser.find('[data-test="confirm-button"]').click()
    harness.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="flash"]'),
        message="the result",
    )
    assert "تم ضبط السعة. نُقل ١" in browser.find('[data-test="flash"]').text


def _confirm_and_see_flash(browser: Browser) -> str:
    harness.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="consequences"]'),
        message="the preview",
    )
    consequences = browser.find('[data-test="consequences"]').text
    browser.find('[data-test="confirm-button"]').click()
    harness.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="flash"]'),
        message="the result",
    )
    return consequences


def test_manager_declares_an_outage_here_and_withdraws_a_maintenance_window(
    browser: Browser, office: Office
) -> None:
    from queue_app import maintenance
    from queue_app.access import Principal
    from queue_app.models import Role
    from queue_app.web.extensions import db

    take_ticket(office)
    with office.app.app_context():
        window = maintenance.announce(
            db.session,
            office.clock,
            Principal(role=Role.ADMIN, branch_id=None, branch_code=None),
            "civil-registry",
            starts_at=office.clock.now() + timedelta(days=2),
            ends_at=office.clock.now() + timedelta(days=2, hours=1),
            note=None,
        )
        window_id = window.id
        db.session.remove()
    password = office.make_person("samir", "manager")
    sign_in(browser, office, "samir", password, f"/manage/{office.branch}")

    browser.visible("declare-civil-registry").click()  # opens the details
    browser.find('[data-test="declare-preview-civil-registry"]').click()
    consequences = _confirm_and_see_flash(browser)
    assert "ينتظرها ١ من المواطنين" in consequences
    assert browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="down-here"]')
    answer = office.app.test_client().get("/api/v1/backends").json
    civil = next(b for b in answer if b["code"] == "civil-registry")
    assert civil["down_at"] == [office.branch]

    browser.find(f'[data-test="withdraw-{window_id}"]').click()
    consequences = _confirm_and_see_flash(browser)
    assert "تبقى على أوقاتها الجديدة" in consequences
    assert "تم سحب إعلان الصيانة" in browser.find('[data-test="flash"]').text
    assert not browser.driver.find_elements(By.CSS_SELECTOR, f'[data-test="withdraw-{window_id}"]')
