"""Fixtures that build the real thing: a real app on a real database, SQLite and PostgreSQL.

PostgreSQL runs when ``QUEUE_TEST_DATABASE_URL`` names a database that the tests may wipe
(``.ci/run`` sets it to the local server's ``test`` database).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url, text

from queue_app import access, directory, migrate
from queue_app.app import create_app
from queue_app.clock import FixedClock
from queue_app.db import Base
from queue_app.models import Backend, Branch, Counter, DirectoryRevision, OpeningHours, Service
from queue_app.settings import Settings, normalise_database_url
from queue_app.web.extensions import db


def _own_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker process wipes and fills a PostgreSQL database of its own
    (``test_gw0``, ``test_gw1`` ...), made here when missing; it is also what the benchmarks'
    tests read from the environment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    server = make_url(normalise_database_url(url))
    name = f"{server.database}_{worker}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    own = make_url(url).set(database=name).render_as_string(hide_password=False)
    os.environ["QUEUE_TEST_DATABASE_URL"] = own
    return own


POSTGRES_URL = _own_database(os.environ.get("QUEUE_TEST_DATABASE_URL"))
needs_postgresql = pytest.mark.skipif(
    not POSTGRES_URL, reason="set QUEUE_TEST_DATABASE_URL to run against PostgreSQL"
)
DATABASES = ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgresql, needs_postgresql])]

# Tuesday 24 November 2026, 10:00 in Cairo (UTC+2): a working morning.
TUESDAY_MORNING = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SUN_TO_THU = (6, 0, 1, 2, 3)  # date.weekday() numbers of Sunday..Thursday


# --- no network beyond this machine -------------------------------------------------------


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches beyond loopback: tests talk only to servers they start."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise RuntimeError(f"test tried to reach {address!r}; only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


# --- databases, migrated once per run -----------------------------------------------------


def _reset_postgresql(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'queue.sqlite3'}"}


@pytest.fixture(scope="session")
def migrated(database_urls: dict[str, str]) -> Callable[[str], str]:
    """Return the URL of a database of the given kind, migrated to head (once per run)."""
    done: dict[str, str] = {}

    def get(kind: str) -> str:
        if kind not in done:
            if kind == "postgresql":
                assert POSTGRES_URL
                url = normalise_database_url(POSTGRES_URL)
                _reset_postgresql(url)
            else:
                url = database_urls[kind]
            migrate.upgrade(url)
            done[kind] = url
        return done[kind]

    return get


def _empty_tables() -> None:
    """Empty every table but the directory's revision row, which gets a new value: processes
    that cached the last test's directory must not take it for this one's."""
    for table in reversed(Base.metadata.sorted_tables):
        if table is not DirectoryRevision.__table__:
            db.session.execute(table.delete())
    directory.mark_changed(db.session)
    db.session.commit()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY_MORNING)


@pytest.fixture
def settings(tmp_path: Path) -> Callable[[str], Settings]:
    def make(database_url: str) -> Settings:
        return Settings(
            database_url=database_url,
            secret_key="test-secret",
            public_url="http://queue.test",
            instance_path=tmp_path / "instance",
        )

    return make


@pytest.fixture(params=DATABASES)
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def app(
    db_kind: str,
    migrated: Callable[[str], str],
    settings: Callable[[str], Settings],
    clock: FixedClock,
) -> Iterator[Flask]:
    app = create_app(settings(migrated(db_kind)), clock=clock)
    app.config["TESTING"] = True
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- factories ----------------------------------------------------------------------------


@pytest.fixture
def make_backend(app: Flask) -> Callable[..., Backend]:
    def make(code: str = "civil-registry", **overrides: Any) -> Backend:
        backend = Backend(
            code=code,
            name_ar=overrides.pop("name_ar", "منظومة الأحوال المدنية"),
            name_en=overrides.pop("name_en", "Civil registry system"),
            **overrides,
        )
        db.session.add(backend)
        db.session.commit()
        return backend

    return make


@pytest.fixture
def make_branch(app: Flask) -> Callable[..., Branch]:
    """A branch open Sunday to Thursday 08:00-15:00, with services and open counters.

    ``services`` is a list of (code, letter) pairs; every counter serves all of them.
    """

    def make(
        code: str = "cairo-civil",
        *,
        timezone: str = "Africa/Cairo",
        country: str = "EG",
        services: list[tuple[str, str]] | None = None,
        counters: int = 1,
        backends: list[Backend] | None = None,
        avg_service_minutes: float = 6,
        channels: str = "sms",
    ) -> Branch:
        branch = Branch(
            code=code,
            name_ar="سجل مدني مدينة نصر",
            name_en="Nasr City civil registry",
            timezone=timezone,
            country=country,
            channels=channels,
        )
        branch.opening_hours = [
            OpeningHours(weekday=day, opens=time(8), closes=time(15)) for day in SUN_TO_THU
        ]
        for service_code, letter in services or [("id-card", "A")]:
            branch.services.append(
                Service(
                    code=service_code,
                    letter=letter,
                    name_ar=f"خدمة {letter}",
                    name_en=f"Service {letter}",
                    avg_service_minutes=avg_service_minutes,
                    slot_minutes=30,
                    backends=list(backends or []),
                )
            )
        for n in range(1, counters + 1):
            branch.counters.append(Counter(code=str(n), is_open=True, services=branch.services))
        db.session.add(branch)
        db.session.commit()
        return branch

    return make


@pytest.fixture
def make_token(app: Flask, clock: FixedClock) -> Callable[..., dict[str, str]]:
    """Return ready Authorization headers for a new token of a role (and branch)."""

    def make(role: str, branch: str | None = "cairo-civil") -> dict[str, str]:
        raw = access.create_token(db.session, clock, role, None if role == "admin" else branch)
        return {"Authorization": f"Bearer {raw}"}

    return make


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs from here on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


PASSWORD = "correct horse battery"


@pytest.fixture
def make_person(app: Flask, clock: FixedClock) -> Callable[..., Any]:
    """Make an account (password ``PASSWORD``); staff and managers of cairo-civil by default."""
    from queue_app import people

    def make(
        username: str = "mona",
        role: str = "staff",
        branches: tuple[str, ...] | None = None,
        password: str = PASSWORD,
    ) -> Any:
        codes = branches if branches is not None else (() if role == "admin" else ("cairo-civil",))
        return people.create_person(
            db.session,
            clock,
            username,
            role=role,
            branch_codes=codes,
            password=password,
            display_name=username.title(),
        )

    return make


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the form, as a browser does; returns the answer to the form."""
    token = csrf_of(client.get("/sign-in").text)
    return client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def signed_in(client: FlaskClient, make_person: Callable[..., Any]) -> Callable[..., FlaskClient]:
    """The test client, signed in as a new person of this role (and branches)."""

    def make(role: str = "staff", username: str | None = None, **kwargs: Any) -> FlaskClient:
        person = make_person(username or f"{role}-person", role, **kwargs)
        answer = sign_in(client, person.username)
        assert answer.status_code == 303, answer.text
        return client

    return make
