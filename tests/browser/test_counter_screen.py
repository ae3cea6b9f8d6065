"""The counter screen in a real Chromium, driven by its keyboard shortcuts: call, hold, call the
next citizen, finish, resume the held one, transfer it to another service, and the board shows
who is called where."""

from __future__ import annotations

import pytest
from selenium.webdriver.support.select import Select
from sqlalchemy import select

from queue_app import access
from queue_app.models import Branch
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser
from tests.browser.test_signed_in_pages import sign_in

pytestmark = pytest.mark.slow


def _token(office: Office, role: str) -> str:
    with office.app.app_context():
        token = access.create_token(db.session, office.clock, role, office.branch)
        db.session.remove()
    return token


def _press(browser: Browser, key: str) -> None:
    """A key pressed with nothing focused, as staff do with the screen in front of them."""
    browser.driver.execute_script("document.activeElement && document.activeElement.blur()")
    browser.find("body").send_keys(key)


def _says(browser: Browser, text: str) -> None:
    harness.wait_for(
        lambda: text in browser.find("#message").text.replace("\u2066", "").replace("\u2069", ""),
        message=f"the message {text!r} (it says {browser.find('#message').text!r})",
    )


def test_staff_call_hold_resume_and_transfer_with_the_keyboard(
    browser: Browser, office: Office
) -> None:
    kiosk = {"Authorization": f"Bearer {_token(office, 'kiosk')}"}
    client = office.app.test_client()
    tokens = []
    for _ in range(2):
        taken = client.post(
            f"/api/v1/branches/{office.branch}/tickets", json={"service": "id-card"}, headers=kiosk
        )
        assert taken.status_code == 201
        tokens.append(taken.json["token"])
    password = office.make_person("mona", "staff")
    sign_in(browser, office, "mona", password, f"/counter/{office.branch}/1")
    browser.get(f"{office.base_url}/counter/{office.branch}/1?lang=en")
    harness.wait_for(
        lambda: browser.find('[data-action="call_next"]').is_enabled(), message="the buttons"
    )
    current = browser.find("#current")

    _press(browser, "n")
    _says(browser, "Called A-001")
    assert current.text == "A-001"

    _press(browser, "h")
    _says(browser, "A-001 is on hold")
    held = browser.visible("held")
    assert held.find_element("css selector", "li").text == "A-001"
    assert current.text == "—"

    _press(browser, "n")
    _says(browser, "Called A-002")
    browser.expected_console.append(
        "/resume - Failed to load resource: the server responded with a status of 409"
    )
    _press(browser, "u")  # the counter is serving A-002: refused, clearly
    _says(browser, "This counter is serving A-002: finish it first.")
    _press(browser, "d")
    _says(browser, "A-002 is done")

    _press(browser, "u")
    _says(browser, "A-001 is called back")
    assert current.text == "A-001"
    assert not browser.find("#held").is_displayed()

    Select(browser.find("#transfer-to")).select_by_value("service:licence")
    _press(browser, "t")
    _says(browser, "A-001 is transferred")
    assert current.text == "—"
    first = client.get(f"/api/v1/tickets/{tokens[0]}").json
    assert (first["status"], first["service"]) == ("waiting", "licence")
    assert [e["event"] for e in first["history"]] == [
        "issued",
        "called",
        "held",
        "resumed",
        "transferred",
    ]

    # The licence line has only A-001: the next call brings it back, and the board shows it.
    _press(browser, "n")
    _says(browser, "Called A-001")
    browser.get(f"{office.base_url}/display/{office.branch}")
    assert browser.find('[data-counter="1"] [data-field="now-serving"]').text == "A-001"
    listed = browser.driver.execute_script(
        "return [...document.querySelectorAll('#call-rows tr')].map((row) => row.dataset.number)"
    )
    assert listed == ["A-001", "A-001", "A-002", "A-001"]


def test_a_citizen_told_by_text_who_missed_the_call_comes_back_near_the_front(
    browser: Browser, office: Office
) -> None:
    """Waiting anywhere: the board marks the call as told by message; the counter marks the
    citizen missed, they come back within the grace period (key C), and are called after the
    next one."""
    with office.app.app_context():
        branch = db.session.scalars(select(Branch).where(Branch.code == office.branch)).one()
        branch.turn_near_minutes = 20
        branch.late_grace_minutes = 15
        db.session.commit()
        db.session.remove()
    kiosk = {"Authorization": f"Bearer {_token(office, 'kiosk')}"}
    client = office.app.test_client()
    for phone in ("01012345678", None):
        body = {"service": "id-card", **({"phone": phone} if phone else {})}
        taken = client.post(f"/api/v1/branches/{office.branch}/tickets", json=body, headers=kiosk)
        assert taken.status_code == 201
    password = office.make_person("mona", "staff")
    sign_in(browser, office, "mona", password, f"/counter/{office.branch}/1")
    browser.get(f"{office.base_url}/counter/{office.branch}/1?lang=en")
    harness.wait_for(
        lambda: browser.find('[data-action="call_next"]').is_enabled(), message="the buttons"
    )
    assert not browser.find("#missed").is_displayed()

    _press(browser, "n")
    _says(browser, "Called A-001")
    _press(browser, "m")
    _says(browser, "A-001 is marked as missed")
    assert browser.visible("missed").find_element("id", "missed-number").text == "A-001"
    _press(browser, "c")
    _says(browser, "A-001 came back: called after the next one.")
    assert not browser.find("#missed").is_displayed()

    _press(browser, "n")
    _says(browser, "Called A-002")
    _press(browser, "n")
    _says(browser, "Called A-001")

    browser.get(f"{office.base_url}/display/{office.branch}")
    told = browser.driver.execute_script(
        "return [...document.querySelectorAll('#call-rows tr')].map((row) =>"
        " [row.dataset.number, !!row.querySelector('[data-test=told]')])"
    )
    assert told == [["A-001", True], ["A-002", False], ["A-001", True]]
    marker = browser.find('#call-rows [data-test="told"]')
    assert "Told by message" in marker.text
    assert "أُبلغ برسالة" in marker.text
