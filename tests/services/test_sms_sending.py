"""The SMS sender with the real ``twilio`` client against a Twilio stand-in on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from queue_app import outbox
from queue_app.models import Message, MessageStatus, OptOut
from queue_app.web.extensions import db
from queue_app.worker.sending import Pace, SmsSender
from sms.gateways import ConsoleGateway, OutgoingSms, TwilioGateway
from sms.senders import Sender, SenderKind
from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.sms.twilio_server import (
    DROPPED,
    INTERNAL_ERROR,
    INVALID_NUMBER,
    RATE_LIMITED,
    UNAVAILABLE,
    UNSUBSCRIBED,
    FakeTwilio,
)

CALLBACK = "http://queue.test/sms/twilio/status"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def gateway(twilio: FakeTwilio) -> Iterator[TwilioGateway]:
    made = TwilioGateway(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_=SENDER,
        api_base=twilio.url,
        timeout=2.0,
    )
    yield made
    made.close()


class FakeTime:
    """Monotonic time that moves only when the pace sleeps: the rate is checked exactly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _sender(app, clock, gateway, *, rate: float = 1000.0, time: FakeTime | None = None):
    sessions: sessionmaker[Session] = sessionmaker(bind=db.engine, expire_on_commit=False)
    time = time or FakeTime()
    return SmsSender(
        sessions,
        clock,
        gateway,
        rate=rate,
        status_callback_url=CALLBACK,
        name="test-worker",
        pace=Pace(rate, sleep=time.sleep, monotonic=time.monotonic),
    )


def _queue(clock, *bodies: str, to: str = "+201012345678") -> None:
    for n, body in enumerate(bodies):
        outbox.enqueue(
            db.session, clock.now(), ticket=None, event=f"e{n}", to=to, locale="ar", body=body
        )
    db.session.commit()


def _stored() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).order_by(Message.id)))


def _creates(twilio: FakeTwilio):
    return [e for e in twilio.exchanges if e.method == "POST"]


def test_each_message_reaches_twilio_with_sender_and_callback(app, clock, twilio, gateway):
    _queue(clock, "رقمك A-001", "Your ticket A-002")
    report = _sender(app, clock, gateway).run_once()
    assert report.sent == 2
    sent = _creates(twilio)
    assert [e.field("Body") for e in sent] == ["رقمك A-001", "Your ticket A-002"]
    assert {e.field("To") for e in sent} == {"+201012345678"}
    assert {e.field("From") for e in sent} == {SENDER}
    assert {e.field("StatusCallback") for e in sent} == {CALLBACK}
    stored = _stored()
    assert [m.status for m in stored] == [MessageStatus.SENT] * 2
    assert [m.provider_sid for m in stored] == [m["sid"] for m in twilio.messages]


@pytest.mark.parametrize("failure", [RATE_LIMITED, INTERNAL_ERROR, UNAVAILABLE])
def test_temporary_failures_are_retried_to_exactly_one_delivery(
    app, clock, twilio, gateway, failure
):
    _queue(clock, "hello")
    sender = _sender(app, clock, gateway)
    twilio.fail_next(failure, failure)
    for _ in range(2):
        assert sender.run_once().retried == 1
        clock.advance(hours=1)  # past any backoff or Retry-After
    assert sender.run_once().sent == 1
    assert sender.run_once().claimed == 0
    assert len(twilio.messages) == 1  # one delivery, three requests
    assert len(_creates(twilio)) == 3
    (stored,) = _stored()
    # Three tries, of which the second was a probe of a provider still down: not counted.
    assert (stored.status, stored.attempts, stored.error_code) == (MessageStatus.SENT, 2, None)


def test_retry_after_from_twilio_delays_the_next_try(app, clock, twilio, gateway):
    _queue(clock, "hello")
    twilio.fail_next(RATE_LIMITED)  # Retry-After: 7, shorter than the first backoff step
    _sender(app, clock, gateway).run_once()
    (stored,) = _stored()
    assert stored.next_attempt_at - clock.now() >= timedelta(seconds=7)


@pytest.mark.parametrize("failure", [INVALID_NUMBER, UNSUBSCRIBED])
def test_permanent_failures_are_not_retried_and_say_why(app, clock, twilio, gateway, failure):
    _queue(clock, "hello")
    twilio.fail_next(failure)
    sender = _sender(app, clock, gateway)
    assert sender.run_once().failed == 1
    clock.advance(days=2)
    assert sender.run_once().claimed == 0
    assert len(_creates(twilio)) == 1
    (stored,) = _stored()
    assert stored.status == MessageStatus.FAILED
    assert stored.error_code == str(failure.code)
    assert stored.error


