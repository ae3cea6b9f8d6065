"""The directory: branches, their hours, services, counters and kiosks, back-end systems and API
tokens.

It changes a few times a day and is read by every request, so each process keeps it in memory as
plain objects and checks one row, ``directory_revision``, per use. Every ORM write to a directory
table replaces that row's random revision in the same transaction (a ``before_flush`` hook), so
every process sees a change as soon as it is committed. A random revision rather than a counter:
a table emptied and filled again (tests, restores) can never bring back an old number.

A system down at one branch only (an outage with a branch, ``outages``) shows in that branch's
services: their ``backends`` hold a copy of the system that is down there, while
``Directory.backends`` and the other branches keep its state everywhere. An outage for one branch
beginning or ending therefore gives the directory a new revision, like a change of the tables.

The objects mirror the models' attribute names (``branch.services``, ``service.backends``,
``counter.services``...), so that rules and templates read the same either way. They are shared
between threads: never change one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from fractions import Fraction
from itertools import chain
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, func, inspect, select, update
from sqlalchemy.orm import InstanceState, Session, selectinload

from queue_app.db import Bilingual
from queue_app.errors import NotFound
from queue_app.models import (
    ApiToken,
    Backend,
    BackendState,
    Branch,
    Counter,
    DirectoryRevision,
    Holiday,
    OpeningHours,
    Outage,
    Role,
    Service,
    SpecialHours,
)
from queue_app.models.kiosks import Kiosk
from queue_app.opening_hours import WeeklyHours
from queue_app.service_demand import counter_shares

REVISION_ROW = 1


@dataclass(eq=False)
class BackendInfo(Bilingual):
    id: int
    code: str
    name_ar: str
    name_en: str
    health_url: str | None
    state: BackendState
    state_since: datetime | None


@dataclass(eq=False)
class ServiceInfo(Bilingual):
    id: int
    code: str
    letter: str
    name_ar: str
    name_en: str
    avg_service_minutes: float
    slot_minutes: int
    manual_fallback_percent: int
    walk_in_percent: int
    backends: list[BackendInfo]
    branch: BranchInfo = field(repr=False)
    # Waiting anywhere: None takes the branch's turn_near_minutes; people None or 0 is off.
    own_turn_near_minutes: int | None = None
    turn_near_people: int | None = None

    @property
    def turn_near_minutes(self) -> int:
        """The "turn near" text's threshold in minutes here: the service's own, else the
        branch's (0: not by minutes)."""
        if self.own_turn_near_minutes is not None:
            return self.own_turn_near_minutes
        return self.branch.turn_near_minutes

    @property
    def tells_turn_near(self) -> bool:
        return self.turn_near_minutes > 0 or bool(self.turn_near_people)


@dataclass(eq=False)
class CounterInfo:
    id: int
    code: str
    is_open: bool
    services: list[ServiceInfo]

    def serves(self, service: ServiceInfo) -> bool:
        return any(s.id == service.id for s in self.services)


@dataclass(eq=False)
class KioskInfo(Bilingual):
    id: int
    code: str
    name_ar: str
    name_en: str
    printer_url: str | None  # its network ticket printer; None: it prints through its browser


