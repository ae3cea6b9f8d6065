"""The SMS outbox: written with the change it announces, claimed once, retried, reconciled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from queue_app import outbox
from queue_app.models import Message, MessageStatus, OptOut, Ticket
from queue_app.web.extensions import db
from tests.conftest import needs_postgresql


@pytest.fixture
def kiosk(make_branch, make_token):
    make_branch()
    return make_token("kiosk")


def _take(client, kiosk, phone: str | None = "01012345678", **body) -> dict:
    response = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card", **({"phone": phone} if phone else {}), **body},
        headers=kiosk,
    )
    assert response.status_code == 201, response.json
    return response.json


def _messages() -> list[Message]:
    return list(db.session.scalars(select(Message).order_by(Message.id)))


def test_a_ticket_with_a_phone_is_texted_its_link_in_its_language(client, kiosk):
    arabic = _take(client, kiosk)
    english = _take(client, kiosk, phone="01098765432", locale="en")
    _take(client, kiosk, phone=None)  # no number: no message
    first, second = _messages()
    assert (first.to, first.event, first.locale) == ("+201012345678", "issued", "ar")
    assert "A-001" in first.body
    assert "تذكرتك" in first.body
    assert first.body.endswith(f"http://queue.test/t/{arabic['token']}")
    assert second.locale == "en"
    assert "Your ticket A-002" in second.body
    assert second.body.endswith(english["token"])
    assert {m.status for m in (first, second)} == {MessageStatus.QUEUED}


def test_a_replayed_ticket_request_is_texted_once(client, kiosk):
    headers = {**kiosk, "Idempotency-Key": "one-tap"}
    for _ in range(2):
        client.post(
            "/api/v1/branches/cairo-civil/tickets",
            json={"service": "id-card", "phone": "01012345678"},
            headers=headers,
        )
    assert len(_messages()) == 1


def test_one_message_per_ticket_and_event(client, kiosk, clock):
    _take(client, kiosk)
    ticket = db.session.scalar(select(Ticket))
    again = outbox.enqueue(
        db.session,
        clock.now(),
        ticket=ticket,
        event="issued",
        to=ticket.phone,
        locale="ar",
        body="x",
    )
    assert again is False
    other = outbox.enqueue(
        db.session,
        clock.now(),
        ticket=ticket,
        event="moved:1",
        to=ticket.phone,
        locale="ar",
        body="y",
    )
    assert other is True
    db.session.commit()
    assert [m.event for m in _messages()] == ["issued", "moved:1"]


def test_a_rolled_back_change_leaves_no_message(client, kiosk, clock):
    _take(client, kiosk)
    ticket = db.session.scalar(select(Ticket))
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=ticket,
        event="moved:2",
        to=ticket.phone,
        locale="ar",
        body="z",
    )
    db.session.rollback()
    assert [m.event for m in _messages()] == ["issued"]


def _queue(clock, n: int, *, soonest_last: bool = False) -> list[int]:
    ids = []
    for i in range(n):
        urgency = clock.now() + timedelta(hours=(n - i) if soonest_last else i)
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=f"e{i}",
            to=f"+2010000000{i:02d}",
            locale="ar",
            body=f"message {i}",
            urgency=urgency,
        )
    db.session.commit()
    ids = [m.id for m in _messages()]
    return ids


def test_claims_go_most_urgent_first_and_only_once(app, clock):
    ids = _queue(clock, 5, soonest_last=True)
    first = outbox.claim(db.session, clock.now(), "w1", 2)
    second = outbox.claim(db.session, clock.now(), "w2", 10)
    assert [m.id for m in first] == [ids[4], ids[3]]  # the soonest slots
    assert [m.id for m in second] == [ids[2], ids[1], ids[0]]
    assert outbox.claim(db.session, clock.now(), "w3", 10) == []
    assert all(m.attempts == 1 for m in first + second)


def test_a_temporary_failure_comes_back_later_with_backoff(app, clock):
    _queue(clock, 1)
    (message,) = outbox.claim(db.session, clock.now(), "w1", 1)
    outbox.record_temporary_failure(
        db.session, clock.now(), message, "w1", code="20429", error="Too Many Requests"
    )
    stored = _messages()[0]
    assert stored.status == MessageStatus.QUEUED
    assert stored.error_code == "20429"
    wait = stored.next_attempt_at - clock.now()
    assert outbox.FIRST_RETRY / 2 <= wait <= outbox.FIRST_RETRY
    assert outbox.claim(db.session, clock.now(), "w1", 1) == []  # not due yet
    clock.advance(seconds=wait.total_seconds())
    (again,) = outbox.claim(db.session, clock.now(), "w1", 1)
    assert again.attempts == 2


def test_the_provider_s_retry_after_is_honoured(app, clock):
    _queue(clock, 1)
    (message,) = outbox.claim(db.session, clock.now(), "w1", 1)
    outbox.record_temporary_failure(
        db.session,
        clock.now(),
        message,
        "w1",
        code="20429",
        error="x",
        retry_after=timedelta(minutes=5),
    )
    assert _messages()[0].next_attempt_at - clock.now() == timedelta(minutes=5)


def test_backoff_grows_and_is_capped():
    no_jitter = lambda: 1.0  # noqa: E731
    delays = [outbox.retry_delay(n, no_jitter) for n in range(1, 12)]
    assert delays[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert delays == sorted(delays)
    assert max(delays) == outbox.LONGEST_RETRY


def test_too_many_temporary_failures_give_up(app, clock):
    _queue(clock, 1)
    for _ in range(outbox.MAX_ATTEMPTS):
        clock.advance(hours=1)
        (message,) = outbox.claim(db.session, clock.now(), "w1", 1)
        outbox.record_temporary_failure(
            db.session, clock.now(), message, "w1", code=None, error="503"
        )
    stored = _messages()[0]
    assert stored.status == MessageStatus.FAILED
    assert stored.error.startswith(f"gave up after {outbox.MAX_ATTEMPTS} tries")


def test_an_opted_out_number_gets_nothing_more(app, clock):
    _queue(clock, 2)
    outbox.opt_out(db.session, clock.now(), "+201000000000")
    db.session.commit()
    claimed = outbox.claim(db.session, clock.now(), "w1", 10)
    assert [m.to for m in claimed] == ["+201000000001"]
    first = _messages()[0]
    assert first.status == MessageStatus.SUPPRESSED
    # Messages written after the opt-out are suppressed at claim time.
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=None,
        event="later",
        to="+201000000000",
        locale="ar",
        body="b",
    )
    db.session.commit()
    assert outbox.claim(db.session, clock.now(), "w1", 10) == []
    assert db.session.scalar(select(func.count()).select_from(OptOut)) == 1


def test_a_stale_claim_is_taken_over_once(app, clock):
    _queue(clock, 1)
    (message,) = outbox.claim(db.session, clock.now(), "dead", 1)
    lease = timedelta(minutes=2)
    assert outbox.stale_claims(db.session, clock.now(), lease) == []
    clock.advance(minutes=3)
    (stale,) = outbox.stale_claims(db.session, clock.now(), lease)
    assert stale.id == message.id
    assert outbox.take_over(db.session, clock.now(), stale, "w2") is True
    assert outbox.take_over(db.session, clock.now(), stale, "w3") is False  # already taken
    # The dead worker's late answer no longer counts: the claim is w2's.
    assert outbox.record_sent(db.session, clock.now(), message, "dead", "SM1") is False
    assert outbox.record_found_sent(db.session, clock.now(), stale, "w2", "SM1") is True
    stored = _messages()[0]
    assert (stored.status, stored.reconciled, stored.provider_sid) == (
        MessageStatus.SENT,
        "found_sent",
        "SM1",
    )


def test_delivery_reports_move_a_message_forward_only(app, clock):
    _queue(clock, 1)
    (message,) = outbox.claim(db.session, clock.now(), "w1", 1)
    outbox.record_sent(db.session, clock.now(), message, "w1", "SM42")
    assert outbox.record_delivery(db.session, clock.now(), "SM42", "delivered") is True
    assert outbox.record_delivery(db.session, clock.now(), "SM42", "sent") is True  # late, ignored
    assert _messages()[0].status == MessageStatus.DELIVERED
    assert outbox.record_delivery(db.session, clock.now(), "SM-unknown", "delivered") is False


@needs_postgresql
@pytest.mark.postgresql
@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_parallel_claims_on_postgresql_never_share_a_message(app, clock):
    _queue(clock, 60)
    engine = db.engine
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        from sqlalchemy.orm import Session

        barrier.wait()
        got: list[int] = []
        with Session(engine) as session:
            while batch := outbox.claim(session, clock.now(), name, 5):
                got += [m.id for m in batch]
        claimed[name] = got

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [i for got in claimed.values() for i in got]
    assert sorted(every) == [m.id for m in _messages()]  # each exactly once
    assert len(claimed) == 4
