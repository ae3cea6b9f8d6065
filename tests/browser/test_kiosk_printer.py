"""A kiosk with a network ticket printer, in a real Chromium: the screen is enrolled for a kiosk of
the config file with `queue-app kiosk enrol --kiosk`, and its print button sends the ticket, as
ESC/POS, to that kiosk's printer (a real TCP server on 127.0.0.1) rather than through the
browser. A printer that is off leaves the citizen a plain message and their ticket on screen."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml
from sqlalchemy import select

from queue_app import config_file
from queue_app.models import Branch
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.conftest import BACKENDS, REPO, Office
from tests.browser.harness import Browser
from tests.conftest import DATABASES
from tests.helpers.escpos_reading import read
from tests.helpers.fake_printer import FakePrinter

pytestmark = pytest.mark.slow

QR_COMMAND = b"\x1d(k"


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    server = FakePrinter().start()
    yield server
    server.stop()


def add_kiosk(office: Office, code: str, printer_url: str) -> None:
    """`queue-app load` of the office's file, now with a kiosk and its printer."""
    with office.app.app_context():
        zone = db.session.scalars(select(Branch.timezone).where(Branch.code == office.branch)).one()
        config = harness.branch_config(office.branch, zone, BACKENDS)
        config["branches"][0]["kiosks"] = [
            {"code": code, "name": {"ar": "القاعة أ", "en": "Hall A"}, "printer": printer_url}
        ]
        config_file.load_text(db.session, yaml.safe_dump(config, allow_unicode=True))
        db.session.remove()


def enrol_as(browser: Browser, office: Office, kiosk: str) -> None:
    """As the technician does: the code of `queue-app kiosk enrol --kiosk`, typed on the screen."""
    command = ["kiosk", "enrol", "--branch", office.branch, "--kiosk", kiosk]
    result = subprocess.run(
        [sys.executable, "-m", "queue_app", *command],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **office.environment},
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    browser.get(office.kiosk_url)
    browser.wait_screen("enrol")
    browser.visible("enrol-code").send_keys(result.stdout.strip())
    browser.tap("enrol-submit")
    browser.wait_screen("services", timeout=10)


def take_ticket(browser: Browser) -> None:
    browser.tap("service-id-card")
    browser.wait_screen("phone")
    browser.tap("phone-skip")
    browser.wait_screen("priority")
    browser.tap("priority-no")
    browser.wait_screen("ticket")


def printable_page_requests(office: Office) -> list[str]:
    return [
        line
        for line in office.server.log
        if line.startswith("GET ") and "/tickets/" in line and "/print" in line
    ]


@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_the_kiosk_prints_on_its_network_printer(
    browser: Browser, office: Office, printer: FakePrinter
) -> None:
    add_kiosk(office, "hall-a", f"{printer.url}?profile=TM-T20II")
    enrol_as(browser, office, "hall-a")
    words = browser.page_data()["strings"]
    take_ticket(browser)
    [ticket] = office.tickets()

    browser.tap("print")
    job = printer.job()
    assert ticket.number.encode() in job
    assert QR_COMMAND in job
    assert read(job).qr_data == [f"{office.base_url}/t/{ticket.token}".encode()]
    harness.wait_for(
        lambda: browser.visible("print-message").text == words["printing"],
        message="the printing message",
    )
    assert not browser.visible("print").is_enabled()  # no second slip by a second tap
    # Not through the browser: no printable page, no print frame.
    assert browser.driver.find_elements("css selector", "#print-frame") == []
    assert printable_page_requests(office) == [], office.why()
    assert printer.jobs.empty()


def test_a_printer_that_is_off_leaves_the_ticket_on_screen(
    browser: Browser, office: Office, printer: FakePrinter
) -> None:
    dead = printer.url
    printer.stop()  # the printer is switched off: its port refuses connections
    add_kiosk(office, "hall-a", dead)
    enrol_as(browser, office, "hall-a")
    words = browser.page_data()["strings"]
    take_ticket(browser)
    [ticket] = office.tickets()

    browser.expected_console.append("status of 503")
    browser.tap("print")
    harness.wait_for(
        lambda: browser.visible("print-message").text == words["print_failed"],
        message="the message that printing failed",
    )
    assert browser.screen() == "ticket"
    assert browser.visible("ticket-number").text == ticket.number
    assert browser.visible("print").is_enabled()  # to try again once the printer is back
    assert browser.driver.find_elements("css selector", "#print-frame") == []
    assert printable_page_requests(office) == [], office.why()
    [still] = office.tickets()
    assert (still.status, still.version) == (ticket.status, ticket.version)
