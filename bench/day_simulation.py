"""A day of the Egyptian civil registry's outage, with this system and with a plain queue.

The case (../shared/context): citizens arrive from 08:00 to renew an ID card or get a birth
certificate; the central civil-registry system is down from 08:30 to 12:30; with a plain queue
nobody is told anything and people stand in line for hours. This bench reports the citizen-hours
spent on site (the sum over citizens of the time inside the office, every visit counted) in two
scenarios built from the same seeded citizens:

- **plain queue** (the baseline): a FIFO line per service letter and the same counters, simulated
  in plain Python. While the system is down no civil-registry transaction can be done and nobody
  is told anything, so everyone waits; service resumes at 12:30. At 15:00 whoever is still
  waiting goes home and comes back the next working day at 08:00 to queue again.
- **this system**: the real domain (``queue_app``) on a real database, driven with a
  ``FixedClock`` moved event by event: walk-in tickets and check-ins through the kiosk's calls,
  counters through ``counters.call_next`` / ``mark_done``, the health monitor's checks through
  ``outages.record_check`` (hysteresis included), the worker's ``outage_moves.run_timers`` every
  minute, bookings through ``appointments.earliest_slot`` and ``appointments.book``. What the
  citizens do is decided by this script from what the domain wrote (the ticket's state, its new
  slot, the SMS in the outbox); what the domain does is not simulated.

The target of the issue: at least 90 % fewer citizen-hours on site with this system.

    python -m bench.day_simulation [--db sqlite|postgresql] [--seed N] [--runs K]
                                   [--office big|one-shared|two-shared|six]
                                   [--arrivals normal|crowd] [--crowd-share 0.4] [--days N]
                                   [--outage-end HH:MM|none] [--announce-end]
                                   [--rates 60,50,25] [--counters C] [--walk-in-percent 50]
                                   [--phone-share 0.8] [--baseline-patience MIN]
                                   [--offer-accept 0.7] [--history 20]
                                   [--wait-anywhere] [--leave-if-wait 45] [--late-grace 15]
                                   [--plot docs/day_simulation.png] [--json out.json]
    python -m bench.day_simulation --matrix [--announce-end] [--outage-end ...] [--offer-accept P]
                                   [--plot docs/day_simulation_matrix.png] [--json rows.json]

``--runs K`` also runs seeds N+1 .. N+K-1 and prints one line per seed (the table, the plot and
the detailed figures of the JSON are seed N's). ``--matrix`` runs every office preset with both
arrival patterns, with no later days and with 3, for one seed, and prints one markdown line per
scenario (``--plot``: the citizen-hours ratio and the mean delay per scenario).

The harder days (issue 13), each an option; with none of them the run is the one above:

- ``--office``: ``big`` (the default below: 4 counters each serving all 3 services, 60/50/25
  per hour), ``one-shared`` (1 counter serving all 3; 15/12.5/6.25 per hour), ``two-shared``
  (2 counters each serving all 3; 30/25/12.5), ``six`` (6 dedicated-ish counters: 4 ID card,
  1 birth certificate, 1 birth certificate and inquiries; 90/75/37.5). Every preset gets about
  15, 12.5 and 6.25 citizens per hour per counter: some 87 % of its counter time on a normal
  day, with a morning line that drains in the afternoon. ``--rates`` and ``--counters`` (every
  counter serving everything) override the preset.
- ``--arrivals crowd``: ``--crowd-share`` (40 %) of the day's expected citizens arrive between
  06:30 and 08:00 (a Poisson process) and wait at the door, as in the first report; the rest
  come as on a normal day, the rates scaled down by the same share, so the day's expected
  demand is unchanged. Their time at the door counts as time on site, in every scenario.
- ``--days N``: the N working days after the outage day each have citizens of their own, drawn
  like the outage day's (same office, same arrival pattern, a random stream per day), in every
  scenario, the normal-day yardstick included. The figures then include what moves onto those
  days cost their own citizens.
- ``--history N`` (default 20): the N working days before the outage day each had citizens
  drawn as a normal day's, all served that day: they are in the database before the run, as
  in an office that has run for weeks, so a shared counter's time is split by each service's
  demand (``queue_app.service_demand``), the usual walk-ins per time of day are known
  (``slots.usual_walk_ins``) and the measured pace starts from them. 0: a new office.
- ``--wait-anywhere``: the branch issues walk-in tickets from 90 minutes before opening
  (``early_tickets_minutes``) and texts a waiting ticket once when its estimated wait falls to
  30 minutes (``turn_near_minutes``); both are off by default in the product. A citizen with a
  phone whose ticket shows a wait of ``--leave-if-wait`` minutes (45) or more leaves the hall
  3 minutes later and comes back when texted (reading it within 3 minutes, then 5 to 20
  minutes on the way), or, with no text by then, a quarter of an hour before the time the
  kiosk showed. A counter that calls a citizen who is not back waits for them (counted as
  "called while away"). Without a phone, or with a shorter wait, they stay, as before.
- ``--late-grace M`` (with ``--wait-anywhere``; default 0): the branch's ``late_grace_minutes``.
  A citizen away when called reads the "called" text within 3 minutes and is 5 to 20 minutes on
  the way (with any value). With 0 the counter waits for them; with M it marks them missed
  after 3 minutes and calls the next, and they come back within M minutes to be called after
  the next one (``counters.came_back``), or later take a new ticket.
- ``--outage-end HH:MM``: when the system really comes back (default 12:30); ``none``: not on
  the outage day (back at 07:00 the next working day, before opening). With
  ``--announce-end`` a manager gives the true end (``outages.declare`` with
  ``expected_minutes``) a minute after the monitor opened the outage; by default no end is
  given, as when the central system fails without a word.

Per run, beside the citizen-hours: recovery offers made, texted and accepted, citizens served
on the outage day, tickets texted twice in one day (two new times whose texts leave on the same
local day; also counted over every outage text but the offer), the delay until served (from a
citizen's first arrival to the call at which they were served, in hours, nights and weekends
included: mean and p90), trips to the office per citizen, the citizens affected (of a service
needing the system and on site while it was down, or refused by the paused kiosk, or whose
ticket the outage moved), how many of them were placed (a slot held for them: booked at the
kiosk or moved) or told (an SMS other than ``issued``, or, without a phone, a time shown at the
kiosk or on the board), and the wait each ticket showed at issue or check-in against its call
(tickets called in that same visit only: the ones the outage moved are not in it).

PostgreSQL: the public schema of ``QUEUE_BENCH_DATABASE_URL`` is dropped and recreated (by
default ``postgresql://postgres@127.0.0.1:5432/bench_sim``; the database ``test`` is refused).

Assumptions (each one is an option where it is a number; bench/README.md discusses them):

The office. One branch like the demo's Nasr City civil registry: Africa/Cairo, Sunday-Thursday
08:00-15:00, ``reschedule_after_minutes`` 20, ``walk_in_percent`` 50 (the default), 4 counters
that each serve every service. Services: ``id-card`` (6 min on average, 60 % of citizens) and
``birth-cert`` (5 min, 30 %) need the civil-registry system and have no manual fallback (the
report: "cannot be done by hand any more"); ``inquiries`` (3 min, 10 %) needs no system and goes
on during the outage in both scenarios. Service times are drawn once per citizen, lognormal
with the service's mean and sigma 0.5, and are the same in both scenarios.

The day. Wednesday 25 November 2026 (the report's outage was on a Wednesday); the next working
day is Thursday. Arrivals are a seeded Poisson process from 08:00: 60/h until 10:00, 50/h until
12:00, 25/h until 14:00, none after (``--rates``). That is about 270 citizens against about 310
that 4 counters can serve in 7 hours: a busy but feasible day, whose morning line drains in the
afternoon. (The issue's "~100/hour" would be 2.3 times what 4 counters serve: the line would
grow all day without any outage; ``--rates 100,100,40`` runs that case.) 80 % of citizens give a
mobile number (``--phone-share``).

The outage. The system fails at 08:30:00 and is back at 12:30:00, with no expected end given.
The monitor checks every 5 s: failures at 08:30:05, :10 and :15 take it down (threshold 3);
one good check at 10:30:00 (the system "on and off") is followed by a failure, so it stays one
outage; good checks at 12:30:05 and :10 bring it back (threshold 2). A counter that comes free
in the 15 s between the real failure and its detection waits for the pause instead of calling
a civil-registry ticket it could not serve. Transactions begun before 08:30 are completed.

The citizens, with this system:
- Before the outage is detected and after it ends: a walk-in ticket at the kiosk, then waiting
  until called.
- Arriving while the service is paused: the kiosk refuses the ticket (``ServicePaused``) and
  offers the earliest free slot. With a phone they book it (``appointments.book``, an SMS) and
  leave after 3 minutes at the kiosk (``--kiosk-minutes``). Without a phone they cannot book:
  the kiosk books by text message only. They leave after the same 3 minutes, having read the
  time the kiosk offered, and come back then to take a walk-in ticket. When the kiosk finds no
  free slot to offer, they leave after 3 minutes and come back at 08:00 the next working day.
- Waiting in line when the timers move the line (20 minutes after the outage was detected:
  08:50:15): with a phone they leave 5 minutes after the SMS is written to the outbox
  (``--sms-read-minutes``), without one 15 minutes after the move (``--no-phone-leave-minutes``),
  having seen the paused service and their new time on the display board or their ticket's
  page. Until the move they wait on site, as they do in the baseline.
- Coming back: up to 10 minutes before their slot (or the time they were offered, or 08:00),
  drawn per citizen and visit (``--early-minutes``); ``tickets.check_in`` for a booking, a walk-in
  ticket otherwise. The kiosk issues no walk-in ticket before 08:00, so early comers take theirs
  at 08:00 in the order they came.
- The worker's timers run every minute while the outage lasts and after it until closing on
  the day it ends, so the engine makes its recovery offers (``recovery.make_offers``, from the
  first run after the end while the office is open) to the citizens the line's move sent to a
  later day. A citizen with a phone reads the offer's SMS after ``--sms-read-minutes`` and takes
  it with probability ``--offer-accept`` (0.7; a seeded draw per citizen) through
  ``recovery.accept``, then comes back for the time today it gives, as for any booking
  (``--early-minutes`` before it, ``tickets.check_in``). One who declines keeps the later time.
  Citizens without a phone do not see offers (the engine marks their ticket offered but sends
  nothing, and the bench assumes they do not look at the ticket's page): they keep their time.
  The citizens booked at the paused kiosk are not offered anything: the engine offers only
  tickets the outage moved (a "rescheduled" event with its cause).
- A ticket the timers find no time for (``no_slot_yet``: told that it stays valid in the line
  and that a time will be texted) keeps its citizen in line on site; if a later round places it
  (the timers look again every 5 minutes) its "rescheduled" event is followed like any move.
- At 15:00 the counters stop calling; whoever still waits gives up their ticket
  (``tickets.cancel``) and comes back at 08:00 the next working day for a walk-in ticket, as in
  the baseline. Apart from these, nobody leaves before being called.

The citizens, with the plain queue: the same arrivals, services, phones (unused) and service
times; they all wait until served or until 15:00 (``--baseline-patience M`` lets those whose
transaction cannot be done give up after M minutes of the outage and come back the next working
day, for a baseline kinder than the report). Those sent home by the closing come back at 08:00
the next working day, up to 10 minutes early, with the same draws as with this system.

Both scenarios simulate the following working days only for those who come back (no new
arrivals on later days unless ``--days``), until everyone is served. A "normal day" run (the
plain queue with no outage) is reported beside them as a yardstick. Travel to the office and
back is not counted: only time on site. Each citizen who was moved or booked makes a second
trip with this system, and each one sent home at 15:00 makes one in the baseline; both counts
are reported.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import os
import random
import sys
import tempfile
import time as wall_time
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.orm import Session

from queue_app import (
    access,
    appointments,
    counters,
    directory,
    migrate,
    outage_moves,
    outages,
    pace,
    recovery,
    texting,
    tickets,
    turn_near,
)
from queue_app.clock import FixedClock
from queue_app.errors import ServiceClosed, ServicePaused, StateConflict, TooEarly, TooLate
from queue_app.models import (
    Backend,
    Branch,
    Counter,
    Message,
    OpeningHours,
    Outage,
    Service,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketStatus,
)
from queue_app.settings import normalise_database_url

BRANCH = "cairo-civil"
ZONE = ZoneInfo("Africa/Cairo")
SUN_TO_THU = (6, 0, 1, 2, 3)  # date.weekday() of Sunday..Thursday
OPENS, CLOSES = time(8), time(15)
# ``--late-grace``: how long a counter waits for a called citizen who is away (a recall or two)
# before it marks them missed and calls the next.
NO_SHOW_AFTER_MINUTES = 3
NO_SHOW_AFTER = timedelta(minutes=NO_SHOW_AFTER_MINUTES)
PUBLIC_URL = "https://queue.example.eg"
DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/bench_sim"
TARGET_REDUCTION = 90.0
SERVICE_TIME_SIGMA = 0.5
CHECK_INTERVAL_S = 5
FAILURE_THRESHOLD = 3
RECOVERY_THRESHOLD = 2
MAX_DAYS = 30


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    letter: str
    name_ar: str
    name_en: str
    minutes: float
    share: float
    needs_registry: bool


SERVICES = (
    ServiceSpec("id-card", "A", "بطاقة الرقم القومي", "National ID card", 6.0, 0.6, True),
    ServiceSpec("birth-cert", "B", "شهادة ميلاد", "Birth certificate", 5.0, 0.3, True),
    ServiceSpec("inquiries", "C", "الاستعلامات", "Inquiries", 3.0, 0.1, False),
)
EVERY_SERVICE = tuple(spec.code for spec in SERVICES)


@dataclass(frozen=True)
class Office:
    """A preset office shape: what each counter serves and the arrival rates that keep it busy
    but not hopeless on a normal day (about 15, 12.5 and 6.25 citizens per hour per counter:
    some 87 % of its counter time, with a morning line that drains in the afternoon)."""

    label: str
    layout: tuple[tuple[str, ...], ...]  # per counter, the codes of the services it serves
    rates: tuple[float, float, float]  # per hour: 08-10, 10-12, 12-14


OFFICES = {
    "big": Office(
        "big office, 4 counters each serving all 3 services",
        (EVERY_SERVICE,) * 4,
        (60.0, 50.0, 25.0),
    ),
    "one-shared": Office("one counter shared by 3 services", (EVERY_SERVICE,), (15.0, 12.5, 6.25)),
    "two-shared": Office(
        "two counters, each serving all 3 services", (EVERY_SERVICE,) * 2, (30.0, 25.0, 12.5)
    ),
    "six": Office(
        "six counters, dedicated: 4 ID card, 1 birth certificate, 1 birth certificate + inquiries",
        (("id-card",),) * 4 + (("birth-cert",), ("birth-cert", "inquiries")),
        (90.0, 75.0, 37.5),
    ),
}
ARRIVALS = ("normal", "crowd")


@dataclass(frozen=True)
class Options:
    seed: int = 1
    day1: date = date(2026, 11, 25)
    rates: tuple[float, float, float] = (60.0, 50.0, 25.0)  # per hour: 08-10, 10-12, 12-14
    counters: int = 4
    phone_share: float = 0.8
    outage_start: time = time(8, 30)
    outage_end: time | None = time(12, 30)
    kiosk_minutes: float = 3.0
    sms_read_minutes: float = 5.0
    no_phone_leave_minutes: float = 15.0
    early_minutes: float = 10.0
    baseline_patience: float | None = None  # minutes; None: they wait, as in the report
    walk_in_percent: int = 50  # the model's default, which the demo's branches keep
    flap: bool = True  # one good check in the middle of the outage
    office: str = "big"  # a name in OFFICES, for the reports
    layout: tuple[tuple[str, ...], ...] | None = None  # None: every counter serves everything
    arrivals: str = "normal"  # or "crowd": a share of the day's citizens at the door before 08:00
    crowd_share: float = 0.4
    crowd_from: time = time(6, 30)
    days: int = 0  # working days after the outage day, each with its own citizens
    # outage_end None: the system is not back on the outage day (back at 07:00 the next
    # working day, before opening); announce_end: a manager gives the true end at detection.
    announce_end: bool = False
    # A citizen with a phone offered today's time after recovery reads the SMS after
    # ``sms_read_minutes`` and takes it with this probability (a seeded draw per citizen).
    offer_accept: float = 0.7
    # Working days before the outage day whose served citizens are in the database, as in an
    # office that has run for weeks: a shared counter's time is split by what each service
    # asked of it lately (queue_app.service_demand), and the measured pace starts from them.
    # 0: a new office (an equal split, the configured pace).
    history_days: int = 20
    # Waiting anywhere (``--wait-anywhere``): the kiosk issues walk-in tickets this many minutes
    # before opening, and a ticket with a phone is texted once when its estimated wait falls
    # to ``turn_near_minutes`` (the branch's settings of the same names; 0: off, as before).
    # A citizen with a phone whose ticket shows at least ``leave_if_wait`` minutes leaves the
    # hall and comes back when texted.
    early_tickets_minutes: int = 0
    turn_near_minutes: int = 0
    leave_if_wait: float = 45.0
    # Coming back late (``--late-grace``, the branch's ``late_grace_minutes``; 0: off, as
    # before, a counter that calls someone away waits for them). On, the counter marks them
    # missed after ``NO_SHOW_AFTER`` and calls the next; back within the grace period, they
    # are called after the next one (``counters.came_back``), later they take a new ticket.
    late_grace_minutes: int = 0


def counter_layout(options: Options) -> tuple[tuple[str, ...], ...]:
    if options.layout is not None:
        return options.layout
    return (EVERY_SERVICE,) * options.counters


def service_days(options: Options) -> list[date]:
    """The outage day, then the ``days`` working days after it that have citizens of their own."""
    days = [options.day1]
    for _ in range(options.days):
        days.append(next_working_day(days[-1]))
    return days


def outage_until(options: Options) -> datetime:
    if options.outage_end is None:
        return local(next_working_day(options.day1), time(7))
    return local(options.day1, options.outage_end)


@dataclass(frozen=True)
class Citizen:
    id: int
    arrival: datetime  # UTC, on the outage day or one of the ``days`` after it
    service: ServiceSpec
    phone: str | None
    locale: str
    service_time: timedelta


@dataclass
class Visit:
    citizen: int
    day: date  # local
    arrived: datetime
    left: datetime | None = None
    called: datetime | None = None
    outcome: str = ""  # served, booked, offered-time, moved, closing, gave-up


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=ZONE).astimezone(UTC)


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() not in SUN_TO_THU:
        day += timedelta(days=1)
    return day


def arrival_blocks(options: Options) -> list[tuple[time, time, float]]:
    """Per block of the day, the Poisson rate per hour. ``crowd``: ``crowd_share`` of the day's
    expected citizens come between ``crowd_from`` and 08:00 and wait at the door; the rest come
    as on a normal day, scaled down, so the day's expected demand is the same."""
    normal = [
        (time(8), time(10), options.rates[0]),
        (time(10), time(12), options.rates[1]),
        (time(12), time(14), options.rates[2]),
    ]
    if options.arrivals == "normal":
        return normal
    if options.arrivals != "crowd":
        raise ValueError(f"unknown arrivals {options.arrivals!r}")
    total = sum(rate * 2 for _, _, rate in normal)
    door = datetime.combine(options.day1, OPENS) - datetime.combine(
        options.day1, options.crowd_from
    )
    crowd_rate = options.crowd_share * total / (door.total_seconds() / 3600)
    rest = [(start, end, rate * (1 - options.crowd_share)) for start, end, rate in normal]
    return [(options.crowd_from, OPENS, crowd_rate), *rest]


