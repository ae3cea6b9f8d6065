"""Which lane of the outbox a message waits in: the one place that decides it, by event kind.

A worker claims lane 0 before lane 1 before lane 2, and within a lane the most urgent first
(``Message.urgency``). A mass move (an outage moving thousands of tickets) waits in lane 2, so a
"your turn" written in the middle of it is claimed next, not after the move's last message.
"""

from __future__ import annotations

from enum import IntEnum


class Lane(IntEnum):
    NOW = 0  # "your turn", "called", turn near: useless a few minutes late
    SOON = 1  # confirmations, reminders, answers to the citizen's replies, offers of today
    BULK = 2  # the office's mass moves: outage, maintenance, capacity, evening notices


# The event's kind is what comes before its first ":" ("rescheduled:outage:12" -> "rescheduled").
LANE_OF_KIND: dict[str, Lane] = {
    "called": Lane.NOW,
    "your_turn": Lane.NOW,
    "turn_near": Lane.NOW,
    # A one-time code: the citizen waits for it with the page open (counted all the same:
    # daily_cap).
    "code": Lane.NOW,
    "issued": Lane.SOON,
    "booked": Lane.SOON,
    "moved": Lane.SOON,  # the citizen's own "another time"
    "reply": Lane.SOON,
    "opted-out": Lane.SOON,
    "reminder": Lane.SOON,
    # An offer of a free time today (after an outage) expires within hours: not bulk.
    "offer": Lane.SOON,
    "rescheduled": Lane.BULK,  # every rescheduler cause: outage, evening notice, maintenance,
    "no_slot": Lane.BULK,  # capacity, hours, counters
    "system_back": Lane.BULK,
}

# A kind nobody mapped yet waits with the confirmations: never ahead of a "your turn", never
# behind a mass move.
DEFAULT_LANE = Lane.SOON


def kind_of(event: str) -> str:
    return event.split(":", 1)[0]


def lane_of(event: str) -> Lane:
    """The lane of a message about ``event`` (its outbox key, e.g. "rescheduled:outage:12")."""
    return LANE_OF_KIND.get(kind_of(event), DEFAULT_LANE)
