"""Maintenance announced, given other times and withdrawn by managers: only for a system one of
their branch's services needs (admins for any), previewed without a change, and a window's new
times replace the old ones in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from queue_app import appointments, maintenance
from queue_app.access import Principal
from queue_app.errors import Forbidden, InvalidInput, StateConflict
from queue_app.models import Backend, Maintenance, Role, Ticket
from queue_app.web.extensions import db

CAIRO = ZoneInfo("Africa/Cairo")
START = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # Wednesday 09:00 in Cairo
END = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def managers(make_backend, make_branch, clock) -> dict[str, Principal]:
    cairo = make_branch(backends=[make_backend()])
    giza = make_branch("giza-civil", backends=[make_backend("giza-land")])
    appointments.book(
        db.session,
        clock,
        "cairo-civil",
        "id-card",
        start=datetime(2026, 11, 25, 10, tzinfo=CAIRO),
        phone="01012345678",
    )
    return {
        "cairo": Principal(Role.MANAGER, cairo.id, cairo.code),
        "giza": Principal(Role.MANAGER, giza.id, giza.code),
        "staff": Principal(Role.STAFF, cairo.id, cairo.code),
        "admin": Principal(Role.ADMIN, None, None),
    }


def _windows() -> list[Maintenance]:
    db.session.expire_all()
    return list(db.session.scalars(select(Maintenance).order_by(Maintenance.id)))


def test_only_a_manager_of_a_branch_needing_the_system_may_announce(managers, clock) -> None:
    for who in ("giza", "staff"):
        with pytest.raises(Forbidden):
            maintenance.announce(
                db.session,
                clock,
                managers[who],
                "civil-registry",
                starts_at=START,
                ends_at=END,
                note=None,
            )
        with pytest.raises(Forbidden):
            maintenance.preview_announce(
                db.session, clock, managers[who], "civil-registry", starts_at=START, ends_at=END
            )
    assert _windows() == []
    assert not maintenance.may_manage(db.session, managers["cairo"], _giza_land())
    assert maintenance.may_manage(db.session, managers["admin"], _giza_land())


def _giza_land() -> int:
    return db.session.scalars(select(Backend.id).where(Backend.code == "giza-land")).one()


def test_the_preview_counts_and_changes_nothing(managers, clock) -> None:
    count = maintenance.preview_announce(
        db.session, clock, managers["cairo"], "civil-registry", starts_at=START, ends_at=END
    )
    assert count == 1
    assert _windows() == []
    with pytest.raises(InvalidInput):
        maintenance.preview_announce(
            db.session, clock, managers["cairo"], "civil-registry", starts_at=END, ends_at=START
        )


def test_other_times_withdraw_the_old_window_and_announce_the_new(managers, clock) -> None:
    first = maintenance.announce(
        db.session,
        clock,
        managers["cairo"],
        "civil-registry",
        starts_at=START,
        ends_at=START.replace(hour=8),
        note="upgrade",
    )
    assert first.tickets_moved == 0  # it ends at 10:00 in Cairo, when the appointment begins
    later = START.replace(hour=7, minute=30)
    before = [(w.id, w.cancelled_at) for w in _windows()]
    preview, count = maintenance.reschedule_window(
        db.session,
        clock,
        managers["cairo"],
        "civil-registry",
        first.id,
        starts_at=later,
        ends_at=END,
        note="upgrade",
        dry_run=True,
    )
    assert (preview, count) == (None, 1)
    assert [(w.id, w.cancelled_at) for w in _windows()] == before
    with pytest.raises(Forbidden):
        maintenance.reschedule_window(
            db.session,
            clock,
            managers["giza"],
            "civil-registry",
            first.id,
            starts_at=later,
            ends_at=END,
            note=None,
        )
    new, moved = maintenance.reschedule_window(
        db.session,
        clock,
        managers["cairo"],
        "civil-registry",
        first.id,
        starts_at=later,
        ends_at=END,
        note="longer",
    )
    assert new is not None
    assert moved == 1
    old, current = _windows()
    assert old.cancelled_at == clock.now()
    assert (current.cancelled_at, current.note, current.tickets_moved) == (None, "longer", 1)
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.slot_start is not None
    assert ticket.slot_start >= END
    # The old window cannot be changed again: it is withdrawn.
    with pytest.raises(StateConflict):
        maintenance.reschedule_window(
            db.session,
            clock,
            managers["cairo"],
            "civil-registry",
            old.id,
            starts_at=later,
            ends_at=END,
            note=None,
        )


def test_a_window_that_has_begun_keeps_its_times(managers, clock) -> None:
    window = maintenance.announce(
        db.session,
        clock,
        managers["admin"],
        "giza-land",
        starts_at=clock.now(),
        ends_at=END,
        note=None,
    )
    with pytest.raises(StateConflict):
        maintenance.reschedule_window(
            db.session,
            clock,
            managers["giza"],
            "giza-land",
            window.id,
            starts_at=START,
            ends_at=END,
            note=None,
        )
    with pytest.raises(Forbidden):
        maintenance.withdraw(db.session, clock, managers["cairo"], "giza-land", window.id)
    assert maintenance.withdraw(db.session, clock, managers["giza"], "giza-land", window.id)


def test_times_use_the_clock_not_the_wall(managers, clock) -> None:
    # A window a year and a day after the clock's now is refused, whatever today's date is.
    far = clock.now().replace(year=2027, day=26)
    with pytest.raises(InvalidInput):
        maintenance.preview_announce(
            db.session,
            clock,
            managers["cairo"],
            "civil-registry",
            starts_at=far,
            ends_at=far.replace(hour=10),
        )