def make_citizens(options: Options) -> list[Citizen]:
    """Each service day's arrivals: a Poisson process per block, each citizen with a service,
    maybe a phone and a service time drawn once. The outage day draws from ``seed`` alone (as
    it always has); each later day from a stream of its own."""
    citizens: list[Citizen] = []
    for k, day in enumerate(service_days(options)):
        rng = random.Random(options.seed if k == 0 else f"{options.seed}:day:{k}")
        citizens.extend(arrivals_of(options, day, rng, len(citizens)))
    return citizens


def arrivals_of(options: Options, day: date, rng: random.Random, first_id: int) -> list[Citizen]:
    citizens: list[Citizen] = []
    for start, end, rate in arrival_blocks(options):
        if rate <= 0:
            continue
        at, stop = local(day, start), local(day, end)
        while True:
            at += timedelta(minutes=rng.expovariate(rate / 60))
            if at >= stop:
                break
            n = first_id + len(citizens)
            pick, spec = rng.random(), SERVICES[-1]
            for candidate in SERVICES:
                if pick < candidate.share:
                    spec = candidate
                    break
                pick -= candidate.share
            mu = math.log(spec.minutes) - SERVICE_TIME_SIGMA**2 / 2
            minutes = max(rng.lognormvariate(mu, SERVICE_TIME_SIGMA), 0.5)
            phone = f"010{n:08d}" if rng.random() < options.phone_share else None
            locale = "en" if rng.random() < 0.05 else "ar"
            citizens.append(Citizen(n, at, spec, phone, locale, timedelta(minutes=minutes)))
    return citizens


# --- the event loop both scenarios share ---------------------------------------------------


