"""The rate of a sender on a channel, shared by every worker: a bounded token bucket in the
database, counted in messages against the settable clock (no timing)."""

from __future__ import annotations

import io
import threading

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from queue_app import outbox, send_rates
from queue_app.models import Message, MessageStatus, SendBucket
from queue_app.send_rates import RateKey
from queue_app.settings import Settings, SettingsError
from queue_app.web.extensions import db
from queue_app.worker.sending import Pace, SmsSender
from sms.gateways import ConsoleGateway

SENDER = RateKey("sms", "+201000000001")


def _queue(clock, n: int) -> None:
    for i in range(n):
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=f"e{i}",
            to=f"+2010{i:08d}",
            locale="ar",
            body=f"message {i}",
        )
    db.session.commit()


def _worker(name: str, gateway: ConsoleGateway, clock, key: RateKey, rate: float) -> SmsSender:
    # A worker of its own: its own sessions and connections, as another process has.
    sessions: sessionmaker[Session] = sessionmaker(bind=db.engine, expire_on_commit=False)
    return SmsSender(
        sessions,
        clock,
        gateway,
        rate=rate,
        name=name,
        rate_key=key,
        pace=Pace(rate, sleep=lambda _: None, monotonic=lambda: 0.0),
    )


def test_two_workers_of_one_sender_share_its_rate(app, clock):
    _queue(clock, 60)
    gateway = ConsoleGateway(io.StringIO())
    a = _worker("worker-a", gateway, clock, SENDER, rate=5.0)
    b = _worker("worker-b", gateway, clock, SENDER, rate=5.0)
    per_second = []
    by_worker = {"worker-a": 0, "worker-b": 0}
    for second in range(6):
        first, then = (a, b) if second % 2 == 0 else (b, a)
        sent = 0
        for worker in (first, then, first):  # each asks more than once within the second
            report = worker.run_once()
            sent += report.sent
            by_worker[worker.name] += report.sent
        per_second.append(sent)
        clock.advance(seconds=1)
    assert per_second == [5] * 6  # not 10: the two workers spend one budget
    assert by_worker == {"worker-a": 15, "worker-b": 15}
    assert len(gateway.sent) == 30
    queued = db.session.scalars(
        select(Message.id).where(Message.status == MessageStatus.QUEUED)
    ).all()
    assert len(queued) == 30


def test_two_senders_do_not_share_a_budget(app, clock):
    _queue(clock, 20)
    gateway = ConsoleGateway(io.StringIO())
    one = _worker("worker-a", gateway, clock, SENDER, rate=5.0)
    other = _worker("worker-b", gateway, clock, RateKey("sms", "MG0123"), rate=3.0)
    assert (one.run_once().sent, other.run_once().sent) == (5, 3)
    assert (one.run_once().sent, other.run_once().sent) == (0, 0)


def test_the_bucket_is_bounded(app, clock):
    session = db.session
    assert send_rates.take(session, clock.now(), SENDER, 4.0, 100) == 4  # a new bucket is full
    assert send_rates.take(session, clock.now(), SENDER, 4.0, 1) == 0
    clock.advance(hours=10)  # a quiet night does not become a morning burst
    assert send_rates.take(session, clock.now(), SENDER, 4.0, 100) == 4
    clock.advance(seconds=-30)  # a clock set back grants nothing
    assert send_rates.take(session, clock.now(), SENDER, 4.0, 100) == 0
    clock.advance(seconds=30.5)  # half a second after the last take: two messages' worth
    assert send_rates.take(session, clock.now(), SENDER, 4.0, 100) == 2
    send_rates.give_back(session, clock.now(), SENDER, 4.0, 50)  # never above one second's
    assert send_rates.take(session, clock.now(), SENDER, 4.0, 100) == 4
    (bucket,) = session.scalars(select(SendBucket)).all()
    assert 0.0 <= bucket.tokens <= 4.0
    assert send_rates.take(session, clock.now(), SENDER, 0.5, 3) == 0  # slower than 1/s: one
    assert send_rates.take(session, clock.now(), RateKey("sms", "slow"), 0.5, 3) == 1


def test_bad_rates_are_refused(app, clock):
    with pytest.raises(ValueError, match="above zero"):
        send_rates.take(db.session, clock.now(), SENDER, 0.0, 1)
    assert send_rates.take(db.session, clock.now(), SENDER, 5.0, 0) == 0


def test_workers_racing_for_one_bucket_take_no_more_than_it_holds(app, clock):
    url = db.engine.url.render_as_string(hide_password=False)
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    start = threading.Barrier(6)
    granted: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with Session(engine) as session:
            try:
                start.wait()
                for _ in range(3):
                    granted.append(send_rates.take(session, clock.now(), SENDER, 10.0, 1))
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    assert (len(granted), sum(granted)) == (18, 10)  # the clock stood still: one bucketful


def test_rates_per_sender_are_read_from_the_environment():
    settings = Settings.from_env(
        {"QUEUE_SMS_RATE": "10", "QUEUE_SMS_RATES": "sms:+201000000001=5, sms:MG0123=2.5"}
    )
    assert settings.rate_for("sms", "+201000000001") == 5.0
    assert settings.rate_for("sms", "MG0123") == 2.5
    assert settings.rate_for("sms", "+966500000000") == 10.0
    assert settings.rate_for("whatsapp", "+201000000001") == 10.0


