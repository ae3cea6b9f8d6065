"""``queue-app worker``: the background jobs of one process, each in a thread of its own.

The SMS sender; the health monitor (one leads among all workers) and the outages' timers
(reschedule after N minutes of outage, the evening notice); and the housekeeping that runs
every minute (appointments never checked in become no-shows, old idempotency keys go).
``demo`` runs the same threads beside its web server.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from queue_app import daily_cap, send_rates, texting
from queue_app.clock import Clock
from queue_app.settings import Settings
from queue_app.worker.health_monitor import HealthMonitor, Leadership
from queue_app.worker.housekeeping import housekeeping
from queue_app.worker.sending import SmsSender
from queue_app.worker.timers import outage_timers
from sms.gateways import Gateway, gateway_from_settings

log = logging.getLogger(__name__)


def gateway_for(settings: Settings) -> Gateway:
    """The gateway QUEUE_SMS_GATEWAY names. Raises ValueError for a bad name or missing
    Twilio settings."""
    return gateway_from_settings(
        settings.sms_gateway,
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        from_=settings.twilio_from,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        whatsapp_from=settings.twilio_whatsapp_from,
        api_base=settings.twilio_api_base,
    )


def sessions_for(settings: Settings, engine: Engine) -> sessionmaker[Session]:
    """The worker's sessions: they know the public URL that texts link to (``texting``)."""
    info: dict[object, object] = {}
    texting.set_public_url(info, settings.public_url)
    daily_cap.set_cap(info, settings.sms_daily_cap)
    texting.reply_rules_of(info, settings)
    return sessionmaker(bind=engine, expire_on_commit=False, info=info)


def sms_sender(
    settings: Settings, engine: Engine, clock: Clock, gateway: Gateway | None = None
) -> SmsSender:
    routes = send_rates.routes_of(settings)
    # The process paces its sends at all its senders' rates together; each sender's bucket
    # holds it to its own (send_rates).
    return SmsSender(
        sessions_for(settings, engine),
        clock,
        gateway or gateway_for(settings),
        rate=sum({route.key: route.rate for route in routes}.values()),
        routes=routes,
        status_callback_url=(
            f"{settings.public_url}/sms/twilio/status" if settings.sms_gateway == "twilio" else None
        ),
        lease=timedelta(seconds=settings.sms_lease_seconds),
        whatsapp_templates=settings.whatsapp_templates,
    )


def start(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    stop: threading.Event,
    gateway: Gateway | None = None,
) -> list[threading.Thread]:
    """Start the background jobs as daemon threads that end when ``stop`` is set."""
    sender = sms_sender(settings, engine, clock, gateway)
    sessions = sessions_for(settings, engine)
    monitor = HealthMonitor(
        sessions, clock, Leadership(engine, settings.instance_path / "health-monitor.lock")
    )
    threads = [
        threading.Thread(target=sender.run, args=(stop,), name="sms-sender", daemon=True),
        threading.Thread(
            target=housekeeping,
            args=(sessions, clock, stop, settings.retention_days),
            name="housekeeping",
            daemon=True,
        ),
        threading.Thread(target=monitor.run, args=(stop,), name="health-monitor", daemon=True),
        threading.Thread(
            target=outage_timers,
            args=(sessions, clock, stop),
            name="outage-timers",
            daemon=True,
        ),
    ]
    for thread in threads:
        thread.start()
    log.info("worker %s: sending SMS through %s", sender.name, settings.sms_gateway)
    return threads
