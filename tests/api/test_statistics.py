"""A branch's statistics (queue_app/statistics.py) on a hand-built Monday, 23 November 2026 in Cairo
(UTC+2): the day of tests/helpers/statistics_day.py. And GET /api/v1/branches/{code}/statistics:
its figures, CSV, scoping and bad input."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from queue_app import statistics
from queue_app.access import Principal
from queue_app.db import Base
from queue_app.errors import Forbidden, InvalidInput
from queue_app.models import Branch, Outage, Role, TicketStatus
from queue_app.web.extensions import db
from tests.helpers.statistics_day import build_day, make_ticket, service

CAIRO = ZoneInfo("Africa/Cairo")
MONDAY = date(2026, 11, 23)
TUESDAY = date(2026, 11, 24)
URL = "/api/v1/branches/cairo-civil/statistics"


def cairo(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CAIRO)


@pytest.fixture
def monday(app, make_backend, make_branch) -> Outage:
    """The day of statistics_day at cairo-civil, and one ticket at alex-civil; its outage."""
    backend = make_backend()
    make_branch(services=[("id-card", "A"), ("passport", "B")], backends=[backend])
    make_branch("alex-civil", backends=[backend])
    make_ticket(
        service("alex-civil", "id-card"),
        issued=cairo(MONDAY, 9),
        called=cairo(MONDAY, 9, 50),
        finished=cairo(MONDAY, 9, 55),
        status=TicketStatus.DONE,
    )
    return build_day("cairo-civil", MONDAY, "id-card", "passport", backend.code)


def _manager(branch: str = "cairo-civil") -> Principal:
    found = db.session.scalars(select(Branch).where(Branch.code == branch)).one()
    return Principal(role=Role.MANAGER, branch_id=found.id, branch_code=branch)


def _figures(clock, **kwargs: Any) -> statistics.Statistics:
    return statistics.for_branch(
        db.session, clock, kwargs.pop("who", None) or _manager(), "cairo-civil", MONDAY, MONDAY
    )


# --- the domain -----------------------------------------------------------------------------


def test_tickets_per_local_hour(monday, clock) -> None:
    figures = _figures(clock)
    arrived = {h.hour: h.arrived for h in figures.hours if h.arrived}
    served = {h.hour: h.served for h in figures.hours if h.served}
    # A-7 was issued at 00:30 Cairo time (22:30 UTC on Sunday): Monday's hour 0, not Sunday's.
    assert arrived == {0: 1, 9: 4, 10: 2, 11: 1}
    assert served == {9: 2, 10: 2, 11: 1}
    assert (figures.arrived, figures.served) == (8, 5)
    assert [h.hour for h in figures.hours] == list(range(24))


def test_waits_their_median_p90_and_histogram(monday, clock) -> None:
    figures = _figures(clock)
    # Waits 2, 10, 15, 20, 30, 60: the median between 15 and 20; the nearest-rank p90 is the 6th.
    assert figures.wait == statistics.Spread(6, 17.5, 60.0)
    buckets = {(b.from_minutes, b.to_minutes): b.count for b in figures.wait_buckets if b.count}
    assert buckets == {(0, 5): 1, (10, 15): 1, (15, 20): 1, (20, 30): 1, (30, 45): 1, (60, 90): 1}
    assert figures.wait_buckets[-1].to_minutes is None


def test_service_times_and_no_shows_per_service(monday, clock) -> None:
    by_code = {s.code: s for s in _figures(clock).services}
    id_card, passport = by_code["id-card"], by_code["passport"]
    assert id_card.service_time == statistics.Spread(4, 7.0, 10.0)  # 4, 6, 8, 10 minutes
    assert (id_card.done, id_card.no_shows) == (4, 2)  # A-4 at the counter, A-6 missed
    assert id_card.no_show_share == pytest.approx(2 / 6, abs=1e-4)
    assert id_card.wait == statistics.Spread(5, 15.0, 30.0)
    assert passport.service_time == statistics.Spread(1, 15.0, 15.0)
    assert (passport.done, passport.no_shows, passport.no_show_share) == (1, 0, 0.0)


def test_the_outage_s_impact_at_the_branch(monday, clock) -> None:
    (impact,) = _figures(clock).outages
    assert impact.id == monday.id
    assert impact.tickets_moved == 2
    # Only B-2 was in the line; B-3 was booked for later and at home.
    assert impact.tickets_moved_from_line == 1
    # B-2 moved at 12:20, the system back at 13:30: 70 minutes.
    assert impact.citizen_hours_avoided == pytest.approx(1.2)
    assert impact.messages == {"delivered": 1, "failed": 1}
    assert (impact.system_tickets_paused, impact.system_tickets_moved) == (4, 3)


def test_an_outage_that_lasts_is_counted_until_closing(monday, clock) -> None:
    monday.ended_at = None  # still down: the branch closes at 15:00, before now (Tuesday)
    db.session.commit()
    (impact,) = _figures(clock).outages
    assert impact.citizen_hours_avoided == pytest.approx(2.7)  # 12:20 -> 15:00


def test_a_day_without_tickets_has_empty_figures(monday, clock) -> None:
    figures = statistics.for_branch(
        db.session, clock, _manager(), "cairo-civil", date(2026, 11, 1), date(2026, 11, 2)
    )
    assert (figures.arrived, figures.served, figures.outages) == (0, 0, [])
    assert figures.wait == statistics.Spread(0, None, None)
    assert {s.no_show_share for s in figures.services} == {None}


def test_another_branch_s_manager_is_refused(monday, clock) -> None:
    with pytest.raises(Forbidden):
        _figures(clock, who=_manager("alex-civil"))


def test_every_branch_is_for_an_admin_only(monday, clock) -> None:
    admin = Principal(role=Role.ADMIN, branch_id=None, branch_code=None)
    every = statistics.for_branch(db.session, clock, admin, None, MONDAY, MONDAY)
    assert (every.arrived, every.served) == (9, 6)  # alex-civil's one ticket too
    assert every.timezone is None
    with pytest.raises(Forbidden):
        statistics.for_branch(db.session, clock, _manager(), None, MONDAY, MONDAY)


@pytest.mark.parametrize(
    ("first", "last"),
    [(TUESDAY, MONDAY), (date(2024, 1, 1), date(2025, 1, 1))],
    ids=["reversed", "367-days"],
)
def test_bad_ranges_are_refused(first, last) -> None:
    with pytest.raises(InvalidInput):
        statistics.check_range(first, last)


def test_a_year_and_a_day_is_allowed() -> None:
    statistics.check_range(date(2024, 1, 1), date(2024, 12, 31))  # 366 days


def test_percentile_is_nearest_rank() -> None:
    assert statistics.percentile([], 0.9) is None
    assert statistics.percentile([5.0], 0.9) == 5.0
    assert statistics.percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert statistics.percentile([float(n) for n in range(1, 12)], 0.9) == 10.0


# --- the API --------------------------------------------------------------------------------


def _assert_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert set(body) == {"error", "message", "fields"}
    assert body["error"] == code
    return body


def test_the_manager_gets_the_day_in_json(client, monday, make_token) -> None:
    response = client.get(
        f"{URL}?from=2026-11-23&to=2026-11-23", headers=make_token("manager", "cairo-civil")
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["branch"], body["timezone"]) == ("cairo-civil", "Africa/Cairo")
    assert (body["from"], body["to"]) == ("2026-11-23", "2026-11-23")
    assert body["wait"] == {"count": 6, "median_minutes": 17.5, "p90_minutes": 60.0}
    assert body["hours"][9] == {"hour": 9, "arrived": 4, "served": 2}
    id_card = next(s for s in body["services"] if s["code"] == "id-card")
    assert id_card["name"] == {"ar": "خدمة A", "en": "Service A"}
    assert id_card["no_show_share"] == pytest.approx(0.3333)
    (outage,) = body["outages"]
    assert outage["backend"] == "civil-registry"
    assert outage["citizen_hours_avoided"] == pytest.approx(1.2)
    assert outage["system"]["tickets_paused"] == 4
    assert outage["messages"] == {"delivered": 1, "failed": 1}


def test_an_admin_may_look_at_any_branch(client, monday, make_token) -> None:
    response = client.get(f"{URL}?from=2026-11-23&to=2026-11-23", headers=make_token("admin"))
    assert response.status_code == 200
    assert response.json["served"] == 5


def test_csv_sections_open_in_a_spreadsheet(client, monday, make_token) -> None:
    response = client.get(
        f"{URL}?from=2026-11-23&to=2026-11-23&format=csv", headers=make_token("manager")
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        "statistics-cairo-civil-2026-11-23-2026-11-23.csv"
        in response.headers["Content-Disposition"]
    )
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads the Arabic as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    sections: dict[str, list[dict[str, str]]] = {}
    index = 0
    while index < len(rows):
        title, header = rows[index][0], rows[index + 1]
        index += 2
        body = []
        while index < len(rows) and rows[index]:
            body.append(dict(zip(header, rows[index], strict=True)))
            index += 1
        sections[title] = body
        index += 1  # the blank row between sections
    assert list(sections) == [
        "summary",
        "tickets_per_hour",
        "wait_distribution",
        "services",
        "outages",
    ]
    (summary,) = sections["summary"]
    assert summary["wait_median_minutes"] == "17.5"
    assert summary["wait_p90_minutes"] == "60.0"
    assert sections["tickets_per_hour"][10] == {"hour": "10", "arrived": "2", "served": "2"}
    assert len(sections["tickets_per_hour"]) == 24
    id_card = next(s for s in sections["services"] if s["code"] == "id-card")
    assert id_card["name_ar"] == "خدمة A"
    assert (id_card["no_shows"], id_card["service_median_minutes"]) == ("2", "7.0")
    (outage,) = sections["outages"]
    assert (outage["messages_delivered"], outage["citizen_hours_avoided"]) == ("1", "1.2")
    assert sections["wait_distribution"][-1]["to_minutes"] == ""


def test_csv_writes_formula_like_names_as_text(client, monday, make_token) -> None:
    passport = service("cairo-civil", "passport")
    passport.name_en = "=HYPERLINK(1)"
    db.session.commit()
    response = client.get(
        f"{URL}?from=2026-11-23&to=2026-11-23&format=csv", headers=make_token("manager")
    )
    assert "'=HYPERLINK(1)" in response.get_data(as_text=True)


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-23", "to"),
        ("to=2026-11-23", "from"),
        ("from=23/11/2026&to=2026-11-23", "from"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=2026-11-24&to=2026-11-23", "from"),
        ("from=2024-01-01&to=2025-01-01", "to"),
        ("from=2026-11-23&to=2026-11-23&format=xlsx", "format"),
    ],
)
def test_bad_input_is_refused_with_422(client, monday, make_token, query, field) -> None:
    headers = make_token("manager")
    before = _row_counts()
    body = _assert_error(client.get(f"{URL}?{query}", headers=headers), 422, "invalid_input")
    assert field in body["fields"]
    assert _row_counts() == before


@pytest.mark.parametrize("role", ["staff", "kiosk"])
def test_staff_and_kiosks_are_refused(client, monday, make_token, role) -> None:
    response = client.get(f"{URL}?from=2026-11-23&to=2026-11-23", headers=make_token(role))
    _assert_error(response, 403, "forbidden")


def test_another_branch_s_manager_gets_403(client, monday, make_token) -> None:
    headers = make_token("manager", "alex-civil")
    response = client.get(f"{URL}?from=2026-11-23&to=2026-11-23", headers=headers)
    _assert_error(response, 403, "forbidden")


def test_without_a_token_401_and_unknown_branch_404(client, monday, make_token) -> None:
    _assert_error(client.get(f"{URL}?from=2026-11-23&to=2026-11-23"), 401, "unauthorized")
    response = client.get(
        "/api/v1/branches/nowhere/statistics?from=2026-11-23&to=2026-11-23",
        headers=make_token("admin"),
    )
    _assert_error(response, 404, "not_found")
