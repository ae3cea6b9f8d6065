"""The outbox's send loop: claim due messages, send them at the configured rate, record why.

One ``SmsSender`` per worker process (``queue-app worker``, or a thread of ``queue-app demo``).
Several may run against one PostgreSQL database: claims skip each other's rows. The pace is real
time (``time.monotonic``), not the domain clock: the provider's rate limit is physical.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from queue_app import outbox, send_rates, whatsapp
from queue_app.clock import Clock
from queue_app.send_rates import RateKey, Route
from sms import whatsapp as whatsapp_rules
from sms.gateways import Channel, FailureKind, Gateway, OutgoingSms, ProviderUnavailable
from sms.senders import Sender

log = logging.getLogger(__name__)

# A claim older than this whose worker never recorded an outcome is taken for a dead worker's.
# A send takes seconds (the gateway's timeout is 10 s); a batch is one second of sending.
DEFAULT_LEASE = timedelta(minutes=2)
# Sends are recorded in groups of this many, or after this long, whichever comes first: one
# transaction per message would cost a third of the throughput. A crash leaves at most one group
# for reconciliation to find at the provider.
RECORD_EVERY = 50
RECORD_EVERY_S = 0.25
# How often queued messages to numbers that opted out since are marked suppressed.
SUPPRESS_EVERY_S = 30.0
# A temporary failure is the provider's, the network's or our account's, not the message's: the
# route (a channel's sender) pauses, then one message probes whether the provider is back; the
# pause doubles while it is not, up to the longest.
FIRST_PAUSE = timedelta(seconds=5)
LONGEST_PAUSE = timedelta(seconds=60)


@dataclass
class _Pause:
    """A route whose provider is failing: no claims until ``until``, then one probe at a time."""

    until: datetime
    step: timedelta


def worker_name() -> str:
    """Unique per process and start: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Pace:
    """At most ``rate`` sends per second, spread evenly rather than in bursts."""

    rate: float
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    _next: float = field(default=0.0, init=False)

    def wait(self) -> None:
        now = self.monotonic()
        if self._next > now:
            self.sleep(self._next - now)
            now = self._next
        self._next = max(now, self._next) + 1.0 / self.rate


@dataclass
class RoundReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    found_sent: int = 0
    resent: int = 0
    in_doubt: int = 0
    fell_back: int = 0  # WhatsApp messages switched to SMS
    opted_out: set[str] = field(default_factory=set)


