"""Loading a config file that adds a holiday moves the bookings of that day, and texts them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from queue_app import appointments, migrate, texting
from queue_app.cli import main
from queue_app.clock import SystemClock
from queue_app.models import Message, Ticket, TicketStatus

CAIRO = ZoneInfo("Africa/Cairo")
CONFIG = """
branches:
  - code: every-day
    name: {{ar: "فرع", en: "Branch"}}
    timezone: Africa/Cairo
    country: EG
    hours: {{sun: ["08:00", "15:00"], mon: ["08:00", "15:00"], tue: ["08:00", "15:00"],
            wed: ["08:00", "15:00"], thu: ["08:00", "15:00"], fri: ["08:00", "15:00"],
            sat: ["08:00", "15:00"]}}
    holidays: {holidays}
    services:
      - {{code: id-card, letter: A, name: {{ar: "بطاقة", en: "ID card"}}, avg_service_minutes: 6,
         slot_minutes: 30}}
    counters:
      - {{code: "1", services: [id-card], open: true}}
"""


def test_a_new_holiday_moves_that_day_s_bookings(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    migrate.upgrade(url)
    env = {"QUEUE_DATABASE_URL": url, "QUEUE_PUBLIC_URL": "https://q.example.gov.eg"}
    config = tmp_path / "branches.yaml"
    config.write_text(CONFIG.format(holidays="[]"), encoding="utf-8")
    assert CliRunner().invoke(main, ["load", str(config)], env=env).exit_code == 0

    day = (datetime.now(CAIRO) + timedelta(days=3)).date()
    start = datetime.combine(day, datetime.min.time().replace(hour=10), tzinfo=CAIRO)
    engine = create_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        texting.set_public_url(session.info, "https://q.example.gov.eg")
        booked = appointments.book(
            session,
            SystemClock(),
            "every-day",
            "id-card",
            start=start,
            phone="01012345678",
        )
    config.write_text(CONFIG.format(holidays=f'["{day.isoformat()}"]'), encoding="utf-8")
    result = CliRunner().invoke(main, ["load", str(config)], env=env)
    assert result.exit_code == 0, result.output
    assert "1 booking(s) moved to later slots (1 texted)" in result.stdout

    with Session(engine) as session:
        ticket = session.scalar(select(Ticket).where(Ticket.token == booked.ticket.token))
        assert ticket.status == TicketStatus.SCHEDULED
        assert ticket.slot_start.astimezone(CAIRO).date() == day + timedelta(days=1)
        texts = session.scalars(select(Message.event).order_by(Message.id)).all()
    assert texts[0] == "booked"
    assert texts[1].startswith("rescheduled:config:")
    engine.dispose()
