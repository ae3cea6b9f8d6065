"""The manager's hours page in a real Chromium: a holiday on a day with a booked appointment is
shown first with the one appointment it moves, then added, and the flash says what happened."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select

from queue_app.models import Branch
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.browser.test_signed_in_pages import sign_in

pytestmark = pytest.mark.slow


def test_manager_adds_a_holiday_after_seeing_it_moves_one_appointment(
    browser: Browser, office: Office
) -> None:
    client = office.app.test_client()
    slots = client.get(f"/api/v1/branches/{office.branch}/services/id-card/slots").json
    booked = client.post(
        f"/api/v1/branches/{office.branch}/appointments",
        json={"service": "id-card", "start": slots[0]["start"], "phone": "01012345678"},
    )
    assert booked.status_code == 201, booked.json
    with office.app.app_context():
        timezone = db.session.scalar(select(Branch.timezone).where(Branch.code == office.branch))
    day = datetime.fromisoformat(slots[0]["start"]).astimezone(ZoneInfo(timezone)).date()

    password = office.make_person("samir", "manager")
    sign_in(browser, office, "samir", password, f"/manage/{office.branch}")
    browser.find('[data-test="hours-link"]').click()
    harness.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="holiday-form"]'),
        message="the hours page",
    )
    browser.driver.execute_script(
        "document.getElementById('day').value = arguments[0]", day.isoformat()
    )
    browser.find("#name_ar").send_keys("عيد")
    browser.find('[data-test="holiday-preview"]').click()
    harness.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="consequences"]'),
        message="the preview",
    )
    assert "١ من المواعيد المحجوزة" in browser.find('[data-test="consequences"]').text
    assert office.tickets()[0].slot_start.isoformat() == slots[0]["start"]  # nothing moved yet

    browser.find('[data-test="confirm-button"]').click()
    harness.wait_for(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, '[data-test="flash"]'),
        message="the result",
    )
    flash = browser.find('[data-test="flash"]').text
    assert "أُضيفت عطلة" in flash
    assert "نُقل ١" in flash
    assert "عيد" in browser.find('[data-test="holidays"]').text
    moved = office.tickets()[0].slot_start
    assert moved is not None
    assert moved.astimezone(ZoneInfo(timezone)).date() != day