@dataclass(eq=False)
class BranchInfo(Bilingual):
    id: int
    code: str
    name_ar: str
    name_en: str
    timezone: str
    country: str
    reschedule_after_minutes: int
    evening_notice: time
    hours: WeeklyHours
    early_tickets_minutes: int = 0
    turn_near_minutes: int = 0
    late_grace_minutes: int = 0
    # How citizens may be told ("sms", "whatsapp"), the first the default.
    channels: tuple[str, ...] = ("sms",)
    join_from_phone: bool = False  # /join/<branch>: today's walk-in ticket from a phone
    booking_code: bool = False  # the booking page confirms the number with a one-time code
    # The local times of the appointment reminders (``reminders``); None: not sent.
    reminder_evening: time | None = None
    reminder_morning: time | None = None
    services: list[ServiceInfo] = field(default_factory=list)
    counters: list[CounterInfo] = field(default_factory=list)
    kiosks: list[KioskInfo] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def service(self, code: str) -> ServiceInfo:
        """Raises NotFound."""
        for service in self.services:
            if service.code == code:
                return service
        raise NotFound(f"no service {code!r} at {self.code}", service=code)

    def counter(self, code: str) -> CounterInfo:
        """Raises NotFound."""
        for counter in self.counters:
            if counter.code == code:
                return counter
        raise NotFound(f"no counter {code!r} at {self.code}", counter=code)

    def kiosk(self, code: str) -> KioskInfo:
        """Raises NotFound."""
        for kiosk in self.kiosks:
            if kiosk.code == code:
                return kiosk
        raise NotFound(f"no kiosk {code!r} at {self.code}", kiosk=code)

    def kiosk_by_id(self, kiosk_id: int | None) -> KioskInfo | None:
        return next((k for k in self.kiosks if k.id == kiosk_id), None)

    def open_counters_serving(self, service: ServiceInfo) -> int:
        return sum(1 for c in self.counters if c.is_open and c.serves(service))

    def counters_serving(self, service: ServiceInfo) -> int:
        """Every counter that serves the service, open now or not: a later day's staffing."""
        return sum(1 for c in self.counters if c.serves(service))

    def counter_time_for(
        self,
        service: ServiceInfo,
        *,
        open_only: bool,
        demand: Mapping[int, float] | None = None,
    ) -> Fraction:
        """How many counters' worth of time the service has for appointments: a counter that
        serves several services splits its time between them (``service_demand``: by
        ``demand``, equally without it), so that two services sharing one counter are not each
        promised all of it."""
        return sum(
            (
                counter_shares([s.id for s in c.services], demand or {})[service.id]
                for c in self.counters
                if c.serves(service) and (c.is_open or not open_only)
            ),
            Fraction(0),
        )


@dataclass(frozen=True)
class TokenInfo:
    role: Role
    branch_id: int | None
    branch_code: str | None
    kiosk_id: int | None = None  # the kiosk of its branch that a kiosk token stands for
    # Checked per request against the app's clock (access.authenticate): time passing changes
    # no row, so the revision cannot tell that a token expired.
    expires_at: datetime | None = None
    id: int | None = None  # the token's row: who made a staff report (outages.report)
    label: str | None = None  # for the audit trail's reader


@dataclass(eq=False)
class Directory:
    revision: str | None
    branches: list[BranchInfo]
    backends: list[BackendInfo]
    tokens: dict[str, TokenInfo]  # by SHA-256 of the token
    _by_code: dict[str, BranchInfo] = field(init=False, repr=False)
    _services: dict[int, ServiceInfo] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_code = {b.code: b for b in self.branches}
        self._services = {s.id: s for b in self.branches for s in b.services}

    def branch(self, code: str) -> BranchInfo:
        """Raises NotFound."""
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFound(f"no branch {code!r}", branch=code) from None

    def service_by_id(self, service_id: int) -> ServiceInfo:
        return self._services[service_id]


# --- keeping it current --------------------------------------------------------------------

DIRECTORY_MODELS = (
    Branch,
    OpeningHours,
    Holiday,
    SpecialHours,
    Service,
    Counter,
    Kiosk,
    Backend,
    ApiToken,
)
# Columns that change all day and are read fresh where they are needed, not through the directory.
VOLATILE_COLUMNS = {"measured_service_seconds"}

_cache: dict[str, Directory] = {}
SESSION_KEY = "queue_app.directory"
# Set in the session when its transaction changes the directory (line_revision forgets on commit).
CHANGED_KEY = "queue_app.directory.changed"
_lock = threading.Lock()


def _changes_directory(session: Session, instance: Any) -> bool:
    if isinstance(instance, Outage):
        # Only a branch's outage beginning or ending changes what a branch's services see (the
        # counts it keeps change all day; one everywhere changes its Backend's state instead).
        return instance.branch_id is not None and (
            instance in session.new
            or instance in session.deleted
            or inspect(instance).attrs.ended_at.history.has_changes()
        )
    if not isinstance(instance, DIRECTORY_MODELS):
        return False
    if instance in session.new or instance in session.deleted:
        return True
    state: InstanceState[Any] = inspect(instance)
    return any(
        attr.history.has_changes() and attr.key not in VOLATILE_COLUMNS for attr in state.attrs
    )


