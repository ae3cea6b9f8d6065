"""What `queue-app demo` adds: a clock moved into office hours, fresh tokens, a banner."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from queue_app import access
from queue_app.clock import ShiftedClock
from queue_app.demo import mode as demo_mode
from queue_app.models import ApiToken
from queue_app.settings import Settings
from queue_app.web.extensions import db


def test_no_shift_while_the_demo_office_is_open(make_branch, clock):
    make_branch()  # cairo-civil, open Tuesday 10:00
    assert demo_mode.offset_to_office_hours(db.session, clock.now()) is None


def test_shift_lands_an_hour_into_the_next_opening(make_branch):
    make_branch()
    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # 22:00 in Cairo, Friday
    offset = demo_mode.offset_to_office_hours(db.session, friday_night)
    # Sunday 08:00 Cairo (06:00 UTC) plus an hour.
    assert friday_night + offset == datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    assert offset > timedelta(0)


def test_fresh_tokens_revoke_the_previous_demo_tokens(make_branch, clock):
    make_branch()
    first = demo_mode.fresh_tokens(db.session, clock)
    second = demo_mode.fresh_tokens(db.session, clock)
    assert set(first) == {"kiosk", "staff", "manager", "admin"}
    assert access.authenticate(db.session, clock, f"Bearer {second['staff']}").role == "staff"
    revoked = db.session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_not(None))).all()
    assert len(revoked) == 4
    stored = {t.token_hash for t in db.session.scalars(select(ApiToken))}
    assert access.hash_token(first["kiosk"]) in stored
    assert first["kiosk"] not in stored  # only hashes are kept


def test_banner_names_the_urls_and_tokens(tmp_path):
    settings = Settings(database_url="sqlite://", secret_key="x", instance_path=tmp_path)
    tokens = {"kiosk": "k-token", "staff": "s", "manager": "m", "admin": "a"}
    text = demo_mode.banner(
        settings,
        "127.0.0.1",
        8123,
        tokens,
        ShiftedClock(timedelta(hours=3)),
        kiosk_code="1234 5678",
    )
    assert "http://127.0.0.1:8123/display/cairo-civil" in text
    assert "http://127.0.0.1:8123/join/cairo-civil" in text  # the demo branch takes joins
    assert "http://127.0.0.1:8123/kiosk/cairo-civil   (enrolment code: 1234 5678)" in text
    assert "Bearer k-token" in text
    assert "moved into office hours" in text


def test_the_demo_worker_shows_whatsapp_messages_on_the_console(app, clock, tmp_path):
    """The demo has no approved WhatsApp templates: its worker uses stand-in ones, so that a
    WhatsApp ticket's message shows on the console as WhatsApp instead of falling back to SMS;
    a deployment's own templates are kept."""
    import io

    from queue_app import outbox
    from queue_app.models import Message
    from queue_app.worker.loop import sms_sender
    from sms.gateways import ConsoleGateway
    from sms.whatsapp import Templates

    settings = Settings.from_env({"QUEUE_INSTANCE_PATH": str(tmp_path)})
    worker_settings = demo_mode.worker_settings(settings)
    assert worker_settings.sms_gateway == "console"
    outbox.enqueue(
        db.session,
        clock.now(),
        ticket=None,
        event="issued",
        to="+201012345678",
        channel="whatsapp",
        locale="ar",
        body="رقمك A-012",
    )
    db.session.commit()
    printed = io.StringIO()
    worker = sms_sender(worker_settings, db.engine, clock, ConsoleGateway(printed))
    assert worker.run_once().sent == 1
    assert re.match(r"--- WhatsApp console-\S+ to whatsapp:\+201012345678 ", printed.getvalue())
    assert "رقمك A-012" in printed.getvalue()
    db.session.expire_all()
    assert db.session.scalar(select(Message.channel)) == "whatsapp"  # no fallback

    own = Templates.from_mapping({"default": {"ar": "HX" + "1" * 32}})
    kept = demo_mode.worker_settings(dataclasses.replace(settings, whatsapp_templates=own))
    assert kept.whatsapp_templates == own
