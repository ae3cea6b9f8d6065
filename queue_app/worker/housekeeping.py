"""Housekeeping, every minute: appointments never checked in become no-shows, old
Idempotency-Keys go, and so do delivery reports that no recorded send claimed."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from queue_app.clock import Clock

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_S = 60.0


def housekeeping_once(session: Session, clock: Clock) -> dict[str, int]:
    from queue_app import appointments, idempotency, outbox

    now = clock.now()
    return {
        "missed": appointments.mark_missed(session, now),
        "idempotency_keys": idempotency.purge(session, now),
        "early_delivery_reports": outbox.purge_early_reports(session, now),
    }


def housekeeping(sessions: sessionmaker[Session], clock: Clock, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with sessions() as session:
                done = housekeeping_once(session, clock)
            if any(done.values()):
                log.info("housekeeping: %s", done)
        except Exception:  # a database restart must not end the worker
            log.exception("housekeeping failed; trying again in a minute")
        stop.wait(HOUSEKEEPING_EVERY_S)
