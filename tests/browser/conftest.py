"""Fixtures of the browser tests: a served app on its own database, and a real Chromium.

Without Chromium the tests are skipped, with the reason, on a developer's machine; under CI
(``CI=true``) they fail instead, since ``scripts/test`` installs Chromium there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from flask import Flask
from sqlalchemy import select

from queue_app import access, config_file, directory
from queue_app.app import create_app
from queue_app.clock import FixedClock
from queue_app.db import Base
from queue_app.models import (
    Backend,
    BackendState,
    CapacityOverride,
    DirectoryRevision,
    Service,
    Ticket,
)
from queue_app.settings import Settings
from queue_app.web.extensions import db
from tests.browser import harness
from tests.browser.harness import Browser

BRANCH = "nasr-city"
BACKENDS = {
    "civil-registry": {"ar": "منظومة الأحوال المدنية", "en": "Civil registry system"},
    "traffic-licensing": {"ar": "منظومة تراخيص المرور", "en": "Traffic licensing system"},
}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def _chromium_installed() -> None:
    why = harness.chromium_missing()
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests, but {why}", pytrace=False)
    pytest.skip(why)


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture
def browser(_chromium_installed: None, request: pytest.FixtureRequest) -> Iterator[harness.Browser]:
    """A fresh Chromium (and profile) per test: no token, cookie or cache carries over."""
    if "office" in request.fixturenames:
        # The served app first, so that it stops after the browser: a page's poll that meets
        # the server already gone is the test's end, not an error of the page.
        request.getfixturevalue("office")
    driver = harness.chromium(width=1080, height=1920)
    try:
        driver.set_page_load_timeout(harness.WAIT_S * 3)
        driver.set_script_timeout(harness.WAIT_S)
        browser = harness.Browser(driver)
        yield browser
        errors = browser.console_errors()
        assert errors == [], f"errors in the browser's console: {errors}"
    finally:
        driver.quit()


# --- the served app ------------------------------------------------------------------------


@pytest.fixture
def db_kind(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test is parametrized (indirectly) with tests.conftest.DATABASES."""
    return getattr(request, "param", "sqlite")


def _empty_tables() -> None:
    for table in reversed(Base.metadata.sorted_tables):
        if table is not DirectoryRevision.__table__:
            db.session.execute(table.delete())
    directory.mark_changed(db.session)
    db.session.commit()


@dataclass
class Office:
    """The app served on loopback, with the branch of the tests loaded; its clock stands still."""

    app: Flask
    server: harness.LiveServer
    clock: FixedClock
    database_url: str
    branch: str = BRANCH
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def kiosk_url(self) -> str:
        return f"{self.base_url}/kiosk/{self.branch}"

    def tickets(self) -> list[Ticket]:
        with self.app.app_context():
            found = list(db.session.scalars(select(Ticket).order_by(Ticket.id)))
            db.session.expunge_all()
            return found

    def kiosk_token(self) -> str:
        with self.app.app_context():
            return access.create_token(db.session, self.clock, "kiosk", self.branch)

    def make_person(self, username: str, role: str, password: str = "browser test pass") -> str:
        """An account of this office's branch (all branches for an admin); its password."""
        from queue_app import people

        with self.app.app_context():
            people.create_person(
                db.session,
                self.clock,
                username,
                role=role,
                branch_codes=() if role == "admin" else (self.branch,),
                password=password,
                display_name=username.title(),
            )
            db.session.remove()
        return password

    def enrolment_code(self) -> str:
        """The code `queue-app kiosk enrol` prints: the real command, on the same database."""
        result = subprocess.run(
            [sys.executable, "-m", "queue_app", "kiosk", "enrol", "--branch", self.branch],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **self.environment},
            cwd=REPO,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def set_backend(self, code: str, state: BackendState) -> None:
        """As a manager's outage declaration will: an ORM write, so every process's directory
        sees it at its next transaction."""
        with self.app.app_context():
            backend = db.session.scalars(select(Backend).where(Backend.code == code)).one()
            backend.state = state
            backend.state_since = self.clock.now()
            db.session.commit()

    def set_capacity(self, service: str, per_slot: int, days: int = 60) -> None:
        """As a manager's PUT .../capacity does: appointments per slot from today. The test
        branch's one counter, shared by two services, leaves the slower one none of its own."""
        with self.app.app_context():
            found = db.session.scalars(select(Service).where(Service.code == service)).one()
            today = self.clock.now().date()
            db.session.add(
                CapacityOverride(
                    service_id=found.id,
                    first_day=today - timedelta(days=1),  # whatever the branch's zone
                    last_day=today + timedelta(days=days),
                    per_slot=per_slot,
                    created_at=self.clock.now(),
                )
            )
            db.session.commit()

    def why(self) -> str:
        return "server log:\n" + "\n".join(self.server.log[-40:])


@pytest.fixture
def office(db_kind: str, migrated: Callable[[str], str], tmp_path: Path) -> Iterator[Office]:
    url = migrated(db_kind)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = FixedClock(now)
    zone = harness.zone_far_from_midnight(now)
    server = harness.LiveServer()
    settings = Settings(
        database_url=url,
        secret_key="browser-test",
        public_url=server.base_url,
        instance_path=tmp_path / "instance",
    )
    app = create_app(settings, clock=clock)
    config = tmp_path / "offices.yaml"
    config.write_text(
        yaml.safe_dump(harness.branch_config(BRANCH, zone, BACKENDS), allow_unicode=True),
        encoding="utf-8",
    )
    with app.app_context():
        _empty_tables()
        config_file.load_file(db.session, config)
        db.session.remove()
    server.serve(app)
    environment = {
        "QUEUE_DATABASE_URL": url,
        "QUEUE_INSTANCE_PATH": str(tmp_path / "instance"),
        "QUEUE_PUBLIC_URL": server.base_url,
    }
    try:
        yield Office(app, server, clock, url, environment=environment)
    finally:
        server.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def open_kiosk(office: Office, browser: Browser) -> Callable[..., None]:
    """Open the kiosk page as an enrolled kiosk: its token set in the page's localStorage."""

    def open_(lang: str | None = None) -> None:
        browser.get(f"{office.base_url}/healthz")  # the origin, to write its localStorage
        token = office.kiosk_token()
        browser.driver.execute_script(
            "localStorage.setItem('queue.kiosk-token', arguments[0]);"
            "localStorage.setItem('queue.kiosk-branch', arguments[1]);",
            token,
            office.branch,
        )
        browser.get(office.kiosk_url + (f"?lang={lang}" if lang else ""))
        browser.wait_screen("services")

    return open_
