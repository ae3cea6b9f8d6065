"""The hall's board in a real Chromium: a call made through the API shows within the board's poll,
in its list of last calls and in its live region for screen readers; a tap turns the sound on,
and each new call then chimes (Web Audio) and, with ?speak=1, is read out in Arabic then English.
When the viewer prefers reduced motion, nothing flashes.

Speech and sound are observed, not replaced: the page's own calls to ``speechSynthesis.speak``
and ``OscillatorNode.start`` are recorded before they go on (speech is recorded only: a headless
browser has no voice to wait for)."""

from __future__ import annotations

from typing import Any

import pytest

from queue_app import access
from queue_app.pages.display_board import POLL_SECONDS
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import Office
from tests.browser.harness import Browser

pytestmark = pytest.mark.slow

# A call shows within one poll of the board; allow three, for a loaded machine.
WITHIN_POLLS = POLL_SECONDS * 3

OBSERVE = """
window.spoken = [];
window.speechSynthesis.speak = (utterance) => {
  window.spoken.push([utterance.lang, utterance.text]);
};
window.tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.tones += 1;
  return start.apply(this, args);
};
"""


def _headers(office: Office, role: str) -> dict[str, str]:
    with office.app.app_context():
        token = access.create_token(db.session, office.clock, role, office.branch)
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


def _post(office: Office, path: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = office.app.test_client().post(f"/api/v1{path}", json=body or None, headers=headers)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.json


def _listed(browser: Browser) -> list[str]:
    return browser.driver.execute_script(
        "return [...document.querySelectorAll('#call-rows tr')].map((row) => row.dataset.number)"
    )


def _wait_listed(browser: Browser, numbers: list[str]) -> None:
    harness.wait_for(
        lambda: _listed(browser) == numbers,
        timeout=WITHIN_POLLS,
        message=f"the board to list {numbers} (listed: {_listed(browser)})",
    )


def _running_animations(browser: Browser) -> int:
    return browser.driver.execute_script(
        "return document.getAnimations().filter((a) => a.playState === 'running').length"
    )


def test_a_call_is_listed_announced_chimed_and_spoken(browser: Browser, office: Office) -> None:
    kiosk, staff = _headers(office, "kiosk"), _headers(office, "staff")
    tickets = [_post(office, f"/branches/{office.branch}/tickets", kiosk, service="id-card")]
    tickets += [_post(office, f"/branches/{office.branch}/tickets", kiosk, service="licence")]
    call = f"/branches/{office.branch}/counters/1/call-next"
    _post(office, call, staff)  # before the board opens: listed, not announced

    browser.get(f"{office.base_url}/display/{office.branch}?speak=1")
    assert _listed(browser) == ["A-001"]
    browser.driver.execute_script(OBSERVE)
    button = browser.visible("enable-sound")
    assert button.text.index("تشغيل الصوت") < button.text.index("Enable sound")
    browser.tap("enable-sound")
    assert button.get_attribute("aria-pressed") == "true"

    _post(office, call, staff)  # C-001 comes next: A-001 is done
    _wait_listed(browser, ["C-001", "A-001"])

    announce = browser.find("#announce")
    assert announce.get_attribute("aria-live") == "polite"
    text = browser.driver.execute_script("return arguments[0].textContent", announce)
    assert text == (
        "التذكرة \u2066C-001\u2069، الشباك \u20661\u2069 · "
        "Ticket \u2066C-001\u2069, counter \u20661\u2069"
    )
    assert browser.driver.execute_script("return window.spoken") == [
        ["ar", "التذكرة سي 1، الشباك 1"],
        ["en", "Ticket C 1, counter 1"],
    ]
    assert browser.driver.execute_script("return window.tones") == 2  # one chime, two tones
    card = browser.find('[data-counter="1"] [data-field="now-serving"]')
    harness.wait_for(lambda: card.text == "C-001", message="the counter's card")
    assert _running_animations(browser) > 0  # the new number flashes: eyes find it

    # A recall is a call too: listed again, chimed and spoken again.
    _post(office, f"/tickets/{tickets[1]['token']}/recall", staff)
    _wait_listed(browser, ["C-001", "C-001", "A-001"])
    assert browser.driver.execute_script("return window.tones") == 4
    assert browser.driver.execute_script("return window.spoken.length") == 4

    # Sound off: the next call is listed and announced in writing, silently.
    browser.tap("enable-sound")
    _post(office, f"/tickets/{tickets[1]['token']}/recall", staff)
    _wait_listed(browser, ["C-001", "C-001", "C-001", "A-001"])
    assert browser.driver.execute_script("return window.tones") == 4
    assert browser.driver.execute_script("return window.spoken.length") == 4


def test_without_speak_in_the_address_the_board_only_chimes(
    browser: Browser, office: Office
) -> None:
    kiosk, staff = _headers(office, "kiosk"), _headers(office, "staff")
    _post(office, f"/branches/{office.branch}/tickets", kiosk, service="id-card")
    browser.get(f"{office.base_url}/display/{office.branch}")
    browser.driver.execute_script(OBSERVE)
    browser.tap("enable-sound")
    _post(office, f"/branches/{office.branch}/counters/1/call-next", staff)
    _wait_listed(browser, ["A-001"])
    assert browser.driver.execute_script("return window.tones") == 2
    assert browser.driver.execute_script("return window.spoken") == []


def test_nothing_flashes_when_the_viewer_prefers_reduced_motion(
    browser: Browser, office: Office
) -> None:
    kiosk, staff = _headers(office, "kiosk"), _headers(office, "staff")
    _post(office, f"/branches/{office.branch}/tickets", kiosk, service="id-card")
    browser.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
    )
    browser.get(f"{office.base_url}/display/{office.branch}")
    assert browser.driver.execute_script(
        "return matchMedia('(prefers-reduced-motion: reduce)').matches"
    )

    _post(office, f"/branches/{office.branch}/counters/1/call-next", staff)
    _wait_listed(browser, ["A-001"])
    card = browser.find('[data-counter="1"]')
    harness.wait_for(
        lambda: "changed" in (card.get_attribute("class") or ""), message="the card marked new"
    )
    row = browser.find("#call-rows tr")
    assert "changed" in (row.get_attribute("class") or "")
    for element in (card, row):
        assert (
            browser.driver.execute_script(
                "return getComputedStyle(arguments[0]).animationName", element
            )
            == "none"
        )
    assert _running_animations(browser) == 0
    text = browser.driver.execute_script("return document.getElementById('announce').textContent")
    assert "Ticket \u2066A-001\u2069, counter \u20661\u2069" in text
