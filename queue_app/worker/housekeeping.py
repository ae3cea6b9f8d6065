"""Housekeeping, every minute: appointments never checked in become no-shows, old
Idempotency-Keys go, and so do delivery reports that no recorded send claimed; every hour,
personal data past its retention is erased (``privacy``)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from queue_app.clock import Clock

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_S = 60.0
# Erasing scans the big tables: once an hour is soon enough for a retention counted in days.
ERASE_EVERY = timedelta(hours=1)


def housekeeping_once(
    session: Session,
    clock: Clock,
    *,
    retention_days: int | None = None,
    last_erased: datetime | None = None,
) -> dict[str, int]:
    """One round. With ``retention_days``, also erase expired personal data when the last
    erasure (``last_erased``) is an hour old or more; ``erased`` in the result says it ran."""
    from queue_app import appointments, idempotency, outbox, privacy

    now = clock.now()
    done = {
        "missed": appointments.mark_missed(session, now),
        "idempotency_keys": idempotency.purge(session, now),
        "early_delivery_reports": outbox.purge_early_reports(session, now),
    }
    if retention_days and (last_erased is None or now - last_erased >= ERASE_EVERY):
        erased = privacy.erase_expired(session, now, retention_days)
        done |= {"erased": 1, "personal_data_rows": erased.total}
    return done


def housekeeping(
    sessions: sessionmaker[Session],
    clock: Clock,
    stop: threading.Event,
    retention_days: int | None = None,
) -> None:
    last_erased: datetime | None = None
    while not stop.is_set():
        try:
            with sessions() as session:
                done = housekeeping_once(
                    session, clock, retention_days=retention_days, last_erased=last_erased
                )
            if done.pop("erased", 0):
                last_erased = clock.now()
            if any(done.values()):
                log.info("housekeeping: %s", done)
        except Exception:  # a database restart must not end the worker
            log.exception("housekeeping failed; trying again in a minute")
        stop.wait(HOUSEKEEPING_EVERY_S)
