"""Random office shapes for property tests (issue 13): 1 to 6 counters, each serving 1 to 5
services, service times of 3 to 30 minutes, slots of 10 to 60 minutes, walk-in shares of 0 to
100 %. A shape is plain data; it is built either as the directory's objects (for the pure
tests: ``as_directory``) or as the database's rows (for the tests on a real database:
``as_rows``).

Every service is served by at least one counter (a service no counter serves is closed and
takes no ticket, which is another story), and at least one service needs the back-end system
whose outage the tests start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from hypothesis import strategies as st

from queue_app.directory import BranchInfo, CounterInfo, ServiceInfo
from queue_app.models import Backend, Branch, Counter, OpeningHours, Service
from queue_app.opening_hours import WeeklyHours

SUN_TO_THU = (6, 0, 1, 2, 3)  # date.weekday() numbers of Sunday..Thursday
OPENS, CLOSES = time(8), time(15)
BRANCH_CODE = "cairo-civil"


@dataclass(frozen=True)
class ServiceShape:
    minutes: int  # the configured time one citizen takes
    slot_minutes: int
    walk_in_percent: int
    needs_system: bool

    def code(self, n: int) -> str:
        return f"s{n}"


@dataclass(frozen=True)
class OfficeShape:
    services: tuple[ServiceShape, ...]
    counters: tuple[tuple[int, ...], ...]  # per counter, the services it serves (indices)

    def describe(self) -> str:
        lines = [
            f"s{n}: {s.minutes} min, {s.slot_minutes}-min slots, {s.walk_in_percent}% walk-ins"
            + (", needs the system" if s.needs_system else "")
            for n, s in enumerate(self.services)
        ]
        lines += [f"counter {c + 1}: {list(served)}" for c, served in enumerate(self.counters)]
        return "\n".join(lines)


service_shapes = st.builds(
    ServiceShape,
    minutes=st.integers(3, 30),
    slot_minutes=st.integers(10, 60),
    # Any share, and often the high ones that leave an outage's line without room.
    walk_in_percent=st.one_of(st.integers(0, 100), st.sampled_from([90, 97, 99, 100])),
    needs_system=st.booleans(),
)


@st.composite
def office_shapes(draw: st.DrawFn, max_services: int = 8) -> OfficeShape:
    counters = draw(st.integers(1, 6))
    count = draw(st.integers(1, min(max_services, 5 * counters)))
    services = draw(st.lists(service_shapes, min_size=count, max_size=count))
    if not any(s.needs_system for s in services):
        first = services[0]
        services[0] = ServiceShape(first.minutes, first.slot_minutes, first.walk_in_percent, True)
    served = []
    for c in range(counters):
        # Round-robin homes: every service has a counter, and no counter more than five.
        home = [n for n in range(count) if n % counters == c]
        extra = draw(st.lists(st.integers(0, count - 1), unique=True, max_size=5))
        mine = home + [n for n in extra if n not in home]
        if not mine:
            mine = [draw(st.integers(0, count - 1))]
        served.append(tuple(sorted(mine[:5])))
    return OfficeShape(tuple(services), tuple(served))


def as_directory(shape: OfficeShape, timezone: str = "Africa/Cairo") -> list[ServiceInfo]:
    """The shape as the directory sees it (no database): its services, whose ``branch`` holds
    the counters. Open Sunday to Thursday, 08:00 to 15:00; every counter open."""
    branch = BranchInfo(
        id=1,
        code=BRANCH_CODE,
        name_ar="سجل مدني",
        name_en="Civil registry",
        timezone=timezone,
        country="EG",
        reschedule_after_minutes=20,
        evening_notice=time(18),
        hours=WeeklyHours.of(dict.fromkeys(SUN_TO_THU, (OPENS, CLOSES))),
    )
    services = [
        ServiceInfo(
            id=n + 1,
            code=s.code(n),
            letter=chr(ord("A") + n),
            name_ar="خدمة",
            name_en="Service",
            avg_service_minutes=s.minutes,
            slot_minutes=s.slot_minutes,
            manual_fallback_percent=0,
            walk_in_percent=s.walk_in_percent,
            backends=[],
            branch=branch,
        )
        for n, s in enumerate(shape.services)
    ]
    branch.services = services
    branch.counters = [
        CounterInfo(id=c + 1, code=str(c + 1), is_open=True, services=[services[n] for n in ns])
        for c, ns in enumerate(shape.counters)
    ]
    return services


def as_rows(shape: OfficeShape, backend: Backend) -> Branch:
    """The shape as rows of a new branch (not yet added to a session): open Sunday to
    Thursday, 08:00 to 15:00, every counter open; the services that need the system need
    ``backend``."""
    branch = Branch(
        code=BRANCH_CODE,
        name_ar="سجل مدني",
        name_en="Civil registry",
        timezone="Africa/Cairo",
        country="EG",
    )
    branch.opening_hours = [OpeningHours(weekday=d, opens=OPENS, closes=CLOSES) for d in SUN_TO_THU]
    services = [
        Service(
            code=s.code(n),
            letter=chr(ord("A") + n),
            name_ar=f"خدمة {n}",
            name_en=f"Service {n}",
            avg_service_minutes=s.minutes,
            slot_minutes=s.slot_minutes,
            walk_in_percent=s.walk_in_percent,
            backends=[backend] if s.needs_system else [],
        )
        for n, s in enumerate(shape.services)
    ]
    branch.services = services
    branch.counters = [
        Counter(code=str(c + 1), is_open=True, services=[services[n] for n in ns])
        for c, ns in enumerate(shape.counters)
    ]
    return branch
