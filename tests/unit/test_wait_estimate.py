"""The forward simulation of a branch's counters behind every estimated wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from queue_app.wait_estimate import (
    Counter,
    Line,
    Service,
    Ticket,
    Wait,
    call_times,
    newcomer_wait,
    waits,
)

TEN = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 10:00 in Cairo
ID_CARD, BIRTH, INQUIRY = 1, 2, 3
SIX_MIN = {
    ID_CARD: Service(ID_CARD, 360),
    BIRTH: Service(BIRTH, 360),
    INQUIRY: Service(INQUIRY, 360),
}


def minutes_ago(n: float) -> datetime:
    return TEN - timedelta(minutes=n)


def counter(*services: int, **busy: object) -> Counter:
    return Counter(1, frozenset(services), **busy)  # type: ignore[arg-type]


def called_minutes(line: Line, **kw: float) -> dict[int, float | None]:
    return {k: None if v is None else v / 60 for k, v in call_times(line, **kw).items()}


def test_one_counter_shared_by_three_services_calls_them_all_in_one_line():
    """The old formula told the birth-certificate ticket 0 minutes (nobody of its own service
    ahead); the shared counter serves the other two first."""
    tickets = [
        Ticket(10, ID_CARD, priority=False, queued_at=minutes_ago(30)),
        Ticket(11, INQUIRY, priority=False, queued_at=minutes_ago(20)),
        Ticket(12, BIRTH, priority=False, queued_at=minutes_ago(10)),
        Ticket(13, ID_CARD, priority=False, queued_at=minutes_ago(5)),
    ]
    line = Line(TEN, SIX_MIN, [counter(ID_CARD, BIRTH, INQUIRY)], tickets)
    assert called_minutes(line) == {10: 0, 11: 6, 12: 12, 13: 18}
    assert waits(line)[12] == Wait(minutes=12, low=9, high=17)


def test_counters_shared_unevenly():
    # Counter 1 serves only ID cards, counter 2 both: births go to counter 2 when it is free.
    services = {ID_CARD: Service(ID_CARD, 600), BIRTH: Service(BIRTH, 300)}
    counters = [
        Counter(1, frozenset({ID_CARD})),
        Counter(2, frozenset({ID_CARD, BIRTH})),
    ]
    tickets = [
        Ticket(1, ID_CARD, priority=False, queued_at=minutes_ago(9)),
        Ticket(2, ID_CARD, priority=False, queued_at=minutes_ago(8)),
        Ticket(3, BIRTH, priority=False, queued_at=minutes_ago(7)),
        Ticket(4, ID_CARD, priority=False, queued_at=minutes_ago(6)),
    ]
    line = Line(TEN, services, counters, tickets)
    # 1 and 2 at once; at 10 both come free: counter 1 takes 4 (its only service), counter 2
    # the birth certificate, which is first in line among what it serves.
    assert called_minutes(line) == {1: 0, 2: 0, 3: 10, 4: 10}


def test_priority_ticket_jumps_ahead():
    tickets = [
        Ticket(1, ID_CARD, priority=False, queued_at=minutes_ago(30)),
        Ticket(2, ID_CARD, priority=False, queued_at=minutes_ago(20)),
        Ticket(3, BIRTH, priority=True, queued_at=minutes_ago(1)),
    ]
    line = Line(TEN, SIX_MIN, [counter(ID_CARD, BIRTH)], tickets)
    assert called_minutes(line) == {3: 0, 1: 6, 2: 12}


def test_paused_service_has_no_estimate_and_does_not_hold_the_counter():
    services = {**SIX_MIN, BIRTH: Service(BIRTH, 360, paused=True)}
    tickets = [
        Ticket(1, BIRTH, priority=False, queued_at=minutes_ago(30)),
        Ticket(2, ID_CARD, priority=False, queued_at=minutes_ago(20)),
    ]
    line = Line(TEN, services, [counter(ID_CARD, BIRTH)], tickets)
    result = waits(line)
    assert result[1] is None
    assert result[2] == Wait(0, 0, 0)
    assert newcomer_wait(line, BIRTH) is None


def test_no_open_counter_serving_a_service_gives_none():
    tickets = [Ticket(1, BIRTH, priority=False, queued_at=minutes_ago(3))]
    line = Line(TEN, SIX_MIN, [counter(ID_CARD)], tickets)
    assert waits(line) == {1: None}


def test_counter_busy_for_four_more_minutes():
    # Six minutes per citizen, the current one at the counter for two already.
    busy = counter(ID_CARD, serving_service_id=ID_CARD, serving_for_seconds=120)
    tickets = [
        Ticket(1, ID_CARD, priority=False, queued_at=minutes_ago(10)),
        Ticket(2, ID_CARD, priority=False, queued_at=minutes_ago(5)),
    ]
    line = Line(TEN, SIX_MIN, [busy], tickets)
    assert called_minutes(line) == {1: 4, 2: 10}
    # A citizen past the usual time still counts for a quarter of it.
    overdue = counter(ID_CARD, serving_service_id=ID_CARD, serving_for_seconds=900)
    assert called_minutes(Line(TEN, SIX_MIN, [overdue], tickets)) == {1: 1.5, 2: 7.5}


def test_degraded_service_goes_at_its_manual_share():
    services = {ID_CARD: Service(ID_CARD, 300, pace_share=0.5)}
    tickets = [
        Ticket(1, ID_CARD, priority=False, queued_at=minutes_ago(10)),
        Ticket(2, ID_CARD, priority=False, queued_at=minutes_ago(5)),
    ]
    line = Line(TEN, services, [counter(ID_CARD)], tickets)
    assert called_minutes(line) == {1: 0, 2: 10}


def test_appointment_due_at_half_past_ten_enters_the_line_at_its_slot():
    half_past = TEN + timedelta(minutes=30)
    walk_ins = [
        Ticket(n, ID_CARD, priority=False, queued_at=minutes_ago(30 - n)) for n in range(1, 6)
    ]
    # Ten minutes each: the walk-ins are called at 0, 10, 20, 30 and 40 minutes; the appointment
    # joins at 10:30 behind them all (they were queued earlier) and is called at 10:50.
    services = {ID_CARD: Service(ID_CARD, 600)}
    due = Ticket(9, ID_CARD, priority=False, queued_at=half_past, due=True)
    line = Line(TEN, services, [counter(ID_CARD)], [*walk_ins, due])
    assert called_minutes(line) == {1: 0, 2: 10, 3: 20, 4: 30, 5: 40, 9: 50}
    # A walk-in taken now is queued before the appointment's slot: it is not delayed by it.
    assert newcomer_wait(line, ID_CARD) == Wait(50, 37, 68)

    # With only two walk-ins the counter is idle from 10:20 until the appointment arrives.
    short = Line(TEN, services, [counter(ID_CARD)], [*walk_ins[:2], due])
    assert called_minutes(short) == {1: 0, 2: 10, 9: 30}

    # An appointment checked in early (queued at its slot, 10:40) waits behind one due at 10:30
    # who has not checked in yet, as call_next would order them once both are in the line.
    early = Ticket(8, ID_CARD, priority=False, queued_at=half_past + timedelta(minutes=10))
    line = Line(TEN, services, [counter(ID_CARD)], [*walk_ins[:3], early, due])
    # 1, 2, 3 at 0, 10, 20; at 30 the due appointment (10:30) is in line and goes before 10:40.
    assert called_minutes(line) == {1: 0, 2: 10, 3: 20, 9: 30, 8: 40}


def test_range_holds_the_estimate():
    tickets = [
        Ticket(n, ID_CARD, priority=False, queued_at=minutes_ago(60 - n)) for n in range(1, 21)
    ]
    line = Line(TEN, SIX_MIN, [counter(ID_CARD)], tickets)
    result = waits(line)
    for ticket in tickets:
        wait = result[ticket.id]
        assert wait is not None
        assert wait.low <= wait.minutes <= wait.high
    last = result[20]
    assert last == Wait(114, 85, 154)


def test_before_the_opening_the_counters_start_calling_at_it():
    # Tickets taken early (early_tickets_minutes): at 07:00 for an 08:00 opening, the hour to
    # the opening comes first, then the line; the range widens only the line's part.
    seven = TEN - timedelta(hours=3)
    tickets = [
        Ticket(n, ID_CARD, priority=False, queued_at=seven - timedelta(minutes=30 - n))
        for n in range(1, 11)
    ]
    line = Line(seven, SIX_MIN, [counter(ID_CARD)], tickets, starts=seven + timedelta(hours=1))
    assert called_minutes(line)[1] == 60
    assert called_minutes(line)[10] == 60 + 9 * 6
    assert newcomer_wait(line, ID_CARD) == Wait(minutes=120, low=105, high=141)
