"""A shared counter's time split by what each service asked of it over the last weeks, and the
walk-in share of later days that the usual walk-ins leave unused, open to the walk-ins an outage
moves (queue_app.service_demand, slots.usual_walk_ins)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

from queue_app import directory, service_demand, slots
from queue_app.web.extensions import db
from tests.helpers.history import served_walk_ins

# The fixture's clock: Tuesday 24 November 2026, 10:00 in Cairo.
WEDNESDAY = date(2026, 11, 25)


def _services(code: str = "cairo-civil"):
    branch = directory.current(db.session).branch(code)
    return branch, branch.service("id-card"), branch.service("birth-cert")


def test_counter_shares_without_demand_are_equal_and_always_add_up():
    assert service_demand.counter_shares([1, 2, 3], {}) == dict.fromkeys([1, 2, 3], Fraction(1, 3))
    shares = service_demand.counter_shares([1, 2], {1: 900.0, 2: 180.0})
    # A fifth split equally, the rest by demand: 0.1 + 0.8 × 5/6 and 0.1 + 0.8 × 1/6.
    assert shares == {1: Fraction(23, 30), 2: Fraction(7, 30)}
    assert sum(shares.values()) == 1
    # A service nobody asked for lately keeps its part of the equal fifth.
    assert service_demand.counter_shares([1, 2], {1: 600.0}) == {
        1: Fraction(9, 10),
        2: Fraction(1, 10),
    }


def test_the_busier_service_gets_more_of_a_shared_counter(app, make_branch, clock):
    made = make_branch(services=[("id-card", "A"), ("birth-cert", "B")])
    branch, id_card, birth = _services()
    equal = slots.capacities(db.session, id_card, clock.now()).exact(WEDNESDAY)
    # Half the counter, 30-minute slots, 6 minutes each, half kept for walk-ins: 1.25.
    assert equal == Fraction(5, 4)
    served_walk_ins(made, id_card, days=5, per_day=30)  # 150 ID cards
    served_walk_ins(made, birth, days=5, per_day=6)  # 30 birth certificates
    by_demand = slots.capacities(db.session, id_card, clock.now()).exact(WEDNESDAY)
    assert by_demand == Fraction(5, 2) * Fraction(23, 30)
    less = slots.capacities(db.session, birth, clock.now()).exact(WEDNESDAY)
    assert less == Fraction(5, 2) * Fraction(7, 30)
    # Today's served tickets do not count until tomorrow: the split holds all day.
    assert service_demand.served_minutes(db.session, branch, date(2026, 11, 24)) == {
        id_card.id: 900.0,
        birth.id: 180.0,
    }


def test_too_little_history_keeps_the_split_equal(app, make_branch, clock):
    made = make_branch(services=[("id-card", "A"), ("birth-cert", "B")])
    branch, id_card, _ = _services()
    served_walk_ins(made, id_card, days=3, per_day=30)  # 90: under MIN_HISTORY
    assert service_demand.served_minutes(db.session, branch, date(2026, 11, 24)) == {}
    assert slots.capacities(db.session, id_card, clock.now()).exact(WEDNESDAY) == Fraction(5, 4)


def _walk_in_room(id_card, clock) -> int:
    found = slots.openings(
        db.session,
        id_card,
        clock.now(),
        datetime(2026, 11, 25, 6, tzinfo=UTC),
        10**6,
        horizon_days=1,
        walk_ins_until=clock.now(),
    )
    return sum(o.walk_in_room for o in found)


def test_a_later_day_s_walk_in_share_is_open_to_moves_only_where_walk_ins_leave_it(
    app, make_branch, clock
):
    made = make_branch(services=[("id-card", "A"), ("birth-cert", "B")], counters=2)
    _, id_card, _ = _services()
    # No history: later days keep their whole walk-in share.
    assert _walk_in_room(id_card, clock) == 0
    # Five days of 60 ID-card walk-ins, all between 09:00 and 10:00 (Cairo).
    served_walk_ins(made, id_card, days=5, per_day=60, hour=9)
    caps = slots.capacities(db.session, id_card, clock.now())
    usual = slots.usual_walk_ins(db.session, id_card, date(2026, 11, 24))
    assert usual is not None
    assert usual.days == 5
    unused = caps.unused_walk_in_share(WEDNESDAY, usual)
    nine, nine_thirty = (datetime(2026, 11, 25, 7, m, tzinfo=UTC) for m in (0, 30))
    # The two slots the walk-ins fill leave nothing; the other twelve leave their share.
    assert unused[nine] == unused[nine_thirty] == 0
    share = caps.exact_walk_in_share(WEDNESDAY)
    assert sum(unused.values()) == int(share * 12)
    assert _walk_in_room(id_card, clock) == sum(unused.values())
    # Nobody but the outage's moves may take it: a booking's openings have no walk-in room.
    plain = slots.openings(db.session, id_card, clock.now(), clock.now(), 10**6, horizon_days=2)
    assert sum(o.walk_in_room for o in plain) == 0
