"""``queue-app serve`` with one more route: the floor of ticket issue, for ``bench.issue_floor``.

    python -m bench.floor_server [--host 127.0.0.1] [--port 8000] [--workers N] [--threads N]

The app served is the product's, built by ``queue-app serve`` itself (same gunicorn options,
``Settings.from_env()``, the same checks), plus ``POST /bench/floor/branches/<branch>/tickets``
(JSON ``{"service": code, "phone": "+20..."}``, a kiosk's bearer token). That route makes the
rows a walk-in ticket with a phone makes, by hand-written SQL in one transaction, with nothing
else: the day's number (the same ``ticket_number_sequences`` row as ``numbering``), the ticket,
its first event ("issued") and its outbox message (the columns ``outbox.row`` fills; the body is
the number and the ticket's link). It answers 201 with ``{"number", "token"}``. The branch's line
revision is not bumped: the product does not bump it for a plain walk-in joining behind
everyone (``line_revision``).

What the floor leaves out, so that it is a floor: it reads the branches, services and kiosk
tokens once (at its first request) and never checks that they changed; it checks the token by
its SHA-256 in that memory; it neither parses the phone nor checks the day's cap, opening hours
or the service's state; it computes no place in line nor wait. Round trips: PostgreSQL, one
statement (data-modifying CTEs) on an autocommit connection, which is its own transaction: one
round trip, no BEGIN or COMMIT; SQLite, four statements (number, ticket, event, message) and
the commit, inside the process.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, request
from sqlalchemy import BindParameter, Connection, Engine, TextClause, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.types import Date, Integer

from queue_app.db import UTCDateTime
from queue_app.message_lanes import lane_of
from queue_app.texting import ticket_page
from queue_app.web import server
from queue_app.web.extensions import current_clock, current_settings, db

FLOOR_PATH = "/bench/floor/branches/<branch_code>/tickets"
EVENT = "issued"


@dataclass(frozen=True)
class FloorService:
    id: int
    letter: str


@dataclass(frozen=True)
class FloorBranch:
    id: int
    zone: ZoneInfo
    services: dict[str, FloorService]


@dataclass(frozen=True)
class KioskToken:
    branch_id: int | None
    expires_at: datetime | None


@dataclass(frozen=True)
class FloorDirectory:
    branches: dict[str, FloorBranch]
    tokens: dict[str, KioskToken]  # by SHA-256, hex, as api_tokens.token_hash


def rows(conn: Connection, statement: TextClause | TextualSelect) -> list[Any]:
    return list(conn.execute(statement).all())


def read_directory(engine: Engine) -> FloorDirectory:
    """Branches, services and live kiosk tokens, once."""
    with engine.connect() as conn:
        branches = rows(conn, text("SELECT id, code, timezone FROM branches"))
        services = rows(conn, text("SELECT id, branch_id, code, letter FROM services"))
        tokens = rows(
            conn,
            text(
                "SELECT token_hash, branch_id, expires_at FROM api_tokens "
                "WHERE role = 'kiosk' AND revoked_at IS NULL"
            ).columns(expires_at=UTCDateTime()),
        )
    by_branch: dict[int, dict[str, FloorService]] = {}
    for service_id, branch_id, code, letter in services:
        by_branch.setdefault(branch_id, {})[code] = FloorService(service_id, letter)
    return FloorDirectory(
        branches={
            code: FloorBranch(branch_id, ZoneInfo(zone), by_branch.get(branch_id, {}))
            for branch_id, code, zone in branches
        },
        tokens={h: KioskToken(branch_id, expires) for h, branch_id, expires in tokens},
    )


# --- the statements -------------------------------------------------------------------------

_TYPES: dict[str, Any] = {"local_day": Date(), "now": UTCDateTime(), "queued_at": UTCDateTime()}


def sql(statement: str) -> TextClause:
    """``statement`` with its dates and times bound as the models' columns bind them."""
    typed: list[BindParameter[Any]] = [
        bindparam(name, type_=t) for name, t in _TYPES.items() if f":{name}" in statement
    ]
    return text(statement).bindparams(*typed)


# The number, and the ticket's place in line: never ahead of the number before it (as
# ``numbering.take_number``).
_NUMBER = """
INSERT INTO ticket_number_sequences (branch_id, letter, local_day, last_number, last_queued_at)
VALUES (:branch_id, :letter, :local_day, 1, :now)
ON CONFLICT (branch_id, letter, local_day)
DO UPDATE SET last_number = ticket_number_sequences.last_number + 1,
    last_queued_at = CASE WHEN ticket_number_sequences.last_queued_at > :now
        THEN ticket_number_sequences.last_queued_at ELSE :now END
RETURNING last_number, last_queued_at"""

_TICKET_COLUMNS = (
    "token, branch_id, service_id, letter, local_day, sequence, kind, status, priority, "
    "phone, locale, channel, issued_at, queued_at, version"
)
_TICKET_VALUES = (
    ":token, :branch_id, :service_id, :letter, :local_day, {sequence}, 'walk_in', 'waiting', "
    ":priority, :phone, :locale, 'sms', :now, {queued_at}, 1"
)
_MESSAGE_COLUMNS = (
    'ticket_id, event, lane, "to", channel, locale, body, status, urgency, created_at, '
    "next_attempt_at, attempts"
)
_MESSAGE_VALUES = (
    "{ticket_id}, 'issued', :lane, :phone, 'sms', :locale, {body}, 'queued', :now, :now, :now, 0"
)
# PostgreSQL: one statement. Each CTE runs once; "ticket" pulls "number" first.
ISSUE_POSTGRESQL = sql(
    f"""
WITH number AS ({_NUMBER}),
ticket AS (
    INSERT INTO tickets ({_TICKET_COLUMNS})
    VALUES ({
        _TICKET_VALUES.format(
            sequence="(SELECT last_number FROM number)",
            queued_at="(SELECT last_queued_at FROM number)",
        )
    })
    RETURNING id, sequence
),
event AS (
    INSERT INTO ticket_events (ticket_id, at, event)
    VALUES ((SELECT id FROM ticket), :now, 'issued')
),
message AS (
    INSERT INTO messages ({_MESSAGE_COLUMNS})
    VALUES ({
        _MESSAGE_VALUES.format(
            ticket_id="(SELECT id FROM ticket)",
            body="(SELECT :letter || '-' || CASE WHEN sequence < 1000 "
            "THEN lpad(sequence::text, 3, '0') ELSE sequence::text END || ' ' || :link "
            "FROM ticket)",
        )
    })
)
SELECT sequence FROM ticket"""
)