class Simulation:
    """Events in time order; the visits of every citizen; the office's days and the outage."""

    name = ""

    def __init__(self, citizens: Sequence[Citizen], options: Options, *, outage: bool) -> None:
        self.citizens = {c.id: c for c in citizens}
        self.options = options
        self.outage = outage
        self.down_from = local(options.day1, options.outage_start)
        self.down_until = outage_until(options)
        # 07:00 unless a crowd comes earlier; the clock never goes back.
        self.now = min([local(options.day1, time(7)), *(c.arrival for c in citizens)])
        self.day = options.day1
        self.days: list[date] = []
        self._heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self.visits: list[Visit] = []
        self.on_site: dict[int, Visit] = {}
        self.trips: Tally[int] = Tally()
        self.unfinished = set(self.citizens)
        self.served_at: dict[int, datetime] = {}  # citizen -> called at the counter, at last
        self.layout = counter_layout(options)

    # events
    def at(self, when: datetime, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), action, args))

    def run(self) -> None:
        self.at(local(self.options.day1, OPENS), self.open_day, self.options.day1)
        while self._heap:
            when, _, action, args = heapq.heappop(self._heap)
            if when > self.now:
                self.moved_clock(when)
            action(*args)

    def moved_clock(self, when: datetime) -> None:
        self.now = when

    # the office
    def reality_down(self, when: datetime) -> bool:
        return self.outage and self.down_from <= when < self.down_until

    def open_now(self) -> bool:
        here = self.now.astimezone(ZONE)
        return (
            here.date() == self.day
            and here.date().weekday() in SUN_TO_THU
            and OPENS <= here.time() < CLOSES
        )

    def open_day(self, day: date) -> None:
        self.day = day
        self.days.append(day)
        self.at(local(day, CLOSES), self.close_day, day)
        self.wake_counters()

    def close_day(self, day: date) -> None:
        self.send_home()
        if self.unfinished and len(self.days) < MAX_DAYS + self.options.days:
            self.at(local(next_working_day(day), OPENS), self.open_day, next_working_day(day))

    def send_home(self) -> None:
        raise NotImplementedError

    def wake_counters(self) -> None:
        raise NotImplementedError

    # citizens
    def arrive(self, cid: int) -> Visit:
        visit = self.on_site.get(cid)
        if visit is None:
            here = self.now.astimezone(ZONE).date()
            visit = Visit(cid, here, self.now)
            self.visits.append(visit)
            self.on_site[cid] = visit
            self.trips[cid] += 1
        return visit

    def leave(self, cid: int, outcome: str) -> None:
        visit = self.on_site.pop(cid, None)
        if visit is not None:
            visit.left, visit.outcome = self.now, outcome

    def served(self, cid: int) -> None:
        called = self.on_site[cid].called
        assert called is not None
        self.served_at[cid] = called
        self.leave(cid, "served")
        self.unfinished.discard(cid)

    def comes_back(self, cid: int, target: datetime) -> datetime:
        """When a citizen arrives for ``target``: up to ``early_minutes`` before it, drawn per
        citizen and trip, the same draw in both scenarios."""
        rng = random.Random(f"{self.options.seed}:{cid}:{self.trips[cid]}")
        return target - timedelta(minutes=rng.uniform(0, self.options.early_minutes))

    def next_opening(self) -> datetime:
        return local(next_working_day(self.now.astimezone(ZONE).date()), OPENS)

    # what the figures ask
    def affected(self) -> set[int]:
        """Citizens of a service that needs the system who were on site on the outage day while
        it was down (not those at the door the next morning before it came back at 07:00)."""
        return {
            v.citizen
            for v in self.visits
            if self.citizens[v.citizen].service.needs_registry
            and v.day == self.options.day1
            and v.arrived < self.down_until
            and (v.called or v.left or v.arrived) > self.down_from
        }

    def placed_and_told(self) -> tuple[set[int], set[int]]:
        """Affected citizens given a new slot, and those told something (a plain queue: none)."""
        return set(), set()

    def eta_samples(self) -> list[tuple[float, float]]:
        """(minutes shown, minutes actually waited) per ticket called: a plain queue shows none."""
        return []


# --- the plain queue -------------------------------------------------------------------------


class PlainQueue(Simulation):
    """FIFO per service letter, counters call the oldest ticket they can serve now; with the
    outage, no civil-registry transaction can be done and nobody is told anything."""

    def __init__(self, citizens: Sequence[Citizen], options: Options, *, outage: bool) -> None:
        super().__init__(citizens, options, outage=outage)
        self.name = "plain queue" if outage else "normal day (no outage)"
        self.line: list[tuple[datetime, int, int]] = []  # (queued at, order, citizen)
        self.busy: dict[int, int | None] = dict.fromkeys(range(1, len(self.layout) + 1))
        for citizen in citizens:
            self.at(citizen.arrival, self.walk_in, citizen.id)
        if outage:
            self.at(self.down_until, self.wake_counters)

    def walk_in(self, cid: int) -> None:
        visit = self.arrive(cid)
        self.line.append((self.now, next(self._seq), cid))
        self.line.sort()
        patience = self.options.baseline_patience
        citizen = self.citizens[cid]
        if patience is not None and self.outage and citizen.service.needs_registry:
            gives_up = max(self.now, self.down_from) + timedelta(minutes=patience)
            if gives_up < self.down_until:
                self.at(gives_up, self.give_up, cid, visit)
        self.wake_counters()

    def give_up(self, cid: int, visit: Visit) -> None:
        if self.on_site.get(cid) is not visit or visit.called is not None:
            return
        self.line = [entry for entry in self.line if entry[2] != cid]
        self.leave(cid, "gave-up")
        self.at(self.comes_back(cid, self.next_opening()), self.walk_in, cid)

    def can_do(self, cid: int, k: int) -> bool:
        service = self.citizens[cid].service
        if service.code not in self.layout[k - 1]:
            return False
        return not (service.needs_registry and self.reality_down(self.now))

    def wake_counters(self) -> None:
        for k in self.busy:
            self.try_call(k)

    def try_call(self, k: int) -> None:
        if self.busy[k] is not None or not self.open_now():
            return
        for n, (_, _, cid) in enumerate(self.line):
            if self.can_do(cid, k):
                del self.line[n]
                self.on_site[cid].called = self.now
                self.busy[k] = cid
                self.at(self.now + self.citizens[cid].service_time, self.done, k, cid)
                return

    def done(self, k: int, cid: int) -> None:
        self.served(cid)
        self.busy[k] = None
        self.try_call(k)

    def send_home(self) -> None:
        for _, _, cid in self.line:
            self.leave(cid, "closing")
            self.at(self.comes_back(cid, self.next_opening()), self.walk_in, cid)
        self.line = []


# --- this system -----------------------------------------------------------------------------