@pytest.mark.parametrize("raw", ["sms:+2010=0", "sms=5", "+2010=5", "sms:+2010=fast", "sms:+2010"])
def test_a_bad_rate_setting_is_refused_by_name(raw):
    with pytest.raises(SettingsError, match="QUEUE_SMS_RATES"):
        Settings.from_env({"QUEUE_SMS_RATES": raw})


def test_the_worker_counts_against_its_configured_sender():
    settings = Settings.from_env(
        {
            "TWILIO_FROM": "QUEUE",
            "TWILIO_MESSAGING_SERVICE_SID": "MG1",
            "QUEUE_SMS_GATEWAY": "twilio",
        }
    )
    assert send_rates.sms_sender_of(settings) == RateKey("sms", "QUEUE")
    assert send_rates.sms_sender_of(Settings.from_env({})) == RateKey("sms", "console")


EGYPT = "+201000000001"  # the Egyptian sender's number
SAUDI = "GOVQUEUE"  # the Saudi sender's registered name


def _queue_to(clock, numbers: list[str]) -> None:
    for i, number in enumerate(numbers):
        outbox.enqueue(
            db.session,
            clock.now(),
            ticket=None,
            event=f"e{i}",
            to=number,
            locale="ar",
            body=f"message {i}",
        )
    db.session.commit()


def _routed_worker(settings: Settings, gateway: ConsoleGateway, clock) -> SmsSender:
    from queue_app.worker.loop import sms_sender

    worker = sms_sender(settings, db.engine, clock, gateway)
    worker.pace = Pace(worker.pace.rate, sleep=lambda _: None, monotonic=lambda: 0.0)
    return worker


def test_each_country_s_sender_spends_its_own_rate(app, clock):
    """Egypt's messages go from Egypt's number at its rate, Saudi Arabia's from the Saudi
    name at the name's, the others from the default: each sender's bucket, whichever number
    of messages the others have waiting."""
    settings = Settings.from_env(
        {
            "QUEUE_SMS_SENDERS": f"EG={EGYPT},SA={SAUDI},*=MG{'0' * 32}",
            "QUEUE_SMS_RATES": f"sms:{EGYPT}=5,sms:{SAUDI}=2,sms:MG{'0' * 32}=1",
        }
    )
    _queue_to(
        clock,
        [f"+2010{i:08d}" for i in range(20)]
        + [f"+96650{i:07d}" for i in range(20)]
        + [f"+97150{i:07d}" for i in range(20)],
    )
    gateway = ConsoleGateway(io.StringIO())
    worker = _routed_worker(settings, gateway, clock)
    per_second = []
    for _ in range(3):
        before = len(gateway.sent)
        for _ in range(3):  # more than once within the second: the buckets hold
            worker.run_once()
        sent = gateway.sent[before:]
        per_second.append(
            {
                sender: sum(1 for m in sent if m.sender and m.sender.value == sender)
                for sender in (EGYPT, SAUDI, f"MG{'0' * 32}")
            }
        )
        clock.advance(seconds=1)
    assert per_second == [{EGYPT: 5, SAUDI: 2, f"MG{'0' * 32}": 1}] * 3
    for message in gateway.sent:
        assert message.sender is not None
        expected = {"+20": EGYPT, "+966": SAUDI, "+971": f"MG{'0' * 32}"}
        prefix = next(p for p in expected if message.to.startswith(p))
        assert message.sender.value == expected[prefix], message.to
    buckets = set(db.session.scalars(select(SendBucket.sender)).all())
    assert buckets == {EGYPT, SAUDI, f"MG{'0' * 32}"}


def test_countries_that_share_a_sender_share_its_rate(app, clock):
    settings = Settings.from_env(
        {
            "QUEUE_SMS_SENDERS": f"EG={SAUDI},SA={SAUDI}",
            "QUEUE_SMS_RATES": f"sms:{SAUDI}=4",
            "QUEUE_SMS_RATE": "50",
        }
    )
    _queue_to(clock, [f"+2010{i:08d}" for i in range(10)] + [f"+96650{i:07d}" for i in range(10)])
    gateway = ConsoleGateway(io.StringIO())
    worker = _routed_worker(settings, gateway, clock)
    for _ in range(3):
        worker.run_once()
    assert len(gateway.sent) == 4  # not 8: one name, one budget, for both countries
    assert {m.sender.value for m in gateway.sent if m.sender} == {SAUDI}


def test_without_senders_per_country_the_worker_sends_as_before(app, clock):
    settings = Settings.from_env({"QUEUE_SMS_RATE": "3"})
    _queue_to(clock, [f"+2010{i:08d}" for i in range(10)])
    gateway = ConsoleGateway(io.StringIO())
    worker = _routed_worker(settings, gateway, clock)
    for _ in range(3):
        worker.run_once()
    assert len(gateway.sent) == 3
    assert all(m.sender is None for m in gateway.sent)  # the gateway's own sender
    assert db.session.scalars(select(SendBucket.sender)).all() == ["console"]


def test_the_estimate_s_rate_is_the_branch_country_s_sender_s():
    settings = Settings.from_env(
        {
            "TWILIO_FROM": "+15005550006",
            "QUEUE_SMS_SENDERS": f"SA={SAUDI}",
            "QUEUE_SMS_RATES": f"sms:{SAUDI}=2,sms:+15005550006=7",
        }
    )
    assert send_rates.sms_rate_of(settings, "SA") == 2.0
    assert send_rates.sms_rate_of(settings, "EG") == 7.0  # no sender of its own: TWILIO_FROM's
    assert send_rates.sms_rate_of(settings) == 7.0