class SmsSender:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        gateway: Gateway,
        *,
        rate: float,
        status_callback_url: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        name: str | None = None,
        pace: Pace | None = None,
        rate_key: RateKey | None = None,
        whatsapp_templates: whatsapp_rules.Templates | None = None,
        channel_rates: Mapping[str, tuple[RateKey, float]] | None = None,
        routes: Sequence[Route] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("the SMS rate must be above zero messages per second")
        self.session_factory = session_factory
        self.clock = clock
        self.gateway = gateway
        self.pace = pace or Pace(rate)
        # The budget shared with every other worker sending as the same sender (send_rates):
        # the pace spreads this process's sends, the bucket caps all processes together.
        # Each channel's messages spend their own sender's budget: ``rate_key`` is the SMS
        # sender's, ``channel_rates`` gives others (the WhatsApp sender) or overrides it.
        channel_rates = {
            Channel.SMS.value: (rate_key or RateKey(Channel.SMS.value, "default"), rate),
            Channel.WHATSAPP.value: (RateKey(Channel.WHATSAPP.value, "default"), rate),
            **(channel_rates or {}),
        }
        # ``routes`` (send_rates.routes_of) split a channel by the destination's country, each
        # part sent from its own sender and spending that sender's budget; without them, one
        # route per channel from the gateway's own sender.
        self.routes: list[Route] = (
            list(routes)
            if routes is not None
            else [Route(key, key_rate) for key, key_rate in channel_rates.values()]
        )
        # One second of sending per claim: small enough that no claim outlives its lease.
        self.batch = max(1, min(100, round(rate)))
        self.status_callback_url = status_callback_url
        self.lease = lease
        self.name = name or worker_name()
        self.whatsapp_templates = whatsapp_templates or whatsapp_rules.Templates()
        self._unrecorded: list[tuple[outbox.Outgoing, str | None]] = []
        self._flushed_at = time.monotonic()
        self._next_suppress = 0.0
        self._paused: dict[RateKey, _Pause] = {}

    def run_once(self) -> RoundReport:
        """Reconcile dead workers' claims, then claim and send one batch."""
        report = RoundReport()
        down: set[RateKey] = set()
        session = self.session_factory()
        try:
            self._reconcile(session, report)
            if time.monotonic() >= self._next_suppress:
                outbox.suppress_opted_out(session)
                self._next_suppress = time.monotonic() + SUPPRESS_EVERY_S
            claimed = self._claim(session)
            report.claimed = len(claimed)
            for message, route in claimed:
                if message.to in report.opted_out:  # unsubscribed earlier in this batch
                    outbox.record_suppressed(session, message, self.name)
                    continue
                if route.key in down:
                    # The provider failed this round: the rest wait, in their order, unsent.
                    outbox.release(session, message, self.name)
                    continue
                if not self._send(session, message, route, report):
                    down.add(route.key)
        finally:
            try:
                self._record_sent(session)
            finally:
                session.close()
        return report

    def _claim(self, session: Session) -> list[tuple[outbox.Outgoing, Route]]:
        """Claim, route by route (a channel's messages from one sender), as many due messages
        as its sender's shared bucket allows now (each in lane order, ``outbox.claim``)."""
        now = self.clock.now()
        claimed: list[tuple[outbox.Outgoing, Route]] = []
        for route in self.routes:
            key, rate, where = route.key, route.rate, route.where()
            pause = self._paused.get(key)
            if pause is not None and now < pause.until:
                continue  # its provider is failing: nothing is claimed, nothing spends a try
            if not outbox.has_due(session, now, key.channel, where):
                continue  # an empty outbox costs a read per route, and no bucket lock
            # After a pause, one message (the most urgent) asks whether the provider is back.
            batch = 1 if pause is not None else max(1, min(100, round(rate)))
            allowed = send_rates.take(session, now, key, rate, batch)
            if allowed == 0:
                continue
            mine = outbox.claim(session, now, self.name, allowed, channel=key.channel, where=where)
            send_rates.give_back(session, now, key, rate, allowed - len(mine))
            claimed += [(message, route) for message in mine]
        return claimed

    def _route_of(self, message: outbox.Outgoing) -> Route | None:
        """The route a claimed message went by (its channel's route covering its number)."""
        return next(
            (r for r in self.routes if r.key.channel == message.channel and r.covers(message.to)),
            None,
        )

    def _record_sent(self, session: Session) -> None:
        outbox.record_sent_many(session, self.clock.now(), self._unrecorded, self.name)
        self._unrecorded = []
        self._flushed_at = time.monotonic()

    def run(self, stop: threading.Event, idle_wait: float = 0.1) -> None:
        """Send until ``stop`` is set; between empty rounds wait ``idle_wait`` seconds."""
        log.info("SMS sender %s started at %.1f messages/s", self.name, self.pace.rate)
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:  # a database restart must not end the worker
                log.exception("SMS round failed; trying again shortly")
                stop.wait(5)
                continue
            if report.claimed == 0:
                stop.wait(idle_wait)

    def _outgoing(
        self, session: Session, message: outbox.Outgoing, sender: Sender | None
    ) -> OutgoingSms | None:
        """The message as it goes from ``sender``: SMS, or WhatsApp free text or template
        (None: WhatsApp needs a template this deployment has not registered)."""
        if message.channel != Channel.WHATSAPP:
            return OutgoingSms(
                to=message.to,
                body=message.body,
                status_callback=self.status_callback_url,
                sender=sender,
            )
        return whatsapp_rules.compose(
            to=message.to,
            body=message.body,
            locale=message.locale,
            kind=whatsapp_rules.message_kind(message.event),
            last_inbound=whatsapp.last_inbound(session, message.to),
            now=self.clock.now(),
            templates=self.whatsapp_templates,
            status_callback=self.status_callback_url,
            sender=sender,
        )

    def _fall_back(
        self, session: Session, message: outbox.Outgoing, report: RoundReport, reason: str, why: str
    ) -> None:
        self._record_sent(session)  # the batch's sends first: they are committed in order
        if whatsapp.fall_back(
            session, self.clock.now(), message.id, worker=self.name, reason=reason, error=why
        ):
            report.fell_back += 1

    def _send(
        self,
        session: Session,
        message: outbox.Outgoing,
        route: Route,
        report: RoundReport,
    ) -> bool:
        """Send one message by ``route`` and record what became of it. False when the provider
        failed (a temporary failure): the route is paused."""
        outgoing = self._outgoing(session, message, route.sender)
        if outgoing is None:
            self._fall_back(session, message, report, "no_template", "no WhatsApp template")
            return True
        self.pace.wait()
        result = self.gateway.send(outgoing)
        now = self.clock.now()
        code = str(result.error_code) if result.error_code is not None else None
        if not result.ok and result.falls_back and message.channel == Channel.WHATSAPP:
            why = result.error or "WhatsApp refused it"
            self._fall_back(session, message, report, code or "no_sender", why)
        elif result.ok:
            if self._paused.pop(route.key, None) is not None:
                log.info("%s: the provider answers again; sending resumes", route.key)
            self._unrecorded.append((message, result.sid))
            report.sent += 1
            if (
                len(self._unrecorded) >= RECORD_EVERY
                or time.monotonic() - self._flushed_at >= RECORD_EVERY_S
                # WhatsApp's refusals come back as status callbacks, within a second: the sid
                # must be stored by then for the callback to find the message and fall back.
                or message.channel == Channel.WHATSAPP
            ):
                self._record_sent(session)
        elif result.may_have_been_sent:
            # The request went out and the answer was lost: the provider may have the message.
            # It stays claimed; once its lease runs out, reconciliation asks before resending.
            log.warning(
                "message %s: answer lost (%s); left for reconciliation", message.id, result.error
            )
            report.in_doubt += 1
        elif result.failure == FailureKind.TEMPORARY:
            retry_after = (
                timedelta(seconds=result.retry_after) if result.retry_after is not None else None
            )
            error = result.error or "temporary failure"
            pause = self._paused.get(route.key)
            if pause is None:
                # The first failure: this message backs off (and is given up after too many,
                # should it be the one at fault); the route pauses.
                outbox.record_temporary_failure(
                    session,
                    now,
                    message,
                    self.name,
                    code=code,
                    error=error,
                    retry_after=retry_after,
                )
                step = FIRST_PAUSE
                log.warning("%s: the provider fails (%s); pausing this route", route.key, error)
            else:
                # A probe: the provider is still down. The message keeps its place and its
                # tries; the pause grows.
                outbox.record_provider_down(
                    session, now, message, self.name, code=code, error=error
                )
                step = min(pause.step * 2, LONGEST_PAUSE)
            self._paused[route.key] = _Pause(until=now + max(step, retry_after or step), step=step)
            report.retried += 1
            self._record_sent(session)
            return False
        else:
            outbox.record_permanent_failure(
                session, message, self.name, code=code, error=result.error or "refused"
            )
            if result.opted_out:  # the provider knows the number unsubscribed: so do we
                outbox.opt_out(session, now, message.to)
                session.commit()
                report.opted_out.add(message.to)
            report.failed += 1
        return True

    def _reconcile(self, session: Session, report: RoundReport) -> None:
        """A message whose worker died between claiming and recording may or may not have gone
        out. Ask the provider; send it again only when it has no trace of it."""
        now = self.clock.now()
        for message in outbox.stale_claims(session, now, self.lease):
            if not outbox.take_over(session, now, message, self.name):
                continue  # another worker is reconciling it
            route = self._route_of(message)
            try:
                sid = self.gateway.find_sent(
                    message.to,
                    message.body,
                    since=message.claimed_at,
                    channel=Channel(message.channel),
                    sender=route.sender if route is not None else None,
                )
            except ProviderUnavailable as exc:
                # Unknown is not "not sent": leave it claimed, ask again after the lease.
                log.warning("message %s: provider cannot tell if it was sent (%s)", message.id, exc)
                continue
            if sid is not None:
                outbox.record_found_sent(session, now, message, self.name, sid)
                report.found_sent += 1
                log.warning(
                    "message %s was sent before a crash (%s); not sent again", message.id, sid
                )
            else:
                outbox.record_resend(session, now, message, self.name)
                report.resent += 1
                log.warning(
                    "message %s: no trace at the provider after a crash; sending again", message.id
                )