class WithThisSystem(Simulation):
    """The real domain on a real database, one short session per kiosk, counter, monitor or
    worker action (as one request each), with a FixedClock set to each event's time."""

    name = "this system"

    def __init__(self, citizens: Sequence[Citizen], options: Options, url: str) -> None:
        super().__init__(citizens, options, outage=True)
        self.engine = create_engine(url)
        self.clock = FixedClock(self.now)
        self.detected_at = self.down_from + timedelta(seconds=CHECK_INTERVAL_S * FAILURE_THRESHOLD)
        self.paused = False
        self.busy: dict[str, int | None] = {str(k): None for k in range(1, len(self.layout) + 1)}
        self.ticket_of: dict[int, tuple[int, str]] = {}  # citizen -> (ticket id, token)
        self.owner: dict[int, int] = {}  # ticket id -> citizen
        self.in_line: set[int] = set()
        self.plan: dict[int, int] = {}  # citizen -> version of their planned return
        self.moved_seen: set[int] = set()  # the "rescheduled" events already acted on
        self.timer_reports: list[dict[str, Any]] = []
        # the worker runs until closing on the day the outage ends, so that recovery offers
        # are made (outage_moves.run_timers makes them once the outage has ended)
        end_day = self.down_until.astimezone(ZONE).date()
        while end_day.weekday() not in SUN_TO_THU:
            end_day = next_working_day(end_day)
        self.timers_until = max(local(end_day, CLOSES), self.down_until)
        self.offers_seen: set[int] = set()  # "offered" ticket events already acted on
        self.no_slot_seen: set[int] = set()  # "no_slot_yet" ticket events already counted
        self.offers: Tally[str] = Tally()
        self.accepted: set[int] = set()
        self.kiosk_outcomes: Tally[str] = Tally()
        self.refused: set[int] = set()  # a paused kiosk refused their ticket
        self.moved: set[int] = set()  # their ticket was moved by the outage's timers
        self.placed: set[int] = set()  # a slot held for them: booked at the kiosk or moved
        self.shown: set[int] = set()  # no phone: shown their time at the kiosk or on the board
        self.eta_pending: dict[int, tuple[Visit, datetime, int]] = {}
        self.eta: list[tuple[float, float]] = []
        self.away: set[int] = set()  # holding a ticket, waiting elsewhere until texted
        self.called_away: dict[int, str] = {}  # called while away: citizen -> counter waiting
        self.missed: set[int] = set()  # marked missed while away (``--late-grace``)
        self.turn_near_seen: set[int] = set()  # "turn_near" ticket events already acted on
        self.domain_seconds = 0.0
        self.domain_calls = 0
        self._build()
        for citizen in citizens:
            self.at(citizen.arrival, self.walk_in, citizen.id)
        self._schedule_checks()
        if options.turn_near_minutes:
            self.at(self._first_tick(options.day1), self.turn_near_tick)

    def moved_clock(self, when: datetime) -> None:
        super().moved_clock(when)
        self.clock.set(when)

    @contextmanager
    def session(self) -> Iterator[Session]:
        started = wall_time.perf_counter()
        with Session(self.engine, expire_on_commit=False) as session:
            texting.set_public_url(session.info, PUBLIC_URL)  # the moves' texts link to tickets
            yield session
        self.domain_seconds += wall_time.perf_counter() - started
        self.domain_calls += 1

    def _build(self) -> None:
        with self.session() as session:
            backend = Backend(
                code="civil-registry",
                name_ar="منظومة الأحوال المدنية",
                name_en="Civil registry system",
                check_interval_s=CHECK_INTERVAL_S,
                failure_threshold=FAILURE_THRESHOLD,
                recovery_threshold=RECOVERY_THRESHOLD,
            )
            branch = Branch(
                code=BRANCH,
                name_ar="سجل مدني مدينة نصر",
                name_en="Nasr City civil registry",
                timezone="Africa/Cairo",
                country="EG",
                reschedule_after_minutes=20,
            )
            if self.options.turn_near_minutes or self.options.early_tickets_minutes:
                branch.early_tickets_minutes = self.options.early_tickets_minutes
                branch.turn_near_minutes = self.options.turn_near_minutes
                branch.late_grace_minutes = self.options.late_grace_minutes
            branch.opening_hours = [
                OpeningHours(weekday=d, opens=OPENS, closes=CLOSES) for d in SUN_TO_THU
            ]
            for spec in SERVICES:
                branch.services.append(
                    Service(
                        code=spec.code,
                        letter=spec.letter,
                        name_ar=spec.name_ar,
                        name_en=spec.name_en,
                        avg_service_minutes=spec.minutes,
                        slot_minutes=30,
                        walk_in_percent=self.options.walk_in_percent,
                        backends=[backend] if spec.needs_registry else [],
                    )
                )
            for k, codes in zip(self.busy, self.layout, strict=True):
                serves = [service for service in branch.services if service.code in codes]
                branch.counters.append(Counter(code=k, is_open=True, services=serves))
            session.add_all([backend, branch])
            session.commit()
            self.backend_id = backend.id
            kiosk = access.create_token(session, self.clock, "kiosk", BRANCH)
            staff = access.create_token(session, self.clock, "staff", BRANCH)
            self.kiosk = access.authenticate(session, self.clock, f"Bearer {kiosk}")
            self.staff = access.authenticate(session, self.clock, f"Bearer {staff}")
            self._history(session, branch)

    def _history(self, session: Session, branch: Branch) -> None:
        """``history_days`` working days before the outage day, each with citizens drawn as a
        normal day's and served in the day: finished tickets in the database (one bulk
        insert), and each service's measured pace computed from them."""
        days: list[date] = []
        day = self.options.day1
        while len(days) < self.options.history_days:
            day -= timedelta(days=1)
            if day.weekday() in SUN_TO_THU:
                days.append(day)
        service_of = {service.code: service for service in branch.services}
        rows: list[dict[str, Any]] = []
        normal_day = replace(self.options, arrivals="normal")
        for k, past in enumerate(days):
            rng = random.Random(f"{self.options.seed}:history:{k}")
            numbers: Tally[str] = Tally()
            for citizen in arrivals_of(normal_day, past, rng, 0):
                service = service_of[citizen.service.code]
                numbers[service.letter] += 1
                rows.append(
                    {
                        "token": f"history-{past.isoformat()}-{service.letter}"
                        f"-{numbers[service.letter]}",
                        "branch_id": branch.id,
                        "service_id": service.id,
                        "letter": service.letter,
                        "local_day": past,
                        "sequence": numbers[service.letter],
                        "kind": TicketKind.WALK_IN,
                        "status": TicketStatus.DONE,
                        "priority": False,
                        "locale": citizen.locale,
                        "issued_at": citizen.arrival,
                        "queued_at": citizen.arrival,
                        "called_at": citizen.arrival,
                        "finished_at": citizen.arrival + citizen.service_time,
                        "version": 1,
                    }
                )
        if not rows:
            return
        session.execute(insert(Ticket), rows)
        for service in branch.services:
            measured = pace.measured_pace(
                pace.recent_service_times(session, service.id), service.avg_service_minutes * 60
            )
            service.measured_service_seconds = measured
        session.commit()

    def _schedule_checks(self) -> None:
        step = timedelta(seconds=CHECK_INTERVAL_S)
        self.at(local(self.options.day1, OPENS), self.check, True)
        for n in range(1, FAILURE_THRESHOLD + 1):
            self.at(self.down_from + n * step, self.check, False)
        if self.options.flap:
            middle = self.down_from + (self.down_until - self.down_from) / 2
            self.at(middle, self.check, True)
            self.at(middle + step, self.check, False)
        for n in range(1, RECOVERY_THRESHOLD + 1):
            self.at(self.down_until + n * step, self.check, True)
        if self.options.announce_end and self.options.outage_end is not None:
            self.at(self.detected_at + timedelta(minutes=1), self.announce_end)

    def announce_end(self) -> None:
        """A manager gives the outage its true end, a minute after the monitor opened it."""
        minutes = math.ceil((self.down_until - self.now).total_seconds() / 60)
        with self.session() as session:
            outages.declare(
                session, self.clock, "civil-registry", note="back at", expected_minutes=minutes
            )

    # the health monitor and the worker
    def check(self, ok: bool) -> None:
        with self.session() as session:
            changed = outages.record_check(
                session, self.clock, self.backend_id, ok=ok, error=None if ok else "HTTP 503"
            )
        if changed is None:
            return
        if changed.ended_at is None:
            self.paused = True
            self.at(self.now + timedelta(minutes=1), self.timers)
        else:
            self.paused = False
            self.wake_counters()

    def timers(self) -> None:
        with self.session() as session:
            report = outage_moves.run_timers(session, self.clock)
        if report.moved or report.unplaced or report.placed_later or report.offered:
            self.timer_reports.append({"at": self.now.isoformat(), **asdict(report)})
        if report.unplaced or report.told_no_slot:
            self.no_slot()
        if report.moved or report.placed_later:  # a retry's placement is a move too
            self.line_moved()
        if report.offered:
            self.offered()
        # Every minute while the outage lasts, and after it until closing on the day it ends,
        # as the worker does: recovery offers come from the first run after the end.
        if self.paused or self.now < self.timers_until:
            self.at(self.now + timedelta(minutes=1), self.timers)

    def no_slot(self) -> None:
        """Tickets the timers found no time for. Their ticket stays valid in the line (the
        SMS and the ticket page say so, and that a time will be texted): the citizen on site
        stays in line, and follows the new time if a later round places it (``line_moved``,
        a "rescheduled" event like any move), or is called when the system is back."""
        with self.session() as session:
            rows = session.execute(
                select(TicketEvent.id, TicketEvent.ticket_id).where(
                    TicketEvent.event == "no_slot_yet", TicketEvent.at == self.now
                )
            ).all()
        for event_id, _ in rows:
            if event_id not in self.no_slot_seen:
                self.no_slot_seen.add(event_id)
                self.offers["tickets told no slot yet"] += 1

    def offered(self) -> None:
        """Citizens offered today's time after recovery (``recovery.make_offers``). With a
        phone they read the SMS after ``sms_read_minutes`` and take it with probability
        ``offer_accept``; without one they never see it (the offer is by SMS or on the ticket's
        page, which they do not follow) and keep their new time."""
        with self.session() as session:
            rows = session.execute(
                select(TicketEvent.id, Ticket.id, Ticket.phone)
                .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
                .where(TicketEvent.event == "offered", TicketEvent.at == self.now)
                .order_by(TicketEvent.id)
            ).all()
        for event_id, ticket_id, phone in rows:
            if event_id in self.offers_seen:
                continue
            self.offers_seen.add(event_id)
            cid = self.owner[ticket_id]
            self.offers["made"] += 1
            if phone is None:
                self.offers["not seen (no phone)"] += 1
                continue
            reads = self.now + timedelta(minutes=self.options.sms_read_minutes)
            self.at(reads, self.answer_offer, cid)

    def answer_offer(self, cid: int) -> None:
        rng = random.Random(f"{self.options.seed}:offer:{cid}")
        if rng.random() >= self.options.offer_accept:
            self.offers["declined (kept the new time)"] += 1
            return
        _, token = self.ticket_of[cid]
        with self.session() as session:
            try:
                view = recovery.accept(session, self.clock, token)
            except StateConflict:  # lapsed, or today's room taken meanwhile: the time stays
                self.offers["accepted, but refused by the engine"] += 1
                return
        self.offers["accepted"] += 1
        assert view.ticket.slot_start is not None
        self.accepted.add(cid)
        # The engine gives them half an hour to come (recovery.COME_BACK_WITHIN): they are on
        # their way 15 to 30 minutes, whatever the time they were given.
        travel = timedelta(minutes=rng.uniform(15, 30))
        self.plan_return(cid, view.ticket.slot_start, self.check_in, not_before=self.now + travel)

    def line_moved(self) -> None:
        """What the citizens of the tickets just moved do: leave once told, come at the slot."""
        with self.session() as session:
            rows = session.execute(
                select(TicketEvent.id, Ticket.id, Ticket.slot_start, Ticket.phone)
                .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
                .where(TicketEvent.event == "rescheduled", TicketEvent.at == self.now)
                .order_by(TicketEvent.id)
            ).all()
        for event_id, ticket_id, slot_start, phone in rows:
            # Per event, not per ticket: a ticket moved again (an open-ended outage's evening
            # notice moving the next day's appointments) is a new time its citizen must follow.
            if event_id in self.moved_seen:
                continue
            self.moved_seen.add(event_id)
            cid = self.owner[ticket_id]
            self.in_line.discard(cid)
            self.away.discard(cid)  # waiting elsewhere: they follow the new time from there
            self.moved.add(cid)
            if slot_start is not None:
                self.placed.add(cid)
            if phone is None:
                self.shown.add(cid)
            visit = self.on_site.get(cid)
            if visit is not None and visit.called is None:
                minutes = (
                    self.options.sms_read_minutes if phone else self.options.no_phone_leave_minutes
                )
                self.at(self.now + timedelta(minutes=minutes), self.leave_after_move, cid, visit)
            if slot_start is None:  # not placed: they try again as walk-ins at the next opening
                self.plan_return(cid, self.next_opening(), self.walk_in)
            else:
                self.plan_return(cid, slot_start, self.check_in)

    def leave_after_move(self, cid: int, visit: Visit) -> None:
        if self.on_site.get(cid) is visit:
            self.leave(cid, "moved")

    def plan_return(
        self,
        cid: int,
        target: datetime,
        action: Callable[[int, int], None],
        *,
        not_before: datetime | None = None,
    ) -> None:
        self.plan[cid] = self.plan.get(cid, 0) + 1
        arrival = self.comes_back(cid, target)
        if not_before is not None:
            arrival = max(arrival, not_before)
        self.at(arrival, action, cid, self.plan[cid])

    # the kiosk
    def walk_in(self, cid: int, version: int | None = None) -> None:
        if version is not None and version != self.plan.get(cid):
            return
        self.arrive(cid)
        self.kiosk_ticket(cid)

    def kiosk_ticket(self, cid: int) -> None:
        citizen = self.citizens[cid]
        with self.session() as session:
            try:
                view = tickets.take_walk_in(
                    session,
                    self.clock,
                    self.kiosk,
                    BRANCH,
                    citizen.service.code,
                    phone=citizen.phone,
                    locale=citizen.locale,
                )
            except ServicePaused:
                self.refused.add(cid)
                self.kiosk_offers_a_slot(session, cid)
                return
            except ServiceClosed:
                self.kiosk_outcomes["before opening: waited for 08:00"] += 1
                opening = local(self.now.astimezone(ZONE).date(), OPENS)
                if self.now < opening and self.now.astimezone(ZONE).weekday() in SUN_TO_THU:
                    self.at(opening, self.kiosk_ticket, cid)  # waits at the door until 08:00
                else:
                    self.leave(cid, "closing")
                    self.plan_return(cid, self.next_opening(), self.walk_in)
                return
        self.kiosk_outcomes["ticket"] += 1
        if self.now < local(self.now.astimezone(ZONE).date(), OPENS):
            self.kiosk_outcomes["before opening: a ticket at the door"] += 1
        self.shows_a_wait(cid, view.eta_minutes)
        self.hold(cid, view.ticket.id, view.ticket.token)
        self.in_line.add(cid)
        if (
            self.options.turn_near_minutes
            and citizen.phone is not None
            and view.eta_minutes is not None
            and view.eta_minutes >= self.options.leave_if_wait
        ):
            leaves = self.now + timedelta(minutes=self.options.kiosk_minutes)
            self.at(leaves, self.go_elsewhere, cid, self.on_site[cid])
        self.wake_counters()

    # waiting anywhere
    def _first_tick(self, day: date) -> datetime:
        return local(day, OPENS) - timedelta(minutes=self.options.early_tickets_minutes)

    def go_elsewhere(self, cid: int, visit: Visit) -> None:
        """A long wait shown and a phone: the citizen leaves the hall until texted."""
        if self.on_site.get(cid) is visit and visit.called is None and cid in self.in_line:
            self.leave(cid, "waiting elsewhere")
            self.away.add(cid)
            self.kiosk_outcomes["left to wait elsewhere"] += 1
            # They also watch the ticket's page: with no text by then, they come back a
            # quarter of an hour before the time it showed them at the kiosk.
            _, shown_at, minutes = self.eta_pending[cid]
            own = shown_at + timedelta(minutes=minutes - 15)
            self.at(max(own, self.now), self.back_in_hall, cid)

    def turn_near_tick(self) -> None:
        """The worker's turn-near round, every minute from the early tickets to closing."""
        with self.session() as session:
            texted = turn_near.tell_turn_near(session, self.clock)
            rows = (
                session.execute(
                    select(TicketEvent.id, TicketEvent.ticket_id).where(
                        TicketEvent.event == "turn_near", TicketEvent.at == self.now
                    )
                ).all()
                if texted
                else []
            )
        for event_id, ticket_id in rows:
            if event_id in self.turn_near_seen:
                continue
            self.turn_near_seen.add(event_id)
            cid = self.owner[ticket_id]
            self.kiosk_outcomes["texted: turn near"] += 1
            if cid in self.away:
                rng = random.Random(f"{self.options.seed}:near:{cid}")
                back = rng.uniform(0, 3) + rng.uniform(5, 20)  # reads it, then on the way
                self.at(self.now + timedelta(minutes=back), self.back_in_hall, cid)
        here = self.now.astimezone(ZONE)
        if here.time() < CLOSES and here.date().weekday() in SUN_TO_THU:
            self.at(self.now + timedelta(minutes=1), self.turn_near_tick)
        elif self.unfinished:
            self.at(self._first_tick(next_working_day(here.date())), self.turn_near_tick)

    def back_in_hall(self, cid: int) -> None:
        if cid not in self.away:
            return
        self.away.discard(cid)
        self.arrive(cid)
        k = self.called_away.pop(cid, None)
        if k is not None:  # the counter called them while away and waited
            self.on_site[cid].called = self.now
            self.at(self.now + self.citizens[cid].service_time, self.done, k, cid)
        elif cid in self.missed:
            self.missed.discard(cid)
            self.come_back_late(cid)

    def marked_missed(self, k: str, cid: int) -> None:
        """``--late-grace``: the counter waited ``NO_SHOW_AFTER`` for someone away, marks them
        missed and calls the next."""
        if self.called_away.get(cid) != k or self.busy[k] != cid:
            return  # back in time
        del self.called_away[cid]
        with self.session() as session:
            counters.mark_no_show(session, self.clock, self.staff, self.ticket_of[cid][1])
        self.kiosk_outcomes["marked missed while away"] += 1
        self.missed.add(cid)
        self.busy[k] = None
        self.try_call(k)

    def come_back_late(self, cid: int) -> None:
        if not self.open_now():
            self.leave(cid, "closing")
            self.plan_return(cid, self.next_opening(), self.walk_in)
            return
        try:
            with self.session() as session:
                counters.came_back(session, self.clock, self.staff, self.ticket_of[cid][1])
        except StateConflict:  # TooLate among them: the grace period is over
            self.kiosk_outcomes["back after the grace period: new ticket"] += 1
            self.kiosk_ticket(cid)
            return
        self.kiosk_outcomes["back within the grace period"] += 1
        self.in_line.add(cid)
        self.wake_counters()

    def kiosk_offers_a_slot(self, session: Session, cid: int) -> None:
        citizen = self.citizens[cid]
        service = directory.current(session).branch(BRANCH).service(citizen.service.code)
        start = appointments.earliest_slot(session, service, self.now)
        leaves = self.now + timedelta(minutes=self.options.kiosk_minutes)
        if start is None:
            self.kiosk_outcomes["no slot offered"] += 1
            self.at(leaves, self.leave, cid, "no-slot")
            self.plan_return(cid, self.next_opening(), self.walk_in)
        elif citizen.phone is None:
            self.kiosk_outcomes["slot offered, no phone to book it"] += 1
            self.shown.add(cid)
            self.at(leaves, self.leave, cid, "offered-time")
            self.plan_return(cid, start, self.walk_in)
        else:
            view = appointments.book(
                session,
                self.clock,
                BRANCH,
                citizen.service.code,
                start=start,
                phone=citizen.phone,
                locale=citizen.locale,
            )
            self.kiosk_outcomes["booked"] += 1
            self.placed.add(cid)
            self.hold(cid, view.ticket.id, view.ticket.token)
            self.at(leaves, self.leave, cid, "booked")
            self.plan_return(cid, start, self.check_in)

    def hold(self, cid: int, ticket_id: int, token: str) -> None:
        self.ticket_of[cid] = (ticket_id, token)
        self.owner[ticket_id] = cid

    def check_in(self, cid: int, version: int) -> None:
        if version != self.plan.get(cid):
            return
        self.arrive(cid)
        _, token = self.ticket_of[cid]
        with self.session() as session:
            try:
                view = tickets.check_in(session, self.clock, self.kiosk, token)
            except TooEarly as exc:
                opens = datetime.fromisoformat(str(exc.fields["opens_at"]))
                today = self.now.astimezone(ZONE).date()
                if opens < local(today, CLOSES):
                    self.at(opens, self.check_in, cid, version)  # waits for the window
                else:  # the kiosk shows a later day: they go home and come back then
                    self.kiosk_outcomes["check-in on a later day: went home"] += 1
                    self.leave(cid, "too-early")
                    self.plan_return(cid, opens, self.check_in)
                return
            except TooLate:
                self.kiosk_outcomes["check-in too late"] += 1
                self.kiosk_ticket(cid)
                return
        self.kiosk_outcomes["checked in"] += 1
        self.shows_a_wait(cid, view.eta_minutes)
        self.in_line.add(cid)
        self.wake_counters()

    def shows_a_wait(self, cid: int, minutes: int | None) -> None:
        """The wait the ticket shows at issue (or check-in), to compare with the call."""
        if minutes is not None:
            self.eta_pending[cid] = (self.on_site[cid], self.now, minutes)

    # the counters
    def wake_counters(self) -> None:
        for k in self.busy:
            self.try_call(k)

    def try_call(self, k: str) -> None:
        if self.busy[k] is not None or not self.open_now():
            return
        if self.reality_down(self.now) and not self.paused and self.now < self.detected_at:
            # The system failed a moment ago and the monitor has not noticed yet: the clerk
            # would find it down, so the counter waits for the pause.
            self.at(self.detected_at, self.try_call, k)
            return
        with self.session() as session:
            ticket = counters.call_next(session, self.clock, self.staff, BRANCH, k)
        if ticket is None:
            return
        cid = self.owner[ticket.id]
        self.in_line.discard(cid)
        self.busy[k] = cid
        if cid not in self.on_site:
            # Away, not texted in time: the counter waits for them (its time is lost).
            self.kiosk_outcomes["called while away"] += 1
            self.called_away[cid] = k
            # The "called" text (counters.call_next, waiting anywhere): read within 3 minutes,
            # then 5 to 20 on the way, unless they are on their way already.
            rng = random.Random(f"{self.options.seed}:called:{cid}:{self.now.isoformat()}")
            back = rng.uniform(0, 3) + rng.uniform(5, 20)
            self.at(self.now + timedelta(minutes=back), self.back_in_hall, cid)
            if self.options.late_grace_minutes:
                self.at(self.now + NO_SHOW_AFTER, self.marked_missed, k, cid)
            return
        self.on_site[cid].called = self.now
        shown = self.eta_pending.pop(cid, None)
        if shown is not None and shown[0] is self.on_site[cid]:
            self.eta.append((shown[2], (self.now - shown[1]).total_seconds() / 60))
        self.busy[k] = cid
        self.at(self.now + self.citizens[cid].service_time, self.done, k, cid)

    def done(self, k: str, cid: int) -> None:
        with self.session() as session:
            counters.mark_done(session, self.clock, self.staff, self.ticket_of[cid][1])
        self.served(cid)
        self.busy[k] = None
        self.try_call(k)

    def send_home(self) -> None:
        for cid in sorted(self.in_line, key=lambda c: self.ticket_of[c][0]):
            with self.session() as session:
                tickets.cancel(session, self.clock, self.ticket_of[cid][1])
            self.away.discard(cid)
            self.leave(cid, "closing")
            self.plan_return(cid, self.next_opening(), self.walk_in)
        self.in_line.clear()

    # what the figures ask
    def affected(self) -> set[int]:
        return super().affected() | self.refused | self.moved

    def placed_and_told(self) -> tuple[set[int], set[int]]:
        """Placed: a slot held for them. Told: an SMS other than the ticket's own ``issued``
        (a booking, a move, or whatever the rescheduler sends one it cannot place), or, without
        a phone, a time shown at the kiosk or on the board."""
        with self.session() as session:
            texted = set(
                session.scalars(select(Message.ticket_id).where(Message.event != "issued"))
            )
        told = {self.owner[t] for t in texted if t in self.owner} | self.shown
        affected = self.affected()
        return self.placed & affected, told & affected

    def eta_samples(self) -> list[tuple[float, float]]:
        return list(self.eta)

    # what the database holds at the end
    def audit(self) -> dict[str, Any]:
        with self.session() as session:
            by_event = Tally(
                {
                    (
                        event.split(":")[0] if not event.startswith("rescheduled:outage") else event
                    ): n
                    for event, n in session.execute(
                        select(Message.event, func.count()).group_by(Message.event)
                    )
                }
            )
            outage_texts = session.execute(
                select(Message.ticket_id, func.count())
                .where(Message.event.like("rescheduled:%"))
                .group_by(Message.ticket_id)
            ).all()
            # "Nobody is texted more than once a day about the same ticket": by the local day
            # each move's text may leave (a second move's text may be held until the morning).
            leaving = Tally(
                (ticket_id, at.astimezone(ZONE).date())
                for ticket_id, at in session.execute(
                    select(Message.ticket_id, Message.next_attempt_at).where(
                        Message.event.like("rescheduled:%")
                    )
                )
            )
            # The same, for every text the outage caused (moves, "no time yet", "system back"),
            # but not the recovery offer: the one second message a day may carry (recovery.py).
            leaving_any = Tally(
                (ticket_id, at.astimezone(ZONE).date())
                for ticket_id, at in session.execute(
                    select(Message.ticket_id, Message.next_attempt_at).where(
                        Message.event.like("rescheduled:%")
                        | Message.event.like("no_slot:%")
                        | Message.event.like("system_back:%")
                    )
                )
            )
            events = Tally(
                dict(
                    session.execute(
                        select(TicketEvent.event, func.count())
                        .where(TicketEvent.event.in_(("offered", "offer_accepted", "no_slot_yet")))
                        .group_by(TicketEvent.event)
                    ).all()
                )
            )
            per_ticket = session.execute(
                select(Message.ticket_id, func.count()).group_by(Message.ticket_id)
            ).all()
            outage_rows = session.scalars(select(Outage)).all()
            statuses = Tally(str(s) for s in session.scalars(select(Ticket.status)))
        return {
            "messages_by_event": dict(by_event),
            "outage_texts": sum(n for _, n in outage_texts),
            "tickets_texted_about_the_outage": len(outage_texts),
            "tickets_texted_twice_about_the_outage": sum(1 for _, n in outage_texts if n > 1),
            "tickets_texted_twice_in_one_day": len({t for (t, _), n in leaving.items() if n > 1}),
            "tickets_texted_twice_in_one_day_any_outage_text": len(
                {t for (t, _), n in leaving_any.items() if n > 1}
            ),
            "offers": {
                "made": events["offered"],
                "texted": by_event["offer"],
                "accepted": events["offer_accepted"],
                **{k: v for k, v in self.offers.items() if k not in ("made", "accepted")},
            },
            "tickets_told_no_slot_yet": events["no_slot_yet"],
            "placed_in_a_later_round": sum(r["placed_later"] for r in self.timer_reports),
            "most_messages_to_one_ticket": max((n for _, n in per_ticket), default=0),
            "outages": [
                {
                    "started_at": o.started_at.isoformat(),
                    "ended_at": o.ended_at.isoformat() if o.ended_at else None,
                    "detected_by": str(o.detected_by),
                    "ended_by": o.ended_by,
                    "tickets_paused": o.tickets_paused,
                    "tickets_moved": o.tickets_moved,
                    "tickets_texted": o.tickets_texted,
                    "tickets_unplaced": o.tickets_unplaced,
                }
                for o in outage_rows
            ],
            "ticket_statuses": dict(statuses),
            "timer_runs_that_moved": self.timer_reports,
            "kiosk": dict(self.kiosk_outcomes),
            "domain_calls": self.domain_calls,
            "domain_seconds": round(self.domain_seconds, 2),
        }


