"""How a counter that serves several services shares its time between them: by what each
service asked of the counters lately.

An equal split promised a birth-certificate desk as many minutes as the ID-card work that fills
three quarters of the day, so a move after an outage found the ID-card slots full days ahead
while the inquiries' share went unused. Each service's weight is the counter time its citizens
took over the last ``HISTORY_DAYS`` (tickets served × its configured minutes), with a fifth of
every counter's time still split equally so that a service new or quiet lately keeps a share.
With too little history (a new office, a test) the split stays equal.

The history ends at the branch's last local midnight, so every process reads the same weights
all day, and the slots' places do not change while citizens book them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queue_app.models import Ticket, TicketStatus

if TYPE_CHECKING:
    from queue_app.directory import BranchInfo  # the directory splits counters with this module

HISTORY_DAYS = 28
# Below this many citizens served at the branch in the history, the split stays equal.
MIN_HISTORY = 100
# The part of a shared counter's time split equally whatever the history says.
EQUAL_PART = Fraction(1, 5)


def _midnight(branch: BranchInfo, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=branch.zone).astimezone(UTC)


def served_minutes(session: Session, branch: BranchInfo, today: date) -> dict[int, float]:
    """Counter minutes each of the branch's services took over the history window (tickets
    served × configured minutes); empty when the branch served too few to judge by."""
    minutes = {s.id: s.avg_service_minutes for s in branch.services}
    rows = session.execute(
        select(Ticket.service_id, func.count())
        .where(
            Ticket.service_id.in_(list(minutes)),
            Ticket.finished_at >= _midnight(branch, today - timedelta(days=HISTORY_DAYS)),
            Ticket.finished_at < _midnight(branch, today),
            Ticket.status == TicketStatus.DONE,
        )
        .group_by(Ticket.service_id)
    ).all()
    if sum(n for _, n in rows) < MIN_HISTORY:
        return {}
    return {service_id: n * minutes[service_id] for service_id, n in rows}


def counter_shares(services: list[int], demand: Mapping[int, float]) -> dict[int, Fraction]:
    """How one counter serving ``services`` splits its time, by ``demand`` (``served_minutes``;
    empty: equally)."""
    equal = Fraction(1, len(services))
    total = sum(Fraction(demand.get(s, 0)).limit_denominator(10**6) for s in services)
    if not demand or total == 0:
        return dict.fromkeys(services, equal)
    return {
        s: EQUAL_PART * equal
        + (1 - EQUAL_PART) * Fraction(demand.get(s, 0)).limit_denominator(10**6) / total
        for s in services
    }


__all__ = ["EQUAL_PART", "HISTORY_DAYS", "MIN_HISTORY", "counter_shares", "served_minutes"]
