"""The statistics as JSON (the API's answer and the charts page's data) and as CSV sections that a
spreadsheet opens: one table after another, each under a title row, a blank row between.

The CSV starts with a byte-order mark: without it Excel reads UTF-8 as the local code page and
the Arabic service names turn to mojibake. Column names are stable English identifiers, the same
as the JSON keys, so that a spreadsheet built on one export works on the next.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from queue_app.statistics import OutageImpact, Spread, Statistics

BOM = "\ufeff"
MESSAGE_STATES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "suppressed")


def _spread(value: Spread) -> dict[str, Any]:
    return {
        "count": value.count,
        "median_minutes": value.median_minutes,
        "p90_minutes": value.p90_minutes,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _outage(impact: OutageImpact) -> dict[str, Any]:
    return {
        "id": impact.id,
        "backend": impact.backend,
        "backend_name": {"ar": impact.backend_name_ar, "en": impact.backend_name_en},
        "started_at": _iso(impact.started_at),
        "ended_at": _iso(impact.ended_at),
        "system": {
            "tickets_paused": impact.system_tickets_paused,
            "tickets_moved": impact.system_tickets_moved,
            "tickets_texted": impact.system_tickets_texted,
            "tickets_unplaced": impact.system_tickets_unplaced,
        },
        "tickets_moved": impact.tickets_moved,
        "tickets_moved_from_line": impact.tickets_moved_from_line,
        "tickets_unplaced": impact.tickets_unplaced,
        "messages": dict(sorted(impact.messages.items())),
        "citizen_hours_avoided": impact.citizen_hours_avoided,
    }


def as_json(figures: Statistics) -> dict[str, Any]:
    return {
        "branch": figures.branch,
        "timezone": figures.timezone,
        "from": figures.first_day.isoformat(),
        "to": figures.last_day.isoformat(),
        "arrived": figures.arrived,
        "served": figures.served,
        "hours": [
            {"hour": h.hour, "arrived": h.arrived, "served": h.served} for h in figures.hours
        ],
        "wait": _spread(figures.wait),
        "wait_buckets": [
            {"from_minutes": b.from_minutes, "to_minutes": b.to_minutes, "count": b.count}
            for b in figures.wait_buckets
        ],
        "services": [
            {
                "code": s.code,
                "name": {"ar": s.name_ar, "en": s.name_en},
                "service_time": _spread(s.service_time),
                "wait": _spread(s.wait),
                "done": s.done,
                "no_shows": s.no_shows,
                "no_show_share": s.no_show_share,
            }
            for s in figures.services
        ],
        "outages": [_outage(o) for o in figures.outages],
    }


# A cell a spreadsheet would take for a formula (CSV injection): a name from the config file
# that starts so is written as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _section(
    writer: Any, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    writer.writerow([title])
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    writer.writerow([])


def as_csv(figures: Statistics) -> str:
    """The CSV text, its byte-order mark first."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    _section(
        writer,
        "summary",
        [
            "branch",
            "timezone",
            "from",
            "to",
            "arrived",
            "served",
            "wait_count",
            "wait_median_minutes",
            "wait_p90_minutes",
        ],
        [
            [
                figures.branch or "all",
                figures.timezone,
                figures.first_day.isoformat(),
                figures.last_day.isoformat(),
                figures.arrived,
                figures.served,
                figures.wait.count,
                figures.wait.median_minutes,
                figures.wait.p90_minutes,
            ]
        ],
    )
    _section(
        writer,
        "tickets_per_hour",
        ["hour", "arrived", "served"],
        [[h.hour, h.arrived, h.served] for h in figures.hours],
    )
    _section(
        writer,
        "wait_distribution",
        ["from_minutes", "to_minutes", "count"],
        [[b.from_minutes, b.to_minutes, b.count] for b in figures.wait_buckets],
    )
    _section(
        writer,
        "services",
        [
            "code",
            "name_ar",
            "name_en",
            "done",
            "service_median_minutes",
            "service_p90_minutes",
            "wait_median_minutes",
            "wait_p90_minutes",
            "no_shows",
            "no_show_share",
        ],
        [
            [
                s.code,
                s.name_ar,
                s.name_en,
                s.done,
                s.service_time.median_minutes,
                s.service_time.p90_minutes,
                s.wait.median_minutes,
                s.wait.p90_minutes,
                s.no_shows,
                s.no_show_share,
            ]
            for s in figures.services
        ],
    )
    _section(
        writer,
        "outages",
        [
            "id",
            "backend",
            "started_at",
            "ended_at",
            "system_tickets_paused",
            "system_tickets_moved",
            "system_tickets_texted",
            "system_tickets_unplaced",
            "tickets_moved",
            "tickets_moved_from_line",
            "tickets_unplaced",
            *(f"messages_{state}" for state in MESSAGE_STATES),
            "citizen_hours_avoided",
        ],
        [
            [
                o.id,
                o.backend,
                _iso(o.started_at),
                _iso(o.ended_at),
                o.system_tickets_paused,
                o.system_tickets_moved,
                o.system_tickets_texted,
                o.system_tickets_unplaced,
                o.tickets_moved,
                o.tickets_moved_from_line,
                o.tickets_unplaced,
                *(o.messages.get(state, 0) for state in MESSAGE_STATES),
                o.citizen_hours_avoided,
            ]
            for o in figures.outages
        ],
    )
    return out.getvalue()