@event.listens_for(Session, "before_flush")
def _new_revision_on_change(session: Session, flush_context: Any, instances: Any) -> None:
    touched = chain(session.new, session.dirty, session.deleted)
    if any(_changes_directory(session, obj) for obj in touched):
        mark_changed(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_per_transaction(session: Session, transaction: Any) -> None:
    session.info.pop(SESSION_KEY, None)


def mark_changed(session: Session) -> None:
    """Give the directory a new revision in the caller's transaction. Writes that bypass the ORM
    (a bulk UPDATE of directory tables) call this themselves."""
    session.info.pop(SESSION_KEY, None)
    session.info[CHANGED_KEY] = True
    session.execute(
        update(DirectoryRevision)
        .where(DirectoryRevision.id == REVISION_ROW)
        .values(revision=uuid.uuid4().hex)
    )


def current(session: Session) -> Directory:
    """The directory as committed, from this process's memory when nothing changed since.

    Checked once per transaction: a request that authenticates and then acts reads it once.
    """
    known = session.info.get(SESSION_KEY)
    if known is not None:
        return known
    directory = _current(session)
    session.info[SESSION_KEY] = directory
    return directory


# The committed revision, as a column that a caller can add to a query it runs anyway: one round
# trip less per request on PostgreSQL (see tickets.lookup and of_revision).
REVISION = (
    select(DirectoryRevision.revision)
    .where(DirectoryRevision.id == REVISION_ROW)
    .scalar_subquery()
    .label("directory_revision")
)


def of_revision(session: Session, revision: str | None) -> Directory:
    """The directory at ``revision``, read by the caller in this transaction (``REVISION``)."""
    known = session.info.get(SESSION_KEY)
    if known is not None and known.revision == revision:
        return known
    directory = _for_revision(session, revision)
    session.info[SESSION_KEY] = directory
    return directory


# Built once: every request that checks a token runs it.
_REVISION_NOW = select(DirectoryRevision.revision).where(DirectoryRevision.id == REVISION_ROW)


def _current(session: Session) -> Directory:
    return _for_revision(session, session.scalar(_REVISION_NOW))


def _for_revision(session: Session, revision: str | None) -> Directory:
    bind = session.get_bind()
    assert isinstance(bind, Engine)  # sessions here are bound to an engine, never a connection
    key = bind.url.render_as_string(hide_password=False)
    cached = _cache.get(key)
    if cached is not None and revision is not None and cached.revision == revision:
        return cached
    fresh = _load(session, revision)
    if revision is not None:
        with _lock:
            _cache[key] = fresh
    return fresh


# A branch with everything that hangs off it, loaded in a few queries (the directory, the config
# loader).
ALL_A_BRANCH_HOLDS = (
    selectinload(Branch.services).selectinload(Service.backends),
    selectinload(Branch.counters).selectinload(Counter.services),
    selectinload(Branch.opening_hours),
    selectinload(Branch.holidays),
    selectinload(Branch.special_hours),
    selectinload(Branch.kiosks),
)


def _load(session: Session, revision: str | None) -> Directory:
    # Read in the caller's transaction, so that data and revision agree, and overwrite what its
    # identity map holds: objects loaded earlier in the same session may be older than the rows.
    fresh = {"populate_existing": True}
    backends = {
        b.id: BackendInfo(
            id=b.id,
            code=b.code,
            name_ar=b.name_ar,
            name_en=b.name_en,
            health_url=b.health_url,
            state=b.state,
            state_since=b.state_since,
        )
        for b in session.scalars(select(Backend).order_by(Backend.code), execution_options=fresh)
    }
    rows = session.scalars(
        select(Branch).order_by(Branch.code).options(*ALL_A_BRANCH_HOLDS),
        execution_options=fresh,
    ).all()
    down_here = _down_at_branches(session, backends)
    branches = [_branch_info(row, backends, down_here.get(row.id, {})) for row in rows]
    by_id = {b.id: b for b in branches}
    tokens = {
        t.token_hash: TokenInfo(
            role=t.role,
            branch_id=t.branch_id,
            branch_code=by_id[t.branch_id].code if t.branch_id in by_id else None,
            kiosk_id=t.kiosk_id,
            expires_at=t.expires_at,
            id=t.id,
            label=t.label,
        )
        for t in session.scalars(
            select(ApiToken).where(ApiToken.revoked_at.is_(None)), execution_options=fresh
        )
    }
    return Directory(
        revision=revision, branches=branches, backends=list(backends.values()), tokens=tokens
    )


def _down_at_branches(
    session: Session, backends: dict[int, BackendInfo]
) -> dict[int, dict[int, BackendInfo]]:
    """Per branch, the systems an outage of that branch alone holds down, as that branch sees
    them: down since the earliest outage that still covers it."""
    found: dict[int, dict[int, BackendInfo]] = {}
    for backend_id, branch_id, started in session.execute(
        select(Outage.backend_id, Outage.branch_id, func.min(Outage.started_at))
        .where(Outage.ended_at.is_(None), Outage.branch_id.is_not(None))
        .group_by(Outage.backend_id, Outage.branch_id)
    ):
        assert branch_id is not None  # the query asked for branches' outages
        everywhere = backends[backend_id]
        since = started
        if everywhere.state == BackendState.DOWN and everywhere.state_since is not None:
            since = min(since, everywhere.state_since)
        found.setdefault(branch_id, {})[backend_id] = replace(
            everywhere, state=BackendState.DOWN, state_since=since
        )
    return found


def _branch_info(
    row: Branch, backends: dict[int, BackendInfo], down_here: dict[int, BackendInfo]
) -> BranchInfo:
    branch = BranchInfo(
        id=row.id,
        code=row.code,
        name_ar=row.name_ar,
        name_en=row.name_en,
        timezone=row.timezone,
        country=row.country,
        reschedule_after_minutes=row.reschedule_after_minutes,
        evening_notice=row.evening_notice,
        early_tickets_minutes=row.early_tickets_minutes,
        turn_near_minutes=row.turn_near_minutes,
        late_grace_minutes=row.late_grace_minutes,
        channels=tuple(row.channels.split(",")),
        join_from_phone=row.join_from_phone,
        booking_code=row.booking_code,
        reminder_evening=row.reminder_evening,
        reminder_morning=row.reminder_morning,
        hours=WeeklyHours.of(
            {h.weekday: (h.opens, h.closes) for h in row.opening_hours},
            (h.day for h in row.holidays),
            ((h.first_day, h.last_day, h.opens, h.closes) for h in row.special_hours),
        ),
    )
    services = {
        s.id: ServiceInfo(
            id=s.id,
            code=s.code,
            letter=s.letter,
            name_ar=s.name_ar,
            name_en=s.name_en,
            avg_service_minutes=s.avg_service_minutes,
            slot_minutes=s.slot_minutes,
            manual_fallback_percent=s.manual_fallback_percent,
            walk_in_percent=s.walk_in_percent,
            own_turn_near_minutes=s.turn_near_minutes,
            turn_near_people=s.turn_near_people,
            backends=[down_here.get(b.id, backends[b.id]) for b in s.backends],
            branch=branch,
        )
        for s in row.services
    }
    branch.services = list(services.values())
    branch.counters = [
        CounterInfo(id=c.id, code=c.code, is_open=c.is_open, services=_pick(services, c.services))
        for c in row.counters
    ]
    branch.kiosks = [
        KioskInfo(
            id=k.id, code=k.code, name_ar=k.name_ar, name_en=k.name_en, printer_url=k.printer_url
        )
        for k in row.kiosks
    ]
    return branch


def _pick(services: dict[int, ServiceInfo], rows: Iterable[Service]) -> list[ServiceInfo]:
    return [services[s.id] for s in rows]