def test_an_unsubscribed_number_is_opted_out_here_too(app, clock, twilio, gateway):
    _queue(clock, "first", "second")
    twilio.fail_next(UNSUBSCRIBED)
    report = _sender(app, clock, gateway).run_once()
    assert (report.failed, report.sent) == (1, 0)
    assert db.session.get(OptOut, "+201012345678") is not None
    assert [m.status for m in _stored()] == [MessageStatus.FAILED, MessageStatus.SUPPRESSED]
    assert len(_creates(twilio)) == 1


def test_a_lost_answer_is_reconciled_not_sent_twice(app, clock, twilio, gateway):
    _queue(clock, "hello")
    twilio.fail_next(DROPPED)  # Twilio took it (or not): the connection died before the answer
    sender = _sender(app, clock, gateway)
    assert sender.run_once().in_doubt == 1
    (stored,) = _stored()
    assert stored.status == MessageStatus.SENDING
    clock.advance(minutes=5)  # past the lease
    report = sender.run_once()
    # The stand-in drops the connection before it creates the message: nothing at Twilio, so
    # the message is sent again in the same round, and recorded as a possible duplicate.
    assert (report.resent, report.sent) == (1, 1)
    (stored,) = _stored()
    assert (stored.status, stored.reconciled) == (MessageStatus.SENT, "resent")
    assert len(twilio.messages) == 1


def test_a_message_twilio_already_has_is_not_sent_again(app, clock, twilio, gateway):
    _queue(clock, "hello")
    sender = _sender(app, clock, gateway)
    # A worker that sent and died before recording: claimed, and at Twilio, but not recorded.
    (claimed,) = outbox.claim(db.session, clock.now(), "dead-worker", 1)
    from sms.gateways import OutgoingSms

    gateway.send(OutgoingSms(to=claimed.to, body=claimed.body))
    clock.advance(minutes=5)
    report = sender.run_once()
    assert (report.found_sent, report.resent, report.sent) == (1, 0, 0)
    (stored,) = _stored()
    assert (stored.status, stored.reconciled) == (MessageStatus.SENT, "found_sent")
    assert stored.provider_sid == twilio.messages[0]["sid"]
    assert len(twilio.messages) == 1


def test_the_rate_is_respected(app, clock, twilio, gateway):
    for n in range(12):  # twelve numbers: one number gets no more than its day's cap (8)
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=f"e{n}",
            to=f"+2010123456{n:02d}",
            locale="ar",
            body=f"message {n}",
        )
    db.session.commit()
    time = FakeTime()
    sender = _sender(app, clock, gateway, rate=4.0, time=time)
    sent = 0
    while sent < 12:
        report = sender.run_once()
        assert report.claimed > 0
        sent += report.sent
        clock.advance(seconds=1)  # the shared bucket (send_rates) refills by the domain clock
    # 12 sends at 4 per second: 11 gaps of a quarter second, never a burst.
    assert time.now - 1000.0 == pytest.approx(11 * 0.25)
    assert all(gap == pytest.approx(0.25) for gap in time.sleeps)
    assert len(twilio.messages) == 12


def test_most_urgent_first(app, clock):
    later, sooner = clock.now() + timedelta(days=2), clock.now() + timedelta(hours=1)
    for event, urgency in (("later", later), ("sooner", sooner)):
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=event,
            to="+201012345678",
            locale="ar",
            body=event,
            urgency=urgency,
        )
    db.session.commit()
    console = ConsoleGateway(stream=_Null())
    _sender(app, clock, console).run_once()
    assert [m.body for m in console.sent] == ["sooner", "later"]


