"""When the last message of a mass move will leave at the current rate: in the outage record
and in the console's systems section."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from queue_app import outages, outbox
from queue_app.models import Message, MessageStatus
from queue_app.web.extensions import db

RATE = 10.0  # the test settings' QUEUE_SMS_RATE
CONSOLE = "/manage/cairo-civil"


@pytest.fixture
def outage(make_backend, make_branch, clock):
    backend = make_backend()
    make_branch(backends=[backend])
    return outages.declare(db.session, clock, backend.code)


def _write(clock, event: str, n: int, *, urgency: datetime, prefix: str) -> None:
    outbox.enqueue_rows(
        db.session,
        [
            outbox.row(
                clock.now(),
                ticket_id=None,
                event=event,
                to=f"+2010{prefix}{i:05d}",
                locale="ar",
                body=f"{event} {i}",
                urgency=urgency + timedelta(minutes=i),
            )
            for i in range(n)
        ],
    )
    db.session.commit()


def _record(client) -> dict:
    (record,) = client.get("/api/v1/backends/civil-registry/outages").json
    return record


def test_the_outage_record_says_when_its_last_message_leaves(client, outage, clock):
    tomorrow = clock.now() + timedelta(days=1)
    _write(clock, f"rescheduled:outage:{outage.id}", 30, urgency=tomorrow, prefix="100")
    _write(
        clock,
        f"rescheduled:outage:{outage.id}:evening:2026-11-24",
        10,
        urgency=tomorrow,
        prefix="101",
    )
    # Ahead of it: "your turn" and confirmations (earlier lanes, whatever their urgency), and
    # another move's messages about earlier times. Behind it: a move about later times.
    _write(clock, "turn_near", 5, urgency=tomorrow + timedelta(days=9), prefix="200")
    _write(clock, "booked", 5, urgency=tomorrow + timedelta(days=9), prefix="300")
    _write(clock, "rescheduled:maintenance:1", 20, urgency=clock.now(), prefix="400")
    _write(clock, "rescheduled:capacity:x", 15, urgency=tomorrow + timedelta(days=3), prefix="500")
    record = _record(client)
    ahead = 30 + 10 + 5 + 5 + 20
    expected = clock.now() + timedelta(seconds=ahead / RATE)
    assert datetime.fromisoformat(record["last_message_at"]) == expected
    assert record["messages"] == {"queued": 40}

    # Sent messages are no longer ahead: half the confirmations and "your turn" went.
    db.session.execute(
        update(Message)
        .where(Message.event.in_(["turn_near", "booked"]))
        .values(status=MessageStatus.SENT)
    )
    db.session.commit()
    expected = clock.now() + timedelta(seconds=(ahead - 10) / RATE)
    assert datetime.fromisoformat(_record(client)["last_message_at"]) == expected


def test_no_estimate_when_none_of_its_messages_waits(client, outage, clock):
    assert _record(client)["last_message_at"] is None
    _write(clock, f"rescheduled:outage:{outage.id}", 3, urgency=clock.now(), prefix="100")
    db.session.execute(update(Message).values(status=MessageStatus.SENT))
    db.session.commit()
    record = _record(client)
    assert record["last_message_at"] is None
    assert record["messages"] == {"sent": 3}


def test_the_console_shows_it_beside_the_system(client, outage, clock, signed_in):
    signed_in("manager")
    assert 'data-test="last-message-civil-registry"' not in client.get(CONSOLE).text
    # 600 messages at 10 a second: the last leaves a minute from now, 10:01 in Cairo
    _write(clock, f"rescheduled:outage:{outage.id}", 600, urgency=clock.now(), prefix="100")
    page = client.get(CONSOLE).text
    assert 'data-test="last-message-civil-registry"' in page
    assert "تخرج آخر رسالة عن مواعيدها المنقولة نحو الساعة ١٠:٠١ ص" in page
    # Once they have all left, the line goes.
    db.session.execute(update(Message).values(status=MessageStatus.SENT))
    db.session.commit()
    assert 'data-test="last-message-civil-registry"' not in client.get(CONSOLE).text


def test_a_move_held_for_the_morning_leaves_from_then(client, outage, clock):
    morning = clock.now() + timedelta(hours=20)
    outbox.enqueue_rows(
        db.session,
        [
            outbox.row(
                clock.now(),
                ticket_id=None,
                event=f"rescheduled:outage:{outage.id}",
                to=f"+20100000{i:04d}",
                locale="ar",
                body="x",
                urgency=morning + timedelta(hours=3),
                not_before=morning,
            )
            for i in range(50)
        ],
    )
    db.session.commit()
    expected = morning + timedelta(seconds=50 / RATE)
    assert datetime.fromisoformat(_record(client)["last_message_at"]) == expected