# --- figures ---------------------------------------------------------------------------------


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


@dataclass
class Figures:
    name: str
    citizen_hours: float
    citizen_hours_by_day: dict[str, float]
    citizens: int
    served_day1: int
    served_by_day: dict[str, int]
    visits: int
    citizens_with_a_second_trip: int
    longest_visit_minutes: float
    longest_wait_to_be_called_minutes: float
    mean_visit_minutes: float
    outcomes: dict[str, int]
    days: list[str]
    trips_per_citizen: float = 0.0
    # delay until served: from a citizen's first arrival to the call at which they were served
    delay_mean_hours: float = 0.0
    delay_p90_hours: float = 0.0
    # the same, and the hours on site, for the outage day's citizens and for later days' own
    cohorts: dict[str, dict[str, float]] = field(default_factory=dict)
    affected: int = 0  # of a service needing the system, on site while it was down
    affected_placed: int = 0
    affected_told: int = 0
    affected_placed_or_told: int = 0
    eta: dict[str, float] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)


def quantile(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def delays(sim: Simulation, cids: Iterator[int] | Sequence[int]) -> list[float]:
    return [hours(sim.served_at[c] - sim.citizens[c].arrival) for c in cids]


def figures(sim: Simulation) -> Figures:
    if sim.on_site or sim.unfinished:
        raise RuntimeError(f"{sim.name}: {len(sim.unfinished)} citizens never served")
    spent = [v.left - v.arrived for v in sim.visits if v.left is not None]
    by_day: dict[str, float] = {}
    served: dict[str, int] = {}
    for v in sim.visits:
        assert v.left is not None
        by_day[v.day.isoformat()] = by_day.get(v.day.isoformat(), 0.0) + hours(v.left - v.arrived)
        if v.outcome == "served":
            served[v.day.isoformat()] = served.get(v.day.isoformat(), 0) + 1
    waits = [v.called - v.arrived for v in sim.visits if v.called is not None]
    day1 = sim.options.day1
    cohort_of = {
        c.id: "outage day's citizens"
        if c.arrival.astimezone(ZONE).date() == day1
        else "later days' citizens"
        for c in sim.citizens.values()
    }
    cohorts: dict[str, dict[str, float]] = {}
    for name in sorted(set(cohort_of.values()), reverse=True):
        members = [c for c in sim.citizens if cohort_of[c] == name]
        delay = delays(sim, members)
        cohorts[name] = {
            "citizens": len(members),
            "citizen_hours": round(
                sum(
                    hours(v.left - v.arrived)
                    for v in sim.visits
                    if v.left is not None and cohort_of[v.citizen] == name
                ),
                2,
            ),
            "delay_mean_hours": round(sum(delay) / len(delay), 2),
            "delay_p90_hours": round(quantile(delay, 0.9), 2),
        }
    everyone = delays(sim, list(sim.citizens))
    affected = sim.affected()
    placed, told = sim.placed_and_told()
    eta: dict[str, float] = {}
    samples = sim.eta_samples()
    if samples:
        errors = [abs(actual - shown) for shown, actual in samples]
        eta = {
            "tickets": len(samples),
            "median_abs_error_minutes": round(quantile(errors, 0.5), 1),
            "p90_abs_error_minutes": round(quantile(errors, 0.9), 1),
            "share_told_too_short": round(
                sum(1 for shown, actual in samples if actual > shown) / len(samples), 3
            ),
            "mean_actual_over_shown": round(
                sum(a for _, a in samples) / max(sum(s for s, _ in samples), 1e-9), 2
            ),
        }
    return Figures(
        name=sim.name,
        citizen_hours=round(sum(hours(s) for s in spent), 2),
        citizen_hours_by_day={d: round(h, 2) for d, h in sorted(by_day.items())},
        citizens=len(sim.citizens),
        served_day1=served.get(sim.options.day1.isoformat(), 0),
        served_by_day=dict(sorted(served.items())),
        visits=len(sim.visits),
        citizens_with_a_second_trip=sum(1 for n in sim.trips.values() if n > 1),
        longest_visit_minutes=round(max(spent).total_seconds() / 60, 1),
        longest_wait_to_be_called_minutes=round(max(waits).total_seconds() / 60, 1),
        mean_visit_minutes=round(sum(hours(s) for s in spent) * 60 / len(spent), 1),
        outcomes=dict(Tally(v.outcome for v in sim.visits)),
        days=[d.isoformat() for d in sim.days],
        trips_per_citizen=round(len(sim.visits) / len(sim.citizens), 2),
        delay_mean_hours=round(sum(everyone) / len(everyone), 2),
        delay_p90_hours=round(quantile(everyone, 0.9), 2),
        cohorts=cohorts,
        affected=len(affected),
        affected_placed=len(placed),
        affected_told=len(told),
        affected_placed_or_told=len(placed | told),
        eta=eta,
    )


def on_site_series(
    sim: Simulation, day: date, step_minutes: int = 1
) -> tuple[list[datetime], list[int]]:
    """How many citizens were inside the office at each minute of a local day, 07:30-16:00."""
    first, last = local(day, time(7, 30)), local(day, time(16))
    times, counts = [], []
    at = first
    while at <= last:
        times.append(at.astimezone(ZONE).replace(tzinfo=None))
        counts.append(
            sum(1 for v in sim.visits if v.arrived <= at and (v.left is None or v.left > at))
        )
        at += timedelta(minutes=step_minutes)
    return times, counts


def plot(path: Path, options: Options, runs: Sequence[Simulation], result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    days = sorted({d for sim in runs[:2] for d in sim.days})
    fig, axes = plt.subplots(
        1, len(days), figsize=(6.2 * len(days), 4.6), sharey=True, squeeze=False
    )
    styles = {
        "plain queue": {"color": "#c0392b", "linewidth": 2.0},
        "this system": {"color": "#1f77b4", "linewidth": 2.0},
        "normal day (no outage)": {"color": "#7f7f7f", "linewidth": 1.0, "linestyle": ":"},
    }
    for ax, day in zip(axes[0], days, strict=True):
        for sim in runs:
            if sim.name.startswith("normal") and day != options.day1:
                continue
            xs, ys = on_site_series(sim, day)
            spent = result[sim.name]["citizen_hours_by_day"].get(day.isoformat(), 0.0)
            label = f"{sim.name}: {spent:.0f} citizen-hours this day"
            ax.plot(xs, ys, label=label, **styles[sim.name])
        if day == options.day1:
            ax.axvspan(
                datetime.combine(day, options.outage_start),
                datetime.combine(day, options.outage_end),
                color="#f5b041",
                alpha=0.25,
                label="civil-registry system down",
            )
        ax.set_title(
            f"{day.strftime('%A %d %B %Y')}"
            + (" (outage day)" if day == options.day1 else " (return day)")
        )
        ax.set_xlabel("time of day (Cairo)")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        ax.xaxis.set_major_locator(mdates.HourLocator())
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    axes[0][0].set_ylabel("citizens on site")
    top = max(line.get_ydata().max() for ax in axes[0] for line in ax.get_lines())
    axes[0][0].set_ylim(0, top * 1.4)  # room for the legends above the curves
    reduction = result["reduction_percent"]
    fig.suptitle(
        "Citizens on site at a civil registry, system down 08:30-12:30: "
        f"{result['plain queue']['citizen_hours']:.0f} citizen-hours with a plain queue, "
        f"{result['this system']['citizen_hours']:.0f} with this system ({reduction:.0f} % fewer; "
        f"seed {options.seed})",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- running it ------------------------------------------------------------------------------


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'day_simulation.sqlite3'}"
    url = normalise_database_url(os.environ.get("QUEUE_BENCH_DATABASE_URL") or DEFAULT_POSTGRESQL)
    from sqlalchemy.engine import make_url

    if make_url(url).database == "test":
        raise SystemExit("refusing to wipe the database named 'test' (the test suite's)")
    from bench.serve_load import reset_postgresql

    reset_postgresql(url)
    return url


def simulate(options: Options, kind: str) -> tuple[dict[str, Any], list[Simulation]]:
    citizens = make_citizens(options)
    plain = PlainQueue(citizens, options, outage=True)
    plain.run()
    normal = PlainQueue(citizens, options, outage=False)
    normal.run()
    with tempfile.TemporaryDirectory(prefix="day-simulation-") as workdir:
        url = database_url(kind, Path(workdir))
        migrate.upgrade(url)
        system = WithThisSystem(citizens, options, url)
        started = wall_time.perf_counter()
        system.run()
        seconds = wall_time.perf_counter() - started
        audit = system.audit()
        ours = figures(system)  # reads the outbox: before the database goes
        system.engine.dispose()
    result: dict[str, Any] = {
        "database": kind,
        "options": {
            k: (v.isoformat() if isinstance(v, date | time) else v)
            for k, v in asdict(options).items()
        },
        "run_seconds": round(seconds, 1),
    }
    for sim in (plain, system, normal):
        f = ours if sim is system else figures(sim)
        if sim is system:
            f.audit = audit
        result[sim.name] = asdict(f)
    base, ours = result["plain queue"]["citizen_hours"], result["this system"]["citizen_hours"]
    result["reduction_percent"] = round(100 * (1 - ours / base), 1) if base else 0.0
    result["target_met"] = result["reduction_percent"] >= TARGET_REDUCTION
    return result, [plain, system, normal]


def table(result: dict[str, Any]) -> str:
    names = ["plain queue", "this system", "normal day (no outage)"]
    rows = [
        ("citizen-hours on site, all visits", "citizen_hours"),
        ("  of which on the outage day", None),
        ("citizens", "citizens"),
        ("served on the outage day", "served_day1"),
        ("visits (trips to the office)", "visits"),
        ("citizens who came twice or more", "citizens_with_a_second_trip"),
        ("mean time on site per visit, min", "mean_visit_minutes"),
        ("longest single visit, min", "longest_visit_minutes"),
        ("longest wait to be called, min", "longest_wait_to_be_called_minutes"),
        ("trips to the office per citizen", "trips_per_citizen"),
        ("delay until served, mean, h", "delay_mean_hours"),
        ("delay until served, p90, h", "delay_p90_hours"),
    ]
    day1 = result["options"]["day1"]
    lines = [f"| | {' | '.join(names)} |", "| --- |" + " ---: |" * len(names)]
    for label, key in rows:
        cells = []
        for name in names:
            figs = result[name]
            value = figs["citizen_hours_by_day"].get(day1, 0.0) if key is None else figs[key]
            cells.append(f"{value:,.2f}" if key in TWO_DIGITS else number(value))
        lines.append(f"| {label} | {' | '.join(cells)} |")
    later = "later days' citizens"
    if later in result["plain queue"]["cohorts"]:
        for label, key in (
            ("later days' own citizens: citizen-hours", "citizen_hours"),
            ("later days' own citizens: mean delay, h", "delay_mean_hours"),
        ):
            cells = [number(result[name]["cohorts"][later][key]) for name in names]
            lines.append(f"| {label} | {' | '.join(cells)} |")
    for label, key in (
        ("affected by the outage (citizens)", "affected"),
        ("  of whom placed (a new slot)", "affected_placed"),
        ("  of whom told (an SMS, or a time shown)", "affected_told"),
        ("  of whom placed or told", "affected_placed_or_told"),
    ):
        cells = [number(result[name][key]) for name in names[:2]]
        lines.append(f"| {label} | {' | '.join(cells)} | – |")
    return "\n".join(lines)


TWO_DIGITS = {"trips_per_citizen", "delay_mean_hours", "delay_p90_hours"}


def number(value: float | int) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def summary(result: dict[str, Any]) -> dict[str, Any]:
    plain, ours = result["plain queue"], result["this system"]
    day1 = result["options"]["day1"]
    return {
        "seed": result["options"]["seed"],
        "citizens": plain["citizens"],
        "plain_queue_hours": plain["citizen_hours"],
        "this_system_hours": ours["citizen_hours"],
        "reduction_percent": result["reduction_percent"],
        "outage_day_reduction_percent": round(
            100
            * (1 - ours["citizen_hours_by_day"].get(day1, 0) / plain["citizen_hours_by_day"][day1]),
            1,
        ),
        "texted_twice": ours["audit"]["tickets_texted_twice_about_the_outage"],
        "texted_twice_in_one_day": ours["audit"]["tickets_texted_twice_in_one_day"],
        "plain_served_day1": plain["served_day1"],
        "ours_served_day1": ours["served_day1"],
        "plain_delay_mean": plain["delay_mean_hours"],
        "ours_delay_mean": ours["delay_mean_hours"],
        "offers_made": ours["audit"]["offers"]["made"],
        "offers_accepted": ours["audit"]["offers"]["accepted"],
    }


def seeds_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "\n| seed | citizens | plain queue, citizen-h | this system, citizen-h | reduction "
        "| outage day only | mean delay h plain / ours | served outage day plain / ours "
        "| offers made / accepted | texted twice | texted twice in one day |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['seed']} | {r['citizens']} | {r['plain_queue_hours']:.1f} "
            f"| {r['this_system_hours']:.1f} | {r['reduction_percent']:.1f} % "
            f"| {r['outage_day_reduction_percent']:.1f} % "
            f"| {r['plain_delay_mean']:.2f} / {r['ours_delay_mean']:.2f} "
            f"| {r['plain_served_day1']} / {r['ours_served_day1']} "
            f"| {r['offers_made']} / {r['offers_accepted']} "
            f"| {r['texted_twice']} | {r['texted_twice_in_one_day']} |"
        )
    reductions = [r["reduction_percent"] for r in rows]
    met = sum(1 for x in reductions if x >= TARGET_REDUCTION)
    lines.append(
        f"\nreduction over {len(rows)} seeds: mean {sum(reductions) / len(rows):.1f} %, "
        f"min {min(reductions):.1f} %, max {max(reductions):.1f} %; "
        f"target met in {met} of {len(rows)}"
    )
    return "\n".join(lines)


MATRIX_DAYS = (0, 3)


def scenario_name(options: Options) -> str:
    later = f", +{options.days} days" if options.days else ""
    return f"{options.office}, {options.arrivals}{later}"


def matrix_row(result: dict[str, Any]) -> dict[str, Any]:
    """One scenario's line of the matrix: this system against the plain queue."""
    plain, ours = result["plain queue"], result["this system"]
    opts = result["options"]
    later = "later days' citizens"
    affected = ours["affected"]
    row: dict[str, Any] = {
        "scenario": f"{opts['office']}, {opts['arrivals']}"
        + (f", +{opts['days']} days" if opts["days"] else ""),
        "office": opts["office"],
        "arrivals": opts["arrivals"],
        "days": opts["days"],
        "citizens": plain["citizens"],
        "plain_hours": plain["citizen_hours"],
        "ours_hours": ours["citizen_hours"],
        "hours_ratio": round(ours["citizen_hours"] / plain["citizen_hours"], 3),
        # the same citizens with no outage: what the day costs anyway (a crowd at the door)
        "normal_hours": result["normal day (no outage)"]["citizen_hours"],
        "plain_delay_mean": plain["delay_mean_hours"],
        "ours_delay_mean": ours["delay_mean_hours"],
        "plain_delay_p90": plain["delay_p90_hours"],
        "ours_delay_p90": ours["delay_p90_hours"],
        "plain_served_day1": plain["served_day1"],
        "ours_served_day1": ours["served_day1"],
        "plain_trips": plain["trips_per_citizen"],
        "ours_trips": ours["trips_per_citizen"],
        "affected": affected,
        "placed_share": round(ours["affected_placed"] / affected, 3) if affected else None,
        "told_share": round(ours["affected_told"] / affected, 3) if affected else None,
        "placed_or_told_share": (
            round(ours["affected_placed_or_told"] / affected, 3) if affected else None
        ),
        "eta": ours["eta"],
        "texted_twice": ours["audit"]["tickets_texted_twice_about_the_outage"],
        "texted_twice_in_one_day": ours["audit"]["tickets_texted_twice_in_one_day"],
        "texted_twice_in_one_day_any": ours["audit"][
            "tickets_texted_twice_in_one_day_any_outage_text"
        ],
        "offers_made": ours["audit"]["offers"]["made"],
        "offers_accepted": ours["audit"]["offers"]["accepted"],
        "told_no_slot_yet": ours["audit"]["tickets_told_no_slot_yet"],
        "run_seconds": result["run_seconds"],
    }
    if later in plain["cohorts"]:
        row["plain_later_delay_mean"] = plain["cohorts"][later]["delay_mean_hours"]
        row["ours_later_delay_mean"] = ours["cohorts"][later]["delay_mean_hours"]
        row["plain_later_hours"] = plain["cohorts"][later]["citizen_hours"]
        row["ours_later_hours"] = ours["cohorts"][later]["citizen_hours"]
    return row


def matrix_table(rows: Sequence[dict[str, Any]]) -> str:
    def pair(row: dict[str, Any], key: str, fmt: str = "{:.2f}") -> str:
        a, b = row.get(f"plain_{key}"), row.get(f"ours_{key}")
        if a is None or b is None:
            return "–"
        return f"{fmt.format(a)} / {fmt.format(b)}"

    def share(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.0f} %"

    lines = [
        "| scenario | citizens | citizen-h plain / ours | change | citizen-h with no outage "
        "| mean delay h plain / ours "
        "| p90 delay h plain / ours | served outage day plain / ours | trips plain / ours "
        "| later days' own citizens: mean delay h plain / ours | affected | placed | told "
        "| placed or told | wait shown: median / p90 error min, told too short "
        "| offers made / accepted | texted twice in one day |",
        "| --- |" + " ---: |" * 16,
    ]
    for r in rows:
        change = 100 * (r["hours_ratio"] - 1)
        eta = r["eta"]
        eta_cell = (
            f"{eta['median_abs_error_minutes']:.1f} / {eta['p90_abs_error_minutes']:.1f}, "
            f"{100 * eta['share_told_too_short']:.0f} %"
            if eta
            else "–"
        )
        lines.append(
            f"| {r['scenario']} | {r['citizens']} "
            f"| {r['plain_hours']:,.1f} / {r['ours_hours']:,.1f} | {change:+.0f} % "
            f"| {r['normal_hours']:,.1f} "
            f"| {pair(r, 'delay_mean')} | {pair(r, 'delay_p90')} "
            f"| {pair(r, 'served_day1', '{}')} | {pair(r, 'trips')} "
            f"| {pair(r, 'later_delay_mean')} | {r['affected']} "
            f"| {share(r['placed_share'])} | {share(r['told_share'])} "
            f"| {share(r['placed_or_told_share'])} | {eta_cell} "
            f"| {r['offers_made']} / {r['offers_accepted']} "
            f"| {r['texted_twice_in_one_day']} |"
        )
    return "\n".join(lines)


def plot_matrix(path: Path, rows: Sequence[dict[str, Any]], title: str) -> None:
    """Per scenario: this system's citizen-hours as a share of the plain queue's, and the mean
    delay until served of both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["scenario"] for r in rows]
    ys = list(range(len(rows)))[::-1]
    from matplotlib.patches import Patch

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 0.42 * len(rows) + 1.8), sharey=True, layout="constrained"
    )
    ratios = [100 * r["hours_ratio"] for r in rows]
    colours = ["#1f77b4" if x <= 10 else "#f39c12" if x < 100 else "#c0392b" for x in ratios]
    left.barh(ys, ratios, color=colours, height=0.6)
    for y, x in zip(ys, ratios, strict=True):
        left.text(x + 1, y, f"{x:.0f} %", va="center", fontsize=8)
    left.axvline(
        10, color="#2c3e50", linestyle="--", linewidth=1, label="target: 10 % (90 % fewer)"
    )
    left.axvline(100, color="#c0392b", linestyle=":", linewidth=1, label="as many as a plain queue")
    left.set_xlim(0, max(110, max(ratios) * 1.15))
    left.set_yticks(ys, labels, fontsize=9)
    left.set_xlabel("citizen-hours on site with this system, % of the plain queue's")
    left.legend(
        handles=[
            *left.get_legend_handles_labels()[0],
            Patch(color="#1f77b4", label="target met"),
            Patch(color="#f39c12", label="fewer hours, target missed"),
            Patch(color="#c0392b", label="more hours than a plain queue"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.07),
        ncol=3,
        fontsize=7,
    )
    left.grid(axis="x", alpha=0.3)
    height = 0.38
    plain = [r["plain_delay_mean"] for r in rows]
    ours = [r["ours_delay_mean"] for r in rows]
    right.barh([y + height / 2 for y in ys], plain, height, color="#c0392b", label="plain queue")
    right.barh([y - height / 2 for y in ys], ours, height, color="#1f77b4", label="this system")
    for y, a, b in zip(ys, plain, ours, strict=True):
        right.text(a + 0.3, y + height / 2, f"{a:.1f}", va="center", fontsize=7)
        right.text(b + 0.3, y - height / 2, f"{b:.1f}", va="center", fontsize=7)
    right.set_xlabel("mean delay until served, hours (first arrival to the call)")
    right.set_xlim(0, max(plain + ours) * 1.12)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, fontsize=7)
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_matrix(base: Options, args: argparse.Namespace) -> int:
    rows = []
    for office, shape in OFFICES.items():
        for arrivals in ARRIVALS:
            for days in MATRIX_DAYS:
                options = replace(
                    base,
                    office=office,
                    layout=shape.layout,
                    counters=len(shape.layout),
                    rates=shape.rates,
                    arrivals=arrivals,
                    days=days,
                )
                result, _ = simulate(options, args.db)
                rows.append(matrix_row(result))
                print(
                    f"{scenario_name(options)}: {rows[-1]['hours_ratio']:.3f} of the plain "
                    f"queue's hours ({result['run_seconds']} s)",
                    file=sys.stderr,
                    flush=True,
                )
    end = base.outage_end.strftime("%H:%M") if base.outage_end else "not back that day"
    print(
        f"day simulation matrix, {args.db}, seed {base.seed}; system down "
        f"{base.outage_start.strftime('%H:%M')}-{end}, end "
        f"{'announced' if base.announce_end else 'not given'}; "
        f"recovery offers taken by {100 * base.offer_accept:g} % of those with a phone"
    )
    print(matrix_table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    if args.plot:
        plot_matrix(
            args.plot,
            rows,
            f"Day simulation, seed {base.seed}: system down "
            f"{base.outage_start.strftime('%H:%M')}-{end}, "
            f"end {'announced' if base.announce_end else 'not given'}, "
            f"offers taken {100 * base.offer_accept:g} %; "
            "+3 days: three working days after it, each with its own citizens",
        )
        print(f"plot: {args.plot} ({args.plot.stat().st_size // 1024} KB)")
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.day_simulation", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--runs", type=int, default=1, help="also run the next RUNS-1 seeds and summarise them"
    )
    parser.add_argument(
        "--office",
        choices=tuple(OFFICES),
        default="big",
        help="office preset: its counters, what each serves, and its arrival rates",
    )
    parser.add_argument(
        "--rates", help="arrivals per hour 08-10, 10-12 and 12-14 (default: the office's)"
    )
    parser.add_argument(
        "--counters", type=int, help="this many counters, each serving every service"
    )
    parser.add_argument(
        "--arrivals",
        choices=ARRIVALS,
        default="normal",
        help="crowd: --crowd-share of the day's citizens at the door from 06:30",
    )
    parser.add_argument("--crowd-share", type=float, default=0.4)
    parser.add_argument(
        "--days",
        type=int,
        default=0,
        help="working days after the outage day, each with its own citizens (same demand)",
    )
    parser.add_argument(
        "--outage-end",
        default="12:30",
        help="HH:MM the system comes back, or 'none': not on the outage day (07:00 the next)",
    )
    parser.add_argument(
        "--announce-end",
        action="store_true",
        help="a manager gives the true end a minute after detection (default: no end given)",
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="every office x arrivals x days 0 and 3 for one seed: a markdown table",
    )
    parser.add_argument("--phone-share", type=float, default=0.8)
    parser.add_argument("--kiosk-minutes", type=float, default=3.0)
    parser.add_argument("--sms-read-minutes", type=float, default=5.0)
    parser.add_argument("--no-phone-leave-minutes", type=float, default=15.0)
    parser.add_argument("--early-minutes", type=float, default=10.0)
    parser.add_argument(
        "--offer-accept",
        type=float,
        default=0.7,
        help="share of citizens with a phone who take a recovery offer (0: nobody; seeded)",
    )
    parser.add_argument(
        "--baseline-patience",
        type=float,
        help="minutes of outage after which a plain-queue citizen gives up (default: never)",
    )
    parser.add_argument(
        "--walk-in-percent",
        type=int,
        default=50,
        help="each service's share of slot capacity kept for walk-ins (the model's default: 50)",
    )
    parser.add_argument(
        "--wait-anywhere",
        action="store_true",
        help="walk-in tickets from 90 min before opening; texted when 30 min remain; a citizen "
        "with a phone shown a wait of --leave-if-wait minutes or more leaves until texted",
    )
    parser.add_argument("--leave-if-wait", type=float, default=45.0)
    parser.add_argument(
        "--late-grace",
        type=int,
        default=0,
        help="with --wait-anywhere: the branch's late_grace_minutes (0: a counter waits for "
        f"a called citizen who is away; else it marks them missed after "
        f"{NO_SHOW_AFTER_MINUTES} minutes and they come back near the front within it)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=20,
        help="working days of served citizens before the outage day (0: a new office)",
    )
    parser.add_argument("--no-flap", action="store_true", help="no good check mid-outage")
    parser.add_argument("--plot", type=Path, help="write the figure (PNG) here")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    office = OFFICES[args.office]
    rates = office.rates
    if args.rates:
        rates = tuple(float(r) for r in args.rates.split(","))  # type: ignore[assignment]
        if len(rates) != 3:
            raise SystemExit("--rates takes three numbers: per hour 08-10, 10-12, 12-14")
    layout: tuple[tuple[str, ...], ...] | None = office.layout
    if args.counters is not None:
        layout = None
    if not 0 <= args.offer_accept <= 1:
        raise SystemExit("--offer-accept is between 0 and 1")
    if args.days < 0 or args.days > 20:
        raise SystemExit("--days is between 0 and 20")
    if not 0 <= args.history <= 60:
        raise SystemExit("--history is between 0 and 60")
    outage_end: time | None = None
    if args.outage_end.lower() != "none":
        try:
            outage_end = time.fromisoformat(args.outage_end)
        except ValueError:
            raise SystemExit("--outage-end takes HH:MM or 'none'") from None
        if not time(8, 31) <= outage_end <= CLOSES:
            raise SystemExit("--outage-end is between 08:31 and 15:00, or 'none'")
    return Options(
        seed=args.seed,
        rates=rates,
        counters=args.counters if args.counters is not None else len(office.layout),
        office=args.office,
        layout=layout,
        arrivals=args.arrivals,
        crowd_share=args.crowd_share,
        days=args.days,
        outage_end=outage_end,
        announce_end=args.announce_end,
        phone_share=args.phone_share,
        kiosk_minutes=args.kiosk_minutes,
        sms_read_minutes=args.sms_read_minutes,
        no_phone_leave_minutes=args.no_phone_leave_minutes,
        early_minutes=args.early_minutes,
        offer_accept=args.offer_accept,
        baseline_patience=args.baseline_patience,
        walk_in_percent=args.walk_in_percent,
        flap=not args.no_flap,
        history_days=args.history,
        early_tickets_minutes=90 if args.wait_anywhere else 0,
        turn_near_minutes=30 if args.wait_anywhere else 0,
        leave_if_wait=args.leave_if_wait,
        late_grace_minutes=args.late_grace if args.wait_anywhere else 0,
    )


def describe(options: Options) -> str:
    end = options.outage_end.strftime("%H:%M") if options.outage_end else "not that day"
    rates = ",".join(f"{r:g}" for r in options.rates)
    return (
        f"{options.office}, {options.arrivals} arrivals, {options.days} later days; "
        f"down {options.outage_start.strftime('%H:%M')}-{end}, end "
        f"{'announced' if options.announce_end else 'not given'}; rates {rates}/h"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = options_from(args)
    if args.matrix:
        return run_matrix(options, args)
    result, runs = simulate(options, args.db)
    if options == Options(seed=options.seed, layout=OFFICES["big"].layout):
        print(f"day simulation, {args.db}, seed {options.seed}, rates {args.rates or '60,50,25'}/h")
    else:
        print(f"day simulation, {args.db}, seed {options.seed}: {describe(options)}")
    print(table(result))
    eta = result["this system"]["eta"]
    if eta:
        print(
            f"\nwait shown at issue or check-in against the call, {eta['tickets']} tickets: "
            f"median error {eta['median_abs_error_minutes']} min, "
            f"p90 {eta['p90_abs_error_minutes']} min, "
            f"{100 * eta['share_told_too_short']:.0f} % told too short "
            f"(waited {eta['mean_actual_over_shown']}x what was shown, overall)"
        )
    audit = result["this system"]["audit"]
    print(
        f"\nreduction in citizen-hours on site: {result['reduction_percent']:.1f} % "
        f"(target >= {TARGET_REDUCTION:.0f} %: {'met' if result['target_met'] else 'missed'})"
    )
    print(f"kiosk: {audit['kiosk']}")
    print(f"messages by event: {audit['messages_by_event']}")
    print(
        f"texted about the outage: {audit['tickets_texted_about_the_outage']} tickets, "
        f"{audit['tickets_texted_twice_about_the_outage']} of them twice; outages: "
        f"{len(audit['outages'])}"
    )
    print(
        f"texted twice in one day: {audit['tickets_texted_twice_in_one_day']} tickets "
        "(two new times leaving the same local day; "
        f"{audit['tickets_texted_twice_in_one_day_any_outage_text']} counting every outage "
        "text but the recovery offer: new times, no time yet, system back)"
    )
    offers = audit["offers"]
    rest = {k: v for k, v in offers.items() if k not in ("made", "texted", "accepted")}
    print(
        f"recovery offers (--offer-accept {options.offer_accept:g}): {offers['made']} made, "
        f"{offers['texted']} texted, {offers['accepted']} accepted; "
        f"served on the outage day {result['this system']['served_day1']} "
        f"(plain queue {result['plain queue']['served_day1']}); "
        f"{rest}; "
        f"told no time yet {audit['tickets_told_no_slot_yet']}, "
        f"placed in a later round {audit['placed_in_a_later_round']}"
    )
    print(
        f"domain: {audit['domain_calls']} calls in {audit['domain_seconds']} s; "
        f"simulation {result['run_seconds']} s"
    )
    if args.runs > 1:
        result["seeds"] = [summary(result)]
        for seed in range(options.seed + 1, options.seed + args.runs):
            other, _ = simulate(replace(options, seed=seed), args.db)
            result["seeds"].append(summary(other))
        print(seeds_table(result["seeds"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.plot:
        plot(args.plot, options, runs, result)
        print(f"plot: {args.plot} ({args.plot.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
