"""The day simulation's own parts: the arrival patterns, the office presets, the figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from bench import day_simulation as sim


def big(**changes: object) -> sim.Options:
    return replace(sim.Options(layout=sim.OFFICES["big"].layout), **changes)  # type: ignore[arg-type]


def test_later_days_leave_the_outage_days_citizens_as_they_were() -> None:
    alone = sim.make_citizens(big())
    with_later = sim.make_citizens(big(days=3))
    assert with_later[: len(alone)] == alone
    later_days = {c.arrival.astimezone(sim.ZONE).date() for c in with_later[len(alone) :]}
    assert len(later_days) == 3
    assert big().day1 not in later_days
    assert len({c.id for c in with_later}) == len(with_later)


def test_a_crowd_keeps_the_days_expected_demand_and_comes_before_opening() -> None:
    def expected(options: sim.Options) -> float:
        return sum(
            rate * (sim.local(options.day1, end) - sim.local(options.day1, start)).seconds / 3600
            for start, end, rate in sim.arrival_blocks(options)
        )

    assert expected(big(arrivals="crowd")) == expected(big()) == 270
    crowd = sim.make_citizens(big(arrivals="crowd"))
    early = [c for c in crowd if c.arrival < sim.local(big().day1, sim.OPENS)]
    assert 0.3 < len(early) / len(crowd) < 0.5
    assert min(c.arrival for c in crowd) >= sim.local(big().day1, time(6, 30))


def test_every_office_is_busy_but_not_hopeless_on_a_normal_day() -> None:
    mean_minutes = sum(s.minutes * s.share for s in sim.SERVICES)
    for office in sim.OFFICES.values():
        demand = sum(rate * 2 for rate in office.rates) * mean_minutes
        load = demand / (len(office.layout) * 7 * 60)
        assert 0.8 < load < 0.9, office.label
        for service in sim.SERVICES:
            assert any(service.code in codes for codes in office.layout)


def test_the_plain_queue_calls_only_what_a_counter_serves() -> None:
    options = replace(
        big(),
        office="six",
        layout=sim.OFFICES["six"].layout,
        rates=sim.OFFICES["six"].rates,
        counters=6,
    )
    citizens = sim.make_citizens(options)
    queue = sim.PlainQueue(citizens, options, outage=False)
    inquiries = next(c.id for c in citizens if c.service.code == "inquiries")
    assert not queue.can_do(inquiries, 1)
    assert queue.can_do(inquiries, 6)
    queue.run()
    assert not queue.unfinished


def test_quantile_is_the_nearest_rank() -> None:
    assert sim.quantile([], 0.9) == 0.0
    assert sim.quantile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert sim.quantile(list(map(float, range(1, 11))), 0.9) == 9.0


def one_shared_crowd() -> sim.Options:
    """One counter serving all three services, a crowd at the door before opening."""
    office = sim.OFFICES["one-shared"]
    return replace(
        big(),
        office="one-shared",
        layout=office.layout,
        rates=office.rates,
        counters=1,
        arrivals="crowd",
    )


def test_one_shared_counter_with_a_crowd_on_sqlite() -> None:
    """End to end on a small office: everyone served, every affected citizen placed or told."""
    result, _ = sim.simulate(one_shared_crowd(), "sqlite")
    ours, plain = result["this system"], result["plain queue"]
    assert ours["citizens"] == plain["citizens"] > 0
    assert ours["affected"] > 0
    assert ours["affected_placed_or_told"] == ours["affected"]
    assert plain["affected_placed_or_told"] == 0
    assert ours["citizen_hours"] < plain["citizen_hours"]
    assert sim.matrix_row(result)["placed_or_told_share"] == 1.0


def test_recovery_offers_are_answered_and_bring_citizens_back_the_same_day() -> None:
    """The big office's easy day: the system back at 12:30, the timers go on running, the
    engine offers today's time to those the line's move sent to Thursday; everyone with a
    phone takes it (--offer-accept 1) and is served that day, unless today's room went to
    someone who answered first; nobody texted twice in one day."""
    result, _ = sim.simulate(big(offer_accept=1.0), "sqlite")
    ours = result["this system"]
    offers = ours["audit"]["offers"]
    assert offers["made"] > 0
    refused = offers.get("accepted, but refused by the engine", 0)
    assert offers["accepted"] + refused == offers["texted"] > 0
    assert refused <= offers["texted"] // 10
    assert offers["made"] == offers["texted"] + offers.get("not seen (no phone)", 0)
    assert ours["audit"]["tickets_texted_twice_in_one_day"] == 0
    assert ours["audit"]["tickets_texted_twice_in_one_day_any_outage_text"] == 0
    nobody, _ = sim.simulate(big(offer_accept=0.0), "sqlite")
    assert nobody["this system"]["audit"]["offers"]["accepted"] == 0
    # Unanswered offers free their places for the next wave: more are offered, not fewer.
    assert nobody["this system"]["audit"]["offers"]["made"] > offers["made"]
    assert ours["served_day1"] > nobody["this system"]["served_day1"]


def test_a_crowd_that_may_wait_elsewhere_spends_less_time_on_site() -> None:
    """One shared counter, a crowd at the door: with tickets from 06:30 and a text when the
    turn is near, those with a phone and a long wait leave the hall and come back in time."""
    options = one_shared_crowd()
    stay, _ = sim.simulate(options, "sqlite")
    away, _ = sim.simulate(
        replace(options, early_tickets_minutes=90, turn_near_minutes=30), "sqlite"
    )
    kiosk = away["this system"]["audit"]["kiosk"]
    assert kiosk["before opening: a ticket at the door"] > 0
    assert kiosk["left to wait elsewhere"] > 0
    assert kiosk["texted: turn near"] > 0
    assert kiosk.get("called while away", 0) <= kiosk["left to wait elsewhere"] // 5
    assert away["this system"]["citizens"] == stay["this system"]["citizens"]
    assert away["this system"]["citizen_hours"] < stay["this system"]["citizen_hours"]
    # Nobody is lost on the way: everyone is served in both runs.
    assert away["this system"]["outcomes"]["served"] == away["this system"]["citizens"]
