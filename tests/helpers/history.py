"""Weeks of served citizens in the database, as an office that has run for a while has."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from queue_app.models import Ticket, TicketKind, TicketStatus
from queue_app.web.extensions import db


def served_walk_ins(branch, service, days: int, per_day: int, *, hour: int = 9) -> None:
    """``per_day`` walk-ins of ``service`` served on each of the ``days`` days before today,
    issued from ``hour`` (Cairo) a minute apart."""
    rows = []
    for k in range(1, days + 1):
        day = date(2026, 11, 24) - timedelta(days=k)
        for n in range(per_day):
            issued = datetime(day.year, day.month, day.day, hour - 2, n % 60, tzinfo=UTC)
            issued += timedelta(hours=n // 60)
            rows.append(
                {
                    "token": f"h-{service.letter}-{day}-{n}",
                    "branch_id": branch.id,
                    "service_id": service.id,
                    "letter": service.letter,
                    "local_day": day,
                    "sequence": n + 1,
                    "kind": TicketKind.WALK_IN,
                    "status": TicketStatus.DONE,
                    "priority": False,
                    "locale": "ar",
                    "issued_at": issued,
                    "queued_at": issued,
                    "called_at": issued,
                    "finished_at": issued + timedelta(minutes=6),
                    "version": 1,
                }
            )
    db.session.execute(insert(Ticket), rows)
    db.session.commit()
