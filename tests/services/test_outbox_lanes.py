"""Priority lanes of the outbox: the lane comes from the event, the worker claims lane by lane."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_app import outbox
from queue_app.message_lanes import LANE_OF_KIND, Lane, lane_of
from queue_app.models import Message, MessageStatus
from queue_app.web.extensions import db

# Every event the code writes today (texting, rescheduler), with the lane it must wait in.
EVENTS = [
    ("turn_near", Lane.NOW),
    ("called", Lane.NOW),
    ("your_turn", Lane.NOW),
    ("issued", Lane.SOON),
    ("booked", Lane.SOON),
    ("moved:3", Lane.SOON),
    ("reply:SM0123", Lane.SOON),
    ("opted-out:SM0123", Lane.SOON),
    ("offer:outage:7", Lane.SOON),
    ("rescheduled:outage:7", Lane.BULK),
    ("rescheduled:outage:7:evening:2026-11-24", Lane.BULK),
    ("rescheduled:maintenance:2", Lane.BULK),
    ("rescheduled:capacity:2026-11-24T08:00:00+00:00", Lane.BULK),
    ("rescheduled:hours:2026-11-24T08:00:00+00:00", Lane.BULK),
    ("no_slot:outage:7", Lane.BULK),
    ("system_back:outage:7", Lane.BULK),
]


@pytest.mark.parametrize(("event", "lane"), EVENTS)
def test_the_lane_comes_from_the_event(event: str, lane: Lane) -> None:
    assert lane_of(event) == lane


def test_an_unmapped_kind_waits_with_the_confirmations() -> None:
    assert "weather" not in LANE_OF_KIND
    assert lane_of("weather:1") == Lane.SOON


def test_written_messages_carry_their_lane(app, clock):
    for i, (event, _) in enumerate(EVENTS[:5]):
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=event,
            to=f"+2010000000{i:02d}",
            locale="ar",
            body="x",
        )
    outbox.enqueue_rows(
        db.session,
        [
            outbox.row(
                clock.now(), ticket_id=None, event=event, to="+201000000099", locale="ar", body="y"
            )
            for event, _ in EVENTS[5:]
        ],
    )
    db.session.commit()
    stored = dict(db.session.execute(select(Message.event, Message.lane)).all())
    assert stored == {event: int(lane) for event, lane in EVENTS}


def test_a_turn_message_overtakes_a_ten_thousand_message_move(app, clock):
    move = 10_000
    soon = clock.now() + timedelta(minutes=30)
    # The move's messages announce slots from today on: the soonest is more urgent than any
    # confirmation written later, yet all of them wait behind "your turn".
    outbox.enqueue_rows(
        db.session,
        [
            outbox.row(
                clock.now(),
                ticket_id=None,
                event="rescheduled:outage:1",
                to=f"+2010{n:08d}",
                locale="ar",
                body=f"moved {n}",
                urgency=soon + timedelta(minutes=n % 600),
            )
            for n in range(move)
        ],
    )
    db.session.commit()
    first = outbox.claim(db.session, clock.now(), "worker-a", 100)
    assert len(first) == 100
    clock.advance(seconds=1)
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=None,
        event="turn_near",
        to="+201099999999",
        locale="ar",
        body="your turn is near",
        urgency=clock.now() + timedelta(hours=5),  # even a late urgency does not hold it back
    )
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=None,
        event="booked",
        to="+201099999998",
        locale="ar",
        body="booked",
    )
    db.session.commit()
    claimed_in_order: list[str] = []
    for _ in range(3):  # bounded: three more claims of 10
        claimed_in_order += [m.body for m in outbox.claim(db.session, clock.now(), "worker-b", 10)]
    assert claimed_in_order[:2] == ["your turn is near", "booked"]
    assert all(body.startswith("moved ") for body in claimed_in_order[2:])
    queued = db.session.scalar(select(func.count()).where(Message.status == MessageStatus.QUEUED))
    assert queued == move - 100 - 28