# SQLite: no INSERT inside WITH; the same rows, one statement each, in one transaction whose
# first statement is the number's write (the write lock at once, as ``numbering`` does).
# Typed columns: SQLite hands a text statement's times back as strings.
NUMBER_SQLITE = sql(_NUMBER).columns(last_number=Integer(), last_queued_at=UTCDateTime())
TICKET_SQLITE = sql(
    f"INSERT INTO tickets ({_TICKET_COLUMNS}) VALUES "
    f"({_TICKET_VALUES.format(sequence=':sequence', queued_at=':queued_at')}) RETURNING id"
)
EVENT_SQLITE = sql(
    "INSERT INTO ticket_events (ticket_id, at, event) VALUES (:ticket_id, :now, 'issued')"
)
MESSAGE_SQLITE = sql(
    f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES "
    f"({_MESSAGE_VALUES.format(ticket_id=':ticket_id', body=':body')})"
)


def issue_at_floor(
    engine: Engine,
    now: datetime,
    branch: FloorBranch,
    service: FloorService,
    phone: str,
    public_url: str,
    locale: str = "ar",
) -> tuple[str, str]:
    """Write a walk-in ticket's rows in one transaction; return its number and token."""
    token = secrets.token_urlsafe(24)
    local_day: date = now.astimezone(branch.zone).date()
    params: dict[str, Any] = {
        "token": token,
        "branch_id": branch.id,
        "service_id": service.id,
        "letter": service.letter,
        "local_day": local_day,
        "priority": False,
        "phone": phone,
        "locale": locale,
        "now": now,
        "lane": int(lane_of(EVENT)),
        "link": ticket_page(public_url, token),
    }
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            sequence: int = conn.execute(ISSUE_POSTGRESQL, params).scalar_one()
    else:
        with engine.begin() as conn:
            sequence = _issue_sqlite(conn, params)
    return ticket_number(service.letter, sequence), token


def _issue_sqlite(conn: Connection, params: dict[str, Any]) -> int:
    number = conn.execute(NUMBER_SQLITE, params).one()
    sequence: int = number.last_number
    params["sequence"], params["queued_at"] = sequence, number.last_queued_at
    params["ticket_id"] = conn.execute(TICKET_SQLITE, params).scalar_one()
    conn.execute(EVENT_SQLITE, params)
    params["body"] = f"{ticket_number(params['letter'], sequence)} {params['link']}"
    conn.execute(MESSAGE_SQLITE, params)
    return sequence


def ticket_number(letter: str, sequence: int) -> str:
    return f"{letter}-{sequence:03d}"


# --- the route --------------------------------------------------------------------------------


def add_floor(app: Flask) -> None:
    """Register the floor's route on the product's ``app``."""
    loaded: list[FloorDirectory] = []
    lock = threading.Lock()

    def directory() -> FloorDirectory:
        if not loaded:
            with lock:
                if not loaded:
                    loaded.append(read_directory(db.engine))
        return loaded[0]

    def issue(branch_code: str) -> Any:
        floor = directory()
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        held = None
        if scheme.lower() == "bearer":
            held = floor.tokens.get(hashlib.sha256(raw.strip().encode()).hexdigest())
        now = current_clock().now()
        if held is None or (held.expires_at is not None and now >= held.expires_at):
            return {"error": "unauthorized"}, 401
        branch = floor.branches.get(branch_code)
        if branch is None:
            return {"error": "no such branch"}, 404
        if held.branch_id != branch.id:
            return {"error": "another branch's token"}, 403
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return {"error": "a JSON object is expected"}, 422
        service = branch.services.get(str(body.get("service")))
        phone = body.get("phone")
        if service is None or not isinstance(phone, str) or not phone.startswith("+"):
            return {"error": "service and phone (E.164) are required"}, 422
        public_url = current_settings().public_url
        number, token = issue_at_floor(db.engine, now, branch, service, phone, public_url)
        return {"number": number, "token": token}, 201

    app.add_url_rule(FLOOR_PATH, "bench_floor_issue", issue, methods=["POST"])


class FloorServer(server.QueueServer):
    """``queue-app serve``'s gunicorn application, whose app has the floor's route too."""

    def load(self) -> Any:
        app = super().load()
        add_floor(app)
        return app


def main(argv: Sequence[str] | None = None) -> None:
    from queue_app import cli

    # ``queue-app serve`` itself (its options, its defaults, its checks) builds and runs the
    # server; only the class whose load() makes the app is ours.
    setattr(server, "QueueServer", FloorServer)  # noqa: B010 - mypy refuses assigning a class
    cli.main(args=["serve", *(sys.argv[1:] if argv is None else argv)], prog_name="floor_server")


if __name__ == "__main__":
    main()
