"""A worker killed (SIGKILL) in the middle of a mass reschedule, then started again: every
ticket is either moved with its one message or untouched, and the restart finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from queue_app import directory
from queue_app.db import Base
from queue_app.models import (
    Backend,
    BackendState,
    Branch,
    CapacityOverride,
    Counter,
    Message,
    Outage,
    Service,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from queue_app.models.outages import DetectedBy
from tests.conftest import DATABASES
from tests.helpers.outage_scene import open_all_day, waiting_ticket

TICKETS = 12_000  # three chunks of the rescheduler's 5,000 and a bit
WORKER = [sys.executable, "-c", "from queue_app.cli import main; main()", "worker"]


def _empty(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "directory_revision":
                conn.execute(table.delete())
    engine.dispose()


def _morning_zone(now: datetime) -> str:
    """A fixed-offset zone in which it is about 10:00 now. The worker runs on the real clock;
    in the branch's evening an open-ended outage also moves the next day's appointments (the
    evening notice), which would move the line a second time and make this test depend on the
    hour it runs at."""
    offset = (10 - now.hour + 12) % 24 - 12  # hours east of UTC, -12..+11
    # POSIX signs: Etc/GMT-3 is three hours east of UTC.
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _build(url: str) -> None:
    """One branch open all day every day, a service that needs a system now down for half an
    hour, and a long waiting line, written in bulk. It is mid-morning in the branch."""
    now = datetime.now(UTC)
    zone = _morning_zone(now)
    engine = create_engine(url)
    with Session(engine) as session:
        backend = Backend(
            code="civil-registry",
            name_ar="منظومة الأحوال المدنية",
            name_en="Civil registry",
            state=BackendState.DOWN,
            state_since=now - timedelta(minutes=30),
        )
        branch = Branch(
            code="crash-branch", name_ar="فرع", name_en="Branch", timezone=zone, country="EG"
        )
        branch.opening_hours = open_all_day()
        service = Service(
            code="id-card",
            letter="A",
            name_ar="بطاقة",
            name_en="ID card",
            avg_service_minutes=6,
            slot_minutes=30,
            backends=[backend],
        )
        branch.services = [service]
        branch.counters = [Counter(code="1", is_open=True, services=[service])]
        session.add_all([backend, branch])
        session.flush()
        session.add(
            Outage(
                backend_id=backend.id,
                started_at=now - timedelta(minutes=30),
                detected_by=DetectedBy.MANAGER,
                # An end known: with none, after the branch's evening notice (18:00 on the real
                # clock) the next day's appointments, these moved tickets, would move once more.
                expected_end=now + timedelta(hours=1),
            )
        )
        today = now.astimezone(ZoneInfo(zone)).date()
        session.add(
            CapacityOverride(
                service_id=service.id,
                first_day=today,
                last_day=today + timedelta(days=70),
                per_slot=400,
                created_at=now,
            )
        )
        session.execute(
            Ticket.__table__.insert(),
            [
                waiting_ticket(
                    branch.id,
                    service.id,
                    n + 1,
                    issued_at=now - timedelta(hours=2) + timedelta(seconds=n),
                    phone=f"+2010{n:08d}",
                )
                for n in range(TICKETS)
            ],
        )
        directory.mark_changed(session)
        session.commit()
    engine.dispose()


def _counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    with Session(engine) as session:
        moved = session.scalar(select(func.count()).where(Ticket.status == TicketStatus.SCHEDULED))
        texted = session.scalar(select(func.count()).select_from(Message))
        noted = session.scalar(select(func.count()).where(TicketEvent.event == "rescheduled"))
    engine.dispose()
    return moved, texted, noted


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", DATABASES, indirect=True)
def test_a_mass_reschedule_killed_midway_is_whole_and_finished_by_a_restart(
    db_kind, migrated, tmp_path: Path
):
    url = migrated(db_kind)
    _empty(url)
    _build(url)
    env = {
        **os.environ,
        "QUEUE_DATABASE_URL": url,
        "QUEUE_INSTANCE_PATH": str(tmp_path),
        "QUEUE_SMS_GATEWAY": "console",
        "QUEUE_SMS_RATE": "0.01",  # the sender all but idle: this test is about the moves
        "QUEUE_PUBLIC_URL": "https://q.example.gov.eg",
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        first = subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:  # kill it once the first chunk is in and before the last
                moved, _, _ = _counts(url)
                if 0 < moved < TICKETS:
                    break
                assert moved < TICKETS, "the whole move finished before the kill"
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.01)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        at_kill = _counts(url)
        # Whole chunks only: each moved ticket has its history line and its message.
        assert at_kill[0] == at_kill[1] == at_kill[2], at_kill
        assert at_kill[0] % 5000 == 0

        second = subprocess.Popen(WORKER, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while _counts(url)[0] < TICKETS:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    moved, texted, noted = _counts(url)
    assert (moved, texted, noted) == (TICKETS, TICKETS, TICKETS)
    engine = create_engine(url)
    with Session(engine) as session:
        per_ticket = session.execute(
            select(Message.ticket_id, func.count())
            .group_by(Message.ticket_id)
            .having(func.count() > 1)
        ).all()
        assert per_ticket == []  # nobody texted twice
        outage = session.scalar(select(Outage))
        assert outage.tickets_moved >= TICKETS - at_kill[0]
    engine.dispose()


@pytest.mark.parametrize("hour", range(24))
def test_the_branch_s_zone_puts_it_mid_morning_whatever_the_hour(hour: int) -> None:
    now = datetime(2026, 12, 4, hour, 17, tzinfo=UTC)
    local = now.astimezone(ZoneInfo(_morning_zone(now)))
    assert local.hour == 10
