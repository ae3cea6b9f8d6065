"""The worker's timers: the outages' (reschedule a paused line after N minutes, the evening
notice), the "your turn is near" texts (``turn_near``) and the appointment reminders
(``reminders``), in that order: an outage's evening move goes before the reminders of the same
round, so that nobody is reminded of a time just moved."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from queue_app import outage_moves, reminders, turn_near
from queue_app.clock import Clock

log = logging.getLogger(__name__)


def outage_timers(
    session_factory: Callable[[], Session],
    clock: Clock,
    stop: threading.Event,
    every: float = 5.0,
) -> None:
    """Run the outages' timers (reschedule after N minutes, the evening notice), the
    turn-near texts and the appointment reminders until stopped, each round in its own
    transaction."""
    while not stop.is_set():
        try:
            with session_factory() as session:
                done = outage_moves.run_timers(session, clock)
            if done.moved or done.branches_moved or done.told_no_slot:
                log.warning(
                    "outage timers: %d moved (%d of them found no time before), %d texted; "
                    "%d without a slot yet, %d of them told so",
                    done.moved,
                    done.placed_later,
                    done.texted,
                    done.unplaced,
                    done.told_no_slot,
                )
        except Exception:  # another worker ran the same move first, or the database is away
            log.exception("outage timers failed; trying again")
        try:
            with session_factory() as session:
                told = turn_near.tell_turn_near(session, clock)
            if told:
                log.info("turn near: %d texted", told)
        except Exception:  # another worker texted the same ticket first, or the database is away
            log.exception("turn-near texts failed; trying again")
        try:
            with session_factory() as session:
                reminded = reminders.send_reminders(session, clock)
            if reminded:
                log.info("appointment reminders: %d written", reminded)
        except Exception:  # a citizen changed a ticket meanwhile, or the database is away
            log.exception("appointment reminders failed; trying again")
        stop.wait(every)
