"""Personal data goes: after QUEUE_RETENTION_DAYS by the worker's housekeeping, or at once on a
citizen's request (`queue-app privacy erase`); the counts that statistics and outage records
need stay. Each test looks for the number in every column of every table afterwards."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import func, select

from queue_app import cli, privacy
from queue_app.db import Base
from queue_app.models import AuditEvent, InboundSms, Message, OptOut, Ticket, TicketEvent
from queue_app.models.messages import MessageStatus
from queue_app.web.extensions import db
from queue_app.worker.housekeeping import housekeeping_once

CITIZEN = "+201001234567"
OTHER = "+201009876543"
DIGITS = CITIZEN.removeprefix("+20")  # how the number would show inside any text
TICKETS = "/api/v1/branches/cairo-civil/tickets"


def _where_kept(digits: str) -> set[str]:
    """Every table.column in which ``digits`` appear, in any row."""
    found = set()
    for table in Base.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                if value is not None and digits in str(value):
                    found.add(f"{table.name}.{column}")
    return found


@pytest.fixture
def citizen_history(client, make_branch, make_token, clock):
    """Two citizens with a walk-in each (a text sent, a reply, a note typed at the counter)."""
    make_branch()
    kiosk = make_token("kiosk")
    made = {}
    for phone in (CITIZEN, OTHER):
        response = client.post(TICKETS, json={"service": "id-card", "phone": phone}, headers=kiosk)
        assert response.status_code == 201, response.get_data(as_text=True)
        ticket = db.session.scalars(select(Ticket).where(Ticket.phone == phone)).one()
        ticket.events.append(TicketEvent(at=clock.now(), event="hold", note=f"name: Mona {phone}"))
        db.session.add(
            InboundSms(
                provider_sid=f"SM{phone[-4:]}",
                phone=phone,
                body=f"1 from {phone}",
                received_at=clock.now(),
                ticket_id=ticket.id,
                understood_as="confirm",
            )
        )
        made[phone] = ticket.id
    db.session.execute(Message.__table__.update().values(status=MessageStatus.SENT))
    db.session.commit()
    assert _where_kept(DIGITS) >= {"tickets.phone", "messages.to", "inbound_sms.phone"}
    return made


def _counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Ticket, TicketEvent, Message, InboundSms)
    }


def test_nothing_is_erased_before_the_retention_has_passed(citizen_history, clock):
    clock.advance(days=89)
    assert privacy.erase_expired(db.session, clock.now(), 90).total == 0
    assert "tickets.phone" in _where_kept(DIGITS)


def test_after_the_retention_the_number_is_gone_from_every_table(citizen_history, clock):
    before = _counts()
    clock.advance(days=91)
    erased = privacy.erase_expired(db.session, clock.now(), 90)
    assert erased.tickets == 2
    assert erased.replies == 2
    assert erased.notes == 2
    assert erased.messages >= 2
    assert _where_kept(DIGITS) == set()
    assert _where_kept(OTHER.removeprefix("+20")) == set()
    assert _where_kept("Mona") == set()
    # The rows stay, for statistics and outage records; only their personal columns are blank.
    assert _counts() == before
    assert privacy.erase_expired(db.session, clock.now(), 90).total == 0  # nothing twice


def test_a_message_still_to_be_sent_is_not_blanked(citizen_history, clock):
    db.session.execute(Message.__table__.update().values(status=MessageStatus.QUEUED))
    db.session.commit()
    clock.advance(days=91)
    assert privacy.erase_expired(db.session, clock.now(), 90).messages == 0
    kept = _where_kept(DIGITS)
    assert "messages.to" in kept
    assert not {"tickets.phone", "inbound_sms.phone"} & kept


def test_a_number_that_said_stop_stays_on_the_stop_list(citizen_history, clock, erase_cli):
    """Erasing it would let us text someone who asked us not to."""
    db.session.add(OptOut(phone=CITIZEN, at=clock.now()))
    clock.advance(days=91)
    privacy.erase_expired(db.session, clock.now(), 90)
    assert erase_cli(CITIZEN, "--yes").exit_code == 0
    assert _where_kept(DIGITS) == {"sms_opt_outs.phone"}


def test_housekeeping_erases_hourly(citizen_history, clock):
    clock.advance(days=91)
    first = housekeeping_once(db.session, clock, retention_days=90)
    assert first["erased"] == 1
    assert first["personal_data_rows"] > 0
    soon = housekeeping_once(
        db.session, clock, retention_days=90, last_erased=clock.now() - timedelta(minutes=5)
    )
    assert "erased" not in soon
    assert _where_kept(DIGITS) == set()


def test_an_appointment_keeps_its_number_until_its_own_day_has_passed(client, make_branch, clock):
    make_branch()
    start = clock.now().replace(hour=10) + timedelta(days=7)
    booked = client.post(
        "/api/v1/branches/cairo-civil/appointments",
        json={"service": "id-card", "start": start.isoformat(), "phone": CITIZEN},
    )
    assert booked.status_code == 201, booked.get_data(as_text=True)
    clock.advance(days=3)
    assert privacy.erase_expired(db.session, clock.now(), 1).tickets == 0
    clock.advance(days=6)
    assert privacy.erase_expired(db.session, clock.now(), 1).tickets == 1


@pytest.fixture
def erase_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``queue-app privacy erase ...`` against the test's database, closing the command's
    own connections afterwards."""
    made: list[Flask] = []
    make_app = cli._app

    def recording_app(*args: Any, **kwargs: Any) -> Flask:
        made.append(make_app(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(cli, "_app", recording_app)

    def run(*args: str) -> Result:
        db.session.commit()  # the command is another connection: let it see the test's rows
        runner = CliRunner(
            env={
                "QUEUE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                "QUEUE_INSTANCE_PATH": str(tmp_path / "instance"),
            }
        )
        try:
            return runner.invoke(cli.main, ["privacy", "erase", *args])
        finally:
            while made:
                with made.pop().app_context():
                    db.engine.dispose()
            db.session.expire_all()

    return run


def test_one_citizen_erased_on_request(citizen_history, erase_cli):
    before = _counts()
    result = erase_cli("01001234567", "--country", "EG", "--yes")
    assert result.exit_code == 0, result.output
    assert "erased 1 ticket(s)" in result.output
    assert _where_kept(DIGITS) == set()
    assert "tickets.phone" in _where_kept(OTHER.removeprefix("+20"))  # the other citizen's stay
    assert _counts() == before
    recorded = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.erase"))
    assert [event.target_key for event in recorded] == ["+201*******67"]


def test_erasing_asks_first_and_refuses_a_bad_number(citizen_history, erase_cli):
    unconfirmed = erase_cli(CITIZEN)
    assert unconfirmed.exit_code == 2
    assert "needs a confirmation" in unconfirmed.output
    assert "tickets.phone" in _where_kept(DIGITS)
    bad = erase_cli("12345", "--yes")
    assert bad.exit_code == 2
    assert "--country" in bad.output
    assert "tickets.phone" in _where_kept(DIGITS)
    unknown = erase_cli("+201112223334", "--yes")
    assert unknown.exit_code == 0
    assert "nothing is kept" in unknown.output


def test_a_ticket_moved_to_a_later_time_keeps_its_number_until_then(citizen_history, clock):
    """Its own day is long past, but a move gave it a time still ahead: it will be texted."""
    ticket = db.session.get(Ticket, citizen_history[CITIZEN])
    ticket.slot_start = clock.now() + timedelta(days=95)
    ticket.slot_end = ticket.slot_start + timedelta(minutes=30)
    db.session.commit()
    clock.advance(days=91)
    privacy.erase_expired(db.session, clock.now(), 90)
    db.session.expire_all()
    assert db.session.get(Ticket, citizen_history[CITIZEN]).phone == CITIZEN
    assert db.session.get(Ticket, citizen_history[OTHER]).phone is None
