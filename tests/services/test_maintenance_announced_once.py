"""The same maintenance window announced by several managers at once is stored, and its
appointments moved and texted, once: the database's unique index settles the race."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queue_app import maintenance
from queue_app.access import Principal
from queue_app.errors import MaintenanceAlreadyAnnounced
from queue_app.models import Maintenance, Role
from queue_app.web.extensions import db

START = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
END = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

ADMIN = Principal(Role.ADMIN, None, None)


def test_the_same_window_at_once_is_stored_once(app, make_backend, make_branch, clock):
    backend = make_backend(health_url="http://203.0.113.7/health")
    make_branch(backends=[backend])
    engine = db.engine
    start = threading.Barrier(6)
    answers: list[object] = []

    def manager() -> None:
        with Session(engine) as session:
            start.wait(timeout=30)
            try:
                window = maintenance.announce(
                    session, clock, ADMIN, backend.code, starts_at=START, ends_at=END, note=None
                )
                answers.append(window.id)
            except MaintenanceAlreadyAnnounced as refused:
                answers.append(("refused", refused.fields["id"]))

    threads = [threading.Thread(target=manager) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    stored = db.session.scalars(select(Maintenance.id)).all()
    assert len(stored) == 1
    assert sorted(answers, key=str) == sorted([stored[0]] + [("refused", stored[0])] * 5, key=str)
    assert db.session.scalar(select(func.count()).select_from(Maintenance)) == 1


def test_a_withdrawn_window_does_not_count(app, make_backend, make_branch, clock):
    backend = make_backend(health_url="http://203.0.113.7/health")
    make_branch(backends=[backend])
    first = maintenance.announce(
        db.session, clock, ADMIN, backend.code, starts_at=START, ends_at=END, note=None
    )
    maintenance.withdraw(db.session, clock, ADMIN, backend.code, first.id)
    again = maintenance.announce(
        db.session, clock, ADMIN, backend.code, starts_at=START, ends_at=END, note=None
    )
    assert again.id != first.id
