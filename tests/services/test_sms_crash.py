"""A worker killed with SIGKILL in the middle of a large batch, then started again: no message
is lost, and a message goes out twice only if it was in flight at the kill and is recorded so."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from queue_app import outbox
from queue_app.clock import SystemClock
from queue_app.models import Message, MessageStatus
from tests.conftest import DATABASES
from tests.sms.conftest import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.sms.twilio_server import FakeTwilio

MESSAGES = 600
RATE = 300  # per second: a batch is 100 messages, a third of a second of sending
WORKER = [sys.executable, "-c", "from queue_app.cli import main; main()", "worker"]


def _fill_outbox(url: str) -> None:
    engine = create_engine(url)
    now = SystemClock().now()
    with Session(engine) as session:
        for n in range(MESSAGES):
            # One number per message: reconciliation looks a message up by its recipient.
            outbox.enqueue(
                session,
                now,
                ticket=None,
                event=f"bulk-{n}",
                to=f"+2010{n:08d}",
                locale="ar",
                body=f"رسالة {n}",
            )
        session.commit()
    engine.dispose()


def _statuses(url: str) -> collections.Counter[str]:
    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.execute(select(Message.status, func.count()).group_by(Message.status))
        counted = collections.Counter({status.value: n for status, n in rows})
    engine.dispose()
    return counted


def _wait(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{log.read_text()}"
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_sigkill_mid_batch_loses_nothing_and_records_every_doubt(db_kind, migrated, tmp_path):
    url = migrated(db_kind)
    from queue_app.db import Base

    engine = create_engine(url)
    with engine.begin() as conn:  # this test does not use the app fixture: empty tables here
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "messages":
                conn.execute(table.delete())
    engine.dispose()
    _fill_outbox(url)

    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    env = {
        **os.environ,
        "QUEUE_DATABASE_URL": url,
        "QUEUE_INSTANCE_PATH": str(tmp_path),
        "QUEUE_SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_BASE": twilio.url,
        "QUEUE_SMS_RATE": str(RATE),
        "QUEUE_SMS_LEASE_SECONDS": "1",
        "QUEUE_PUBLIC_URL": "https://queue.example.gov.eg",
    }
    log = tmp_path / "worker.log"
    try:
        with log.open("w") as out:
            first = subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                # Kill it inside its second batch: well after it started, well before the end.
                _wait(lambda: len(twilio.messages) >= 150, 60, "the first sends", log)
            finally:
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=10)
            at_kill = _statuses(url)
            assert at_kill["sending"] > 0, f"the kill came between batches: {at_kill}"
            assert at_kill["queued"] > 0

            second = subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                _wait(lambda: _statuses(url)["sent"] == MESSAGES, 90, "every message sent", log)
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(timeout=15)
        assert second.returncode == 0, log.read_text()
    finally:
        twilio.stop()

    engine = create_engine(url)
    with Session(engine) as session:
        stored = list(session.scalars(select(Message)))
    engine.dispose()
    assert {m.status for m in stored} == {MessageStatus.SENT}
    delivered = collections.Counter(m["to"] for m in twilio.messages)
    assert set(delivered) == {m.to for m in stored}, "a message was lost"
    in_doubt = {m.to for m in stored if m.reconciled is not None}
    twice = {to for to, n in delivered.items() if n > 1}
    # A duplicate only where recovery could not tell, and then recorded as "resent".
    assert twice <= {m.to for m in stored if m.reconciled == "resent"}
    # Only messages in flight at the kill were in doubt: at most one batch.
    assert 0 < len(in_doubt) <= at_kill["sending"]
    # Each message's recorded id is the one Twilio has for it.
    sids = {m["sid"]: m["to"] for m in twilio.messages}
    assert all(sids[m.provider_sid] == m.to for m in stored)
