"""Migrations: an empty database upgraded to head matches the models, and every step goes back.

STYLE.md: "A model change comes with its Alembic revision; a test upgrades an empty database and
finds nothing left to migrate." Each test gets a database of its own, so the session's migrated
databases (owned by the ``migrated`` fixture) are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from queue_app import migrate
from queue_app.db import Base
from queue_app.settings import normalise_database_url
from tests.conftest import DATABASES, POSTGRES_URL


@pytest.fixture(params=DATABASES)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database; for PostgreSQL, ``<test database>_migrations``."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    assert POSTGRES_URL
    server_url = make_url(normalise_database_url(POSTGRES_URL))
    name = f"{server_url.database}_migrations"
    # CREATE and DROP DATABASE refuse to run inside a transaction.
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            # A run that died half-way may have left it behind.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server_url.set(database=name).render_as_string(hide_password=False)
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _revisions_oldest_first(url: str) -> list[tuple[str, str]]:
    """(revision, the one before it or "base") for every revision, from the first to head."""
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    steps = []
    for revision in script.walk_revisions():
        down = revision.down_revision
        assert not isinstance(down, tuple), "merge revisions need their own stairway step"
        steps.append((revision.revision, down or "base"))
    return steps[::-1]


def test_upgraded_empty_database_matches_the_models(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert migrate.pending_changes(empty_database) == []
    assert _tables(empty_database) == set(Base.metadata.tables) | {"alembic_version"}


def test_downgrade_to_base_and_upgrade_again(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")
    # Only Alembic's bookkeeping table may stay behind, and it is empty at base.
    assert _tables(empty_database) <= {"alembic_version"}
    migrate.upgrade(empty_database)
    assert migrate.pending_changes(empty_database) == []


def test_every_revision_steps_down_and_up_again(empty_database: str) -> None:
    # The "stairway": a downgrade that forgets an index or a constraint of its own upgrade fails
    # here at the revision that broke it, not later on someone's production rollback.
    for revision, previous in _revisions_oldest_first(empty_database):
        migrate.upgrade(empty_database, revision)
        migrate.downgrade(empty_database, previous)
        migrate.upgrade(empty_database, revision)
    assert migrate.pending_changes(empty_database) == []


def test_windows_announced_twice_before_0011_keep_the_first(empty_database: str) -> None:
    # Before 0011 the same maintenance window could be stored twice; the unique index it makes
    # needs the later copies withdrawn first (when they were announced), the first kept.
    migrate.upgrade(empty_database, "0010")
    engine = create_engine(normalise_database_url(empty_database))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO backends (id, code, name_ar, name_en, check_interval_s,"
                    " failure_threshold, recovery_threshold, state, state_since)"
                    " VALUES (1, 'civil-registry', 'م', 'C', 5, 3, 2, 'up', :at)"
                ),
                {"at": "2026-11-24 08:00:00"},
            )
            for window_id, starts in [(1, "06:00"), (2, "06:00"), (3, "06:00"), (4, "07:00")]:
                conn.execute(
                    text(
                        "INSERT INTO maintenance_windows (id, backend_id, starts_at, ends_at,"
                        " announced_at, tickets_moved) VALUES (:id, 1, :starts, :ends, :at, 0)"
                    ),
                    {
                        "id": window_id,
                        "starts": f"2026-11-25 {starts}:00",
                        "ends": "2026-11-25 10:00:00",
                        "at": f"2026-11-24 08:0{window_id}:00",
                    },
                )
        migrate.upgrade(empty_database)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, cancelled_at IS NULL FROM maintenance_windows ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(1, True), (2, False), (3, False), (4, True)]


def test_outages_open_twice_before_0015_keep_the_first(empty_database: str) -> None:
    # Before 0015 two requests racing could open two outages of one system; the unique index of
    # open outages it makes needs the later ones ended (when they began), the first kept open.
    migrate.upgrade(empty_database, "0013")
    engine = create_engine(normalise_database_url(empty_database))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO backends (id, code, name_ar, name_en, check_interval_s,"
                    " failure_threshold, recovery_threshold, state, state_since)"
                    " VALUES (1, 'civil-registry', 'م', 'C', 5, 3, 2, 'down', :at)"
                ),
                {"at": "2026-11-24 08:00:00"},
            )
            for outage_id, ended in [(1, "08:00"), (2, None), (3, None), (4, None)]:
                conn.execute(
                    text(
                        "INSERT INTO outages (id, backend_id, started_at, ended_at, detected_by,"
                        " tickets_paused, tickets_moved, tickets_texted, tickets_unplaced)"
                        " VALUES (:id, 1, :at, :ended, 'staff_reports', 0, 0, 0, 0)"
                    ),
                    {
                        "id": outage_id,
                        "at": f"2026-11-24 07:0{outage_id}:00",
                        "ended": f"2026-11-24 {ended}:00" if ended else None,
                    },
                )
        migrate.upgrade(empty_database)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, ended_at IS NULL, ended_by, branch_id FROM outages ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, False, None, None),
        (2, True, None, None),  # the first open one holds the pause, everywhere as before
        (3, False, "merged", None),
        (4, False, "merged", None),
    ]


def test_messages_before_0022_get_their_lane_from_their_event(empty_database: str) -> None:
    migrate.upgrade(empty_database, "0021")
    events = {
        "turn_near": 0,
        "called": 0,
        "issued": 1,
        "booked": 1,
        "moved:2": 1,
        "reply:SM1": 1,
        "offer:outage:3": 1,
        "rescheduled:outage:3": 2,
        "rescheduled:outage:3:evening:2026-11-24": 2,
        "no_slot:maintenance:4": 2,
        "system_back:outage:3": 2,
        "rescheduledX": 1,  # only the kind before ":" counts
    }
    engine = create_engine(normalise_database_url(empty_database))
    try:
        with engine.begin() as conn:
            for event in events:
                conn.execute(
                    text(
                        'INSERT INTO messages (event, "to", locale, body, status, urgency,'
                        " created_at, next_attempt_at, attempts)"
                        " VALUES (:event, '+201000000000', 'ar', 'x', 'queued', :at, :at, :at, 0)"
                    ),
                    {"event": event, "at": "2026-11-24 08:00:00"},
                )
        migrate.upgrade(empty_database)
        with engine.connect() as conn:
            lanes = dict(conn.execute(text("SELECT event, lane FROM messages")).all())
    finally:
        engine.dispose()
    assert lanes == events