class _Null:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_each_country_s_message_goes_from_its_sender_to_twilio(app, clock, twilio, gateway):
    """The worker, with senders per country, through the real client to the stand-in: Egypt's
    from its number, Saudi Arabia's from the registered name, the others through the Messaging
    Service; each request valid against Twilio's Messages API; and crash recovery looks for a
    message from the sender it went from."""
    from queue_app.settings import Settings
    from queue_app.worker.loop import sms_sender
    from tests.sms.openapi_contract import TwilioContract, spec_path

    service = "MG" + "0123456789abcdef" * 2
    settings = Settings.from_env(
        {
            "QUEUE_SMS_GATEWAY": "twilio",
            "TWILIO_FROM": SENDER,
            "QUEUE_SMS_SENDERS": f"EG=+201000000000,SA=GOVQUEUE,*={service}",
        }
    )
    for event, to in (("eg", "+201012345678"), ("sa", "+966501234567"), ("ae", "+971501234567")):
        outbox.enqueue(
            db.session, clock.now(), ticket=None, event=event, to=to, locale="ar", body=event
        )
    db.session.commit()
    worker = sms_sender(settings, db.engine, clock, gateway)
    worker.pace = Pace(100.0, sleep=lambda _: None, monotonic=lambda: 0.0)
    assert worker.run_once().sent == 3
    posts = {e.field("To"): e for e in twilio.exchanges if e.method == "POST"}
    assert {to: (e.field("From"), e.field("MessagingServiceSid")) for to, e in posts.items()} == {
        "+201012345678": ("+201000000000", None),
        "+966501234567": ("GOVQUEUE", None),
        "+971501234567": (None, service),
    }
    contract = TwilioContract(spec_path())
    for exchange in twilio.exchanges:
        contract.check_request(exchange)
        contract.check_response(exchange)

    # A worker that dies after sending a Saudi message: recovery asks Twilio for it from the
    # Saudi name (not TWILIO_FROM), finds it, and does not send it again.
    outbox.enqueue(
        db.session, clock.now(), ticket=None, event="sa2", to="+966501234567", locale="ar", body="x"
    )
    db.session.commit()
    (claimed,) = outbox.claim(db.session, clock.now(), "dead-worker", 1)
    assert gateway.send(
        OutgoingSms(to=claimed.to, body="x", sender=Sender("GOVQUEUE", SenderKind.NAME))
    ).ok
    clock.advance(minutes=5)
    report = worker.run_once()
    assert (report.found_sent, report.resent) == (1, 0)
    (lookup,) = [e for e in twilio.exchanges if e.method == "GET"]
    assert lookup.query.get("From") == ["GOVQUEUE"]
    contract.check_request(lookup)


def test_the_demo_started_again_keeps_sending(app, clock):
    """A second console worker (or the demo restarted on the same file) once counted its ids
    from "console-1" again: the unique id stopped its sending for good."""
    from queue_app.models import Message, MessageStatus

    for run in range(2):
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=f"run-{run}",
            to="+201012345678",
            locale="ar",
            body=f"run {run}",
        )
        db.session.commit()
        console = ConsoleGateway(stream=_Null())  # a fresh process: its count starts again
        report = _sender(app, clock, console).run_once()
        assert report.sent == 1
    statuses = db.session.scalars(select(Message.status)).all()
    assert statuses == [MessageStatus.SENT, MessageStatus.SENT]


def test_the_provider_down_for_an_hour_then_everything_once_most_urgent_first(
    app, clock, twilio, gateway
):
    """An hour without the provider while the office goes on writing messages: one probe per
    pause instead of a storm, no message given up or sent twice, and when it is back the most
    urgent go first (lane order), not whichever backed off least."""
    written: list[tuple[int, str]] = []  # (lane, body)

    def write(minute: int) -> None:
        for n, (event, lane) in enumerate(
            [("your_turn", 0), ("booked", 1), ("booked", 1)]
            + [(f"rescheduled:outage:{minute}", 2)] * 5
        ):
            body = f"{event} {minute}:{n}"
            outbox.enqueue(
                db.session,
                clock.now(),
                ticket=None,
                event=f"{event}:{minute}:{n}",
                to=f"+20101{minute:03d}{n:04d}",
                locale="en",
                body=body,
            )
            written.append((lane, body))
        db.session.commit()

    sender = _sender(app, clock, gateway)
    twilio.down = True
    for minute in range(60):
        if minute % 10 == 0:
            write(minute)
        for _ in range(6):  # rounds ten seconds apart
            sender.run_once()
            clock.advance(seconds=10)
    tries_while_down = len(_creates(twilio))
    # About one probe a minute once the pause has grown, never a batch at a time.
    assert tries_while_down <= 70, tries_while_down
    assert all(m.status == MessageStatus.QUEUED for m in _stored())

    twilio.down = False
    # Within one pause (at most a minute) the next probe finds the provider back.
    for _ in range(20):  # bounded: 48 messages at 1000 per second go in a round or two
        sender.run_once()
        if all(m.status == MessageStatus.SENT for m in _stored()):
            break
        clock.advance(seconds=10)
    sent = [m["body"] for m in twilio.messages]
    assert sorted(sent) == sorted(body for _, body in written)  # each once, none lost
    lanes = {body: lane for lane, body in written}
    assert [lanes[body] for body in sent] == sorted(lanes[body] for body in sent)
    assert all(m.status == MessageStatus.SENT for m in _stored())
