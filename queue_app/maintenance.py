"""Announced maintenance windows of back-end systems, as the pages read them (no Flask)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from queue_app.models import Maintenance


def not_ended(
    session: Session, now: datetime, backend_ids: Iterable[int] | None = None
) -> list[Maintenance]:
    """Windows not yet over and not cancelled, the soonest first, with their system loaded;
    only those of ``backend_ids`` when given."""
    query = (
        select(Maintenance)
        .options(joinedload(Maintenance.backend))
        .where(Maintenance.ends_at > now, Maintenance.cancelled_at.is_(None))
        .order_by(Maintenance.starts_at, Maintenance.id)
    )
    if backend_ids is not None:
        query = query.where(Maintenance.backend_id.in_(list(backend_ids)))
    return list(session.scalars(query))


__all__ = ["not_ended"]
