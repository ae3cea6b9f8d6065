"""The audit trail, on SQLite and PostgreSQL: every change made with a staff, manager or admin
token is recorded once, with who, what, where and what changed; a refused call is recorded as
refused; a failed one leaves nothing; a branch's records are its manager's and an admin's only;
the CSV export carries Arabic.

The clock stands at Tuesday 24 November 2026, 10:00 in Cairo (08:00 UTC)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from queue_app.db import Base
from queue_app.models import AuditEvent, Branch, Ticket
from queue_app.web.extensions import db
from tests.conftest import csrf_of, needs_postgresql

BRANCH = "/api/v1/branches/cairo-civil"
CALL_NEXT = f"{BRANCH}/counters/1/call-next"
AUDIT = f"{BRANCH}/audit"
SYSTEM = "/api/v1/backends/civil-registry"
UA = {"User-Agent": "counter-2 browser"}

# Routes that change something and are nobody's staff action: the citizen's own ticket, by the
# token of its page. Anything else under /api/v1 that changes data must be audited.
PUBLIC_CHANGES = {
    "tickets.cancel_ticket",
    "tickets.confirm_ticket",
    "tickets.next_slot",
    "tickets.accept_offer",
    # A citizen asks for a one-time code for their own number: no staff change to audit.
    "appointments.ask_booking_code",
}


@dataclass
class Office:
    client: Any
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def post(self, path: str, role: str, **kwargs: Any):
        return self.send("post", path, role, **kwargs)

    def send(self, method: str, path: str, role: str, **kwargs: Any):
        return getattr(self.client, method)(path, headers={**self.tokens[role], **UA}, **kwargs)

    def walk_in(self) -> str:
        """A waiting ticket, taken at the kiosk (not audited)."""
        answer = self.post(f"{BRANCH}/tickets", "kiosk", json={"service": "id-card"})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.json["token"]

    def called(self) -> str:
        token = self.walk_in()
        assert self.post(CALL_NEXT, "staff").status_code == 200
        return token

    def held(self) -> str:
        token = self.called()
        assert self.post(f"/api/v1/tickets/{token}/hold", "staff").status_code == 200
        return token

    def missed_after_a_text(self) -> str:
        """A walk-in told by text that it was called, then marked missed, at a branch that
        texts the turn and gives 10 minutes to come back."""
        branch = db.session.scalars(select(Branch).where(Branch.code == "cairo-civil")).one()
        branch.turn_near_minutes, branch.late_grace_minutes = 15, 10
        db.session.commit()
        answer = self.post(
            f"{BRANCH}/tickets", "kiosk", json={"service": "id-card", "phone": "01012345678"}
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        token = answer.json["token"]
        assert self.post(CALL_NEXT, "staff").status_code == 200
        assert self.post(f"/api/v1/tickets/{token}/no-show", "staff").status_code == 200
        return token

    def appointment(self) -> str:
        """A booking for 10:30 today, made by the citizen (not audited)."""
        answer = self.client.post(
            f"{BRANCH}/appointments",
            json={
                "service": "id-card",
                "start": "2026-11-24T10:30:00+02:00",
                "phone": "01012345678",
            },
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.json["token"]

    def down_here(self) -> None:
        """The system down at Cairo alone, as its manager declares it."""
        assert self.post(f"{SYSTEM}/outages", "manager", json={}).status_code == 201

    def window(self) -> int:
        answer = self.post(
            f"{SYSTEM}/maintenance",
            "admin",
            json={"start": "2026-11-25T08:00:00+02:00", "end": "2026-11-25T12:00:00+02:00"},
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.json["id"]


@pytest.fixture
def office(client, make_backend, make_branch, make_token) -> Office:
    make_branch("cairo-civil", backends=[make_backend()], counters=2)
    make_branch("giza-traffic")
    found = Office(client)
    for role in ("kiosk", "staff", "manager"):
        found.tokens[role] = make_token(role)
    found.tokens["admin"] = make_token("admin")
    found.tokens["giza-manager"] = make_token("manager", "giza-traffic")
    found.tokens["giza-staff"] = make_token("staff", "giza-traffic")
    return found


SIGNING_IN = ("person.sign_in", "person.sign_out")  # tests/pages/test_sign_in.py


def _records() -> list[AuditEvent]:
    """The records of the actions under test (a test's own signing in left aside)."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.not_in(SIGNING_IN)).order_by(AuditEvent.id)
        )
    )


def _branch_id(code: str) -> int:
    return db.session.scalar(select(Branch.id).where(Branch.code == code))


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


# (action, role, branch the record is for: a code, or None for system-wide, how to call it)
Call = Callable[[Office], Any]
CASES: list[tuple[str, str, str | None, Call]] = [
    (
        "ticket.issue",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"{BRANCH}/tickets", "staff", json={"service": "id-card"}),
    ),
    (
        "appointment.book",
        "staff",
        "cairo-civil",
        lambda o: o.post(
            f"{BRANCH}/appointments",
            "staff",
            json={"service": "id-card", "start": "2026-11-24T11:00:00+02:00"},
        ),
    ),
    (
        "capacity.set",
        "manager",
        "cairo-civil",
        lambda o: o.send(
            "put",
            f"{BRANCH}/services/id-card/capacity",
            "manager",
            json={"from": "2026-11-25", "to": "2026-11-26", "per_slot": 3},
        ),
    ),
    (
        "ticket.check_in",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.appointment()}/check-in", "staff"),
    ),
    (
        "ticket.done",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.called()}/done", "staff"),
    ),
    (
        "ticket.no_show",
        "manager",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.called()}/no-show", "manager"),
    ),
    (
        "ticket.recall",
        "admin",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.called()}/recall", "admin"),
    ),
    (
        "ticket.hold",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.called()}/hold", "staff"),
    ),
    (
        "ticket.resume",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.held()}/resume", "staff"),
    ),
    (
        "ticket.back_to_line",
        "manager",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.held()}/back-to-line", "manager"),
    ),
    (
        "ticket.came_back",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.missed_after_a_text()}/came-back", "staff"),
    ),
    (
        "ticket.transfer",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"/api/v1/tickets/{o.called()}/transfer", "staff", json={"counter": "2"}),
    ),
    (
        "counter.call_next",
        "staff",
        "cairo-civil",
        lambda o: (o.walk_in(), o.post(CALL_NEXT, "staff"))[1],
    ),
    (
        "counter.call_next",
        "admin",
        "cairo-civil",
        lambda o: (o.walk_in(), o.post(CALL_NEXT, "admin"))[1],
    ),
    (
        "counter.update",
        "manager",
        "cairo-civil",
        lambda o: o.send("patch", f"{BRANCH}/counters/1", "manager", json={"open": False}),
    ),
    (
        "outage.declare",
        "manager",
        "cairo-civil",
        lambda o: o.post(f"{SYSTEM}/outages", "manager", json={}),
    ),
    ("outage.declare", "admin", None, lambda o: o.post(f"{SYSTEM}/outages", "admin", json={})),
    (
        "outage.resolve",
        "manager",
        "cairo-civil",
        lambda o: (o.down_here(), o.post(f"{SYSTEM}/outages/resolve", "manager", json={}))[1],
    ),
    (
        "outage.back",
        "manager",
        "cairo-civil",
        lambda o: (o.down_here(), o.post(f"{SYSTEM}/back", "manager", json={}))[1],
    ),
    (
        "outage.report",
        "staff",
        "cairo-civil",
        lambda o: o.post(f"{SYSTEM}/reports", "staff", json={}),
    ),
    (
        "maintenance.announce",
        "manager",
        "cairo-civil",
        lambda o: o.post(
            f"{SYSTEM}/maintenance",
            "manager",
            json={"start": "2026-11-25T08:00:00+02:00", "end": "2026-11-25T12:00:00+02:00"},
        ),
    ),
    (
        "maintenance.withdraw",
        "manager",
        "cairo-civil",
        lambda o: o.send("delete", f"{SYSTEM}/maintenance/{o.window()}", "manager"),
    ),
]


@pytest.mark.parametrize(
    ("action", "role", "branch", "call"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_every_change_by_staff_managers_and_admins_is_recorded_once(
    office, action, role, branch, call
):
    answer = call(office)
    assert answer.status_code in (200, 201), answer.get_data(as_text=True)
    mine = [r for r in _records() if r.action == action and r.role == role]
    assert len(mine) == 1, [(r.action, r.role) for r in _records()]
    record = mine[0]
    assert record.outcome == "done"
    assert record.branch_id == (_branch_id(branch) if branch else None)
    assert record.token_id is not None
    assert record.actor.startswith(f"{role} token #{record.token_id}")
    assert record.address == "127.0.0.1"
    assert record.user_agent == "counter-2 browser"
    assert record.at.isoformat() == "2026-11-24T08:00:00+00:00"
    assert record.after  # something changed, and it says what


def test_a_new_changing_route_without_an_audit_fails_this_test(app: Flask):
    """Walk the URL map: every POST, PUT, PATCH or DELETE under /api/v1 is audited (or is the
    citizen's own), and every audited action has a case in the table above."""
    audited: set[str] = set()
    unaudited: list[str] = []
    for rule in app.url_map.iter_rules():
        changes = (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        if not rule.rule.startswith("/api/v1/") or not changes:
            continue
        action = getattr(app.view_functions[rule.endpoint], "audit_action", None)
        if action:
            audited.add(action)
        elif rule.endpoint not in PUBLIC_CHANGES:
            unaudited.append(f"{sorted(changes)} {rule.rule}")
    assert unaudited == []
    assert audited == {case[0] for case in CASES}


def test_kiosk_and_citizen_calls_are_not_recorded(office):
    token = office.walk_in()
    office.client.post(f"/api/v1/tickets/{token}/cancel")
    office.appointment()
    assert _records() == []


def test_a_called_ticket_s_record_says_what_changed(office):
    first = office.walk_in()
    office.walk_in()
    assert office.post(CALL_NEXT, "staff").status_code == 200
    record = _records()[-1]
    assert record.action == "counter.call_next"
    assert (record.target_kind, record.target_key) == ("counter", "1")
    (called,) = record.after
    assert called.startswith("ticket ")
    assert record.before[called] == {"status": "waiting", "counter_id": None, "event": None}
    assert record.after[called]["status"] == "called"
    assert record.after[called]["event"] == "called"
    # The next call finishes it and calls the second: both show, only what changed.
    assert office.post(CALL_NEXT, "staff").status_code == 200
    record = _records()[-1]
    assert record.before[called] == {"status": "called", "event": None}
    assert record.after[called] == {"status": "done", "event": "done"}
    assert len(record.after) == 2
    assert office.client.get(f"/api/v1/tickets/{first}").json["status"] == "done"


def test_a_booking_for_a_citizen_masks_the_phone_and_keeps_no_ticket_token(office):
    answer = office.post(
        f"{BRANCH}/appointments",
        "staff",
        json={"service": "id-card", "start": "2026-11-24T11:00:00+02:00", "phone": "01012345678"},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    (record,) = _records()
    (ticket,) = (v for k, v in record.after.items() if k.startswith("ticket "))
    assert ticket["phone"] == "+201*******78"
    assert ticket["status"] == "scheduled"
    assert record.before == {}
    text = str(record.after) + str(record.target_key)
    assert answer.json["token"] not in text
    assert "1012345678" not in text


def test_a_maintenance_window_withdrawn_shows_its_cancelled_time(office):
    window = office.window()
    answer = office.client.delete(
        f"{SYSTEM}/maintenance/{window}", headers=office.tokens["manager"]
    )
    assert answer.status_code == 200
    record = _records()[-1]
    assert (record.action, record.target_key) == (
        "maintenance.withdraw",
        f"civil-registry {window}",
    )
    assert record.before == {f"maintenance {window}": {"cancelled_at": None}}
    assert record.after == {f"maintenance {window}": {"cancelled_at": "2026-11-24T08:00:00+00:00"}}


def test_the_counter_s_before_and_after(office):
    answer = office.client.patch(
        f"{BRANCH}/counters/1", json={"open": False}, headers=office.tokens["manager"]
    )
    assert answer.status_code == 200
    (record,) = _records()
    (key,) = record.after
    assert record.before[key] == {"is_open": True}
    assert record.after[key] == {"is_open": False}


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "why"),
    [
        ("staff", "post", f"{SYSTEM}/outages", {}, "a staff cannot"),
        ("giza-staff", "post", CALL_NEXT, None, "another branch"),
        ("giza-manager", "patch", f"{BRANCH}/counters/1", {"open": False}, "another branch"),
    ],
)
def test_a_refused_call_is_recorded_as_refused_and_changes_nothing(
    office, role, method, path, body, why
):
    before = _row_counts()
    answer = getattr(office.client, method)(path, json=body, headers=office.tokens[role])
    assert answer.status_code == 403
    (record,) = _records()
    assert record.outcome == "refused"
    assert why in record.note
    assert record.before is None
    assert record.after is None
    assert _row_counts() == {**before, "audit_events": before["audit_events"] + 1}


def test_a_failed_call_leaves_no_record(office):
    token = office.walk_in()  # waiting, not called: it cannot be done
    before = _row_counts()
    answer = office.post(f"/api/v1/tickets/{token}/done", "staff")
    assert answer.status_code == 409
    answer = office.post(f"{SYSTEM}/outages/resolve", "manager")  # it is not down
    assert answer.status_code == 409
    answer = office.post(f"{SYSTEM}/maintenance", "manager", json={"start": "x", "end": "y"})
    assert answer.status_code == 422
    assert _row_counts() == before


def test_a_dry_run_changes_nothing_and_is_not_recorded(office):
    answer = office.client.put(
        f"{BRANCH}/services/id-card/capacity?dry_run=true",
        json={"from": "2026-11-25", "to": "2026-11-26", "per_slot": 3},
        headers=office.tokens["manager"],
    )
    assert answer.status_code == 200
    assert _records() == []


# --- reading it ------------------------------------------------------------------------------


def test_the_branch_manager_reads_the_branch_s_records_newest_first_in_pages(office):
    for _ in range(3):
        office.walk_in()
        assert office.post(CALL_NEXT, "staff").status_code == 200
    office.post(CALL_NEXT, "giza-staff")  # refused: Cairo's record, not Giza's
    page = office.client.get(f"{AUDIT}?limit=2", headers=office.tokens["manager"])
    assert page.status_code == 200, page.get_data(as_text=True)
    events = page.json["events"]
    assert [e["outcome"] for e in events] == ["refused", "done"]
    assert events[0]["branch"] == "cairo-civil"
    assert events[1]["action"] == "counter.call_next"
    assert events[1]["target"] == {"kind": "counter", "key": "1"}
    rest = office.client.get(
        f"{AUDIT}?limit=2&before={page.json['next_before']}", headers=office.tokens["manager"]
    ).json
    assert len(rest["events"]) == 2
    assert rest["events"][0]["id"] < events[1]["id"]
    last = office.client.get(
        f"{AUDIT}?limit=2&before={rest['next_before']}", headers=office.tokens["manager"]
    ).json
    assert last == {"events": [], "next_before": None}
    done = office.client.get(f"{AUDIT}?action=counter", headers=office.tokens["admin"]).json
    assert len(done["events"]) == 4
    assert done["next_before"] is None
    giza = office.client.get(
        "/api/v1/branches/giza-traffic/audit", headers=office.tokens["giza-manager"]
    ).json
    assert giza["events"] == []


def test_dates_read_in_the_branch_s_time(office, clock):
    office.walk_in()
    office.post(CALL_NEXT, "staff")
    headers = office.tokens["manager"]
    assert (
        len(
            office.client.get(f"{AUDIT}?from=2026-11-24&to=2026-11-24", headers=headers).json[
                "events"
            ]
        )
        == 1
    )
    assert office.client.get(f"{AUDIT}?from=2026-11-25", headers=headers).json["events"] == []
    assert office.client.get(f"{AUDIT}?to=2026-11-23", headers=headers).json["events"] == []
    late = f"{AUDIT}?from=2026-11-24T10:00:01%2B02:00"
    assert office.client.get(late, headers=headers).json["events"] == []


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01",  # year 0 in UTC: once a 500
        "from=0001-01-01T00:00:00%2B14:00",
        "to=9999-12-31",  # its day's end is past the calendar: once a 422
        "to=9999-12-31T23:59:59-12:00",
        "from=0001-01-01&to=9999-12-31",
    ],
)
def test_dates_at_the_ends_of_the_calendar_bound_nothing(office, query):
    """Found by fuzzing (issue 16): valid days at either end of the calendar."""
    office.walk_in()
    office.post(CALL_NEXT, "staff")
    for path in (AUDIT, f"{AUDIT}.csv"):
        answer = office.client.get(f"{path}?{query}", headers=office.tokens["manager"])
        assert answer.status_code == 200, answer.get_data(as_text=True)
    events = office.client.get(f"{AUDIT}?{query}", headers=office.tokens["manager"]).json
    assert len(events["events"]) == 1


def test_equal_bounds_are_an_empty_range_not_a_wrong_one(office):
    """Found by fuzzing (issue 16): it answered 422 "the range ends before it begins"."""
    office.walk_in()
    office.post(CALL_NEXT, "staff")
    at = "2026-11-24T10:00:00%2B02:00"
    for path in (AUDIT, f"{AUDIT}.csv"):
        answer = office.client.get(f"{path}?from={at}&to={at}", headers=office.tokens["manager"])
        assert answer.status_code == 200, answer.get_data(as_text=True)


def test_the_json_reader_answers_csv_when_asked(office):
    answer = office.client.get(f"{AUDIT}?format=csv", headers=office.tokens["manager"])
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    operation = office.client.get("/api/v1/openapi.json").json["paths"][
        "/api/v1/branches/{branch_code}/audit"
    ]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}


@pytest.mark.parametrize(
    "query", ["to=0001-01-01", "to=0001-01-01T00:00:00%2B14:00", "from=9999-12-31T23:59:59-12:00"]
)
def test_bounds_beyond_the_calendar_keep_their_side(office, query):
    office.walk_in()
    office.post(CALL_NEXT, "staff")
    answer = office.client.get(f"{AUDIT}?{query}", headers=office.tokens["manager"])
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["events"] == []


@pytest.mark.parametrize("who", ["staff", "giza-manager", "kiosk"])
def test_staff_and_other_branches_cannot_read_it(office, who):
    for path in (AUDIT, f"{AUDIT}.csv", f"{AUDIT}?format=csv"):
        answer = office.client.get(path, headers=office.tokens[who])
        assert answer.status_code == 403
        assert answer.json["error"] == "forbidden"
    assert office.client.get(AUDIT).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-11-25&to=2026-11-24", "to"),
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("limit=ten", "limit"),
        ("before=-3", "before"),
        ("before=99999999999999999999", "before"),  # once a 500 on SQLite (fuzzing, issue 16)
        ("action=ticket.done%20", "action"),
        ("action=ticket;drop", "action"),
        ("format=xml", "format"),
    ],
)
def test_bad_queries_answer_422(office, query, field):
    for path in (AUDIT, f"{AUDIT}.csv"):
        answer = office.client.get(f"{path}?{query}", headers=office.tokens["manager"])
        assert answer.status_code == 422, answer.get_data(as_text=True)
        body = answer.json
        assert set(body) == {"error", "message", "fields"}
        assert body["error"] == "invalid_input"
        assert field in body["fields"]


def test_csv_export_parses_and_carries_arabic(office):
    note = 'انقطاع الشبكة في المكتب, "الرئيسي"\nسطر ثان'
    office.walk_in()
    office.post(CALL_NEXT, "staff")
    assert office.post(f"{SYSTEM}/outages", "manager", json={"note": note}).status_code == 201
    for path in (f"{AUDIT}.csv", f"{AUDIT}?format=csv"):
        answer = office.client.get(path, headers=office.tokens["manager"])
        assert answer.status_code == 200
        assert answer.mimetype == "text/csv"
        assert "attachment" in answer.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
        assert [r["action"] for r in rows] == ["outage.declare", "counter.call_next"]
        assert rows[0]["role"] == "manager"
        assert rows[0]["branch"] == "cairo-civil"
        assert "انقطاع الشبكة" in rows[0]["after"]  # as text, not \u escapes
        (outage,) = (v for k, v in json.loads(rows[0]["after"]).items() if k.startswith("outage"))
        assert outage["note"] == note
        assert rows[0]["target_kind"] == "backend"


def test_cli_actor_and_person_fields_show_in_the_reader(office):
    from queue_app import audit
    from queue_app.access import Principal
    from queue_app.models import Role

    who = Principal(
        role=Role.MANAGER,
        branch_id=_branch_id("cairo-civil"),
        branch_code="cairo-civil",
        token_id=None,
        person_id=7,
        name="منى حسن",
    )
    actor = audit.Actor.of(who, address="10.0.0.8", user_agent="ua")
    with audit.recording(
        db.session,
        office_clock(),
        actor,
        "counter.update",
        audit.Target("counter", "1"),
        branch_id=who.branch_id,
    ):
        from queue_app import counters

        counters.update_counter(db.session, who, "cairo-civil", "1", is_open=False)
    events = office.client.get(AUDIT, headers=office.tokens["admin"]).json["events"]
    assert events[0]["person_id"] == 7
    assert events[0]["name"] == "منى حسن"
    assert events[0]["actor"] == "منى حسن (manager)"


def office_clock():
    from queue_app.web.extensions import current_clock

    return current_clock()


@pytest.mark.parametrize(
    "db_kind", [pytest.param("postgresql", marks=[pytest.mark.postgresql, needs_postgresql])]
)
def test_counters_racing_each_get_one_record_per_ticket_they_called(
    app: Flask, make_branch, make_token
):
    """Four counters press call-next at once until nobody waits: every ticket called is in
    exactly one record, the record of the counter that called it."""
    make_branch("cairo-civil", counters=4)
    staff = make_token("staff")
    kiosk = make_token("kiosk")
    client = app.test_client()
    for _ in range(12):
        assert (
            client.post(f"{BRANCH}/tickets", json={"service": "id-card"}, headers=kiosk).status_code
            == 201
        )

    def press(counter: int) -> list[tuple[int, str | None]]:
        answers: list[tuple[int, str | None]] = []
        mine = app.test_client()
        while True:
            answer = mine.post(f"{BRANCH}/counters/{counter}/call-next", headers=staff)
            assert answer.status_code in (200, 204, 409), answer.get_data(as_text=True)
            answers.append(
                (answer.status_code, answer.json["number"] if answer.status_code == 200 else None)
            )
            if answer.status_code == 204:
                return answers

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(range(1, 5), pool.map(press, range(1, 5)), strict=True))
    called_by = {
        number: counter for counter, answers in results.items() for _, number in answers if number
    }
    assert len(called_by) == 12
    recorded: dict[str, str] = {}
    for record in _records():
        assert record.action == "counter.call_next"
        for key, fields in record.after.items():
            if fields.get("status") == "called":
                number = db.session.scalar(
                    select(Ticket).where(Ticket.id == int(key.split()[1]))
                ).number
                assert number not in recorded
                recorded[number] = record.target_key
    assert recorded == {number: str(counter) for number, counter in called_by.items()}


# --- the console's actions, by people signed in as themselves ----------------------------------

CONSOLE = "/manage/cairo-civil"


def test_the_console_s_actions_are_recorded_with_the_person(client, make_branch, signed_in):
    make_branch()
    signed_in("manager", username="mona")
    csrf = csrf_of(client.get(CONSOLE).text)
    preview = client.post(f"{CONSOLE}/counters/1", data={"open": "no", "csrf_token": csrf})
    assert preview.status_code == 200
    assert _records() == []  # a preview changes nothing
    done = client.post(
        f"{CONSOLE}/counters/1",
        data={"open": "no", "confirmed": "yes", "csrf_token": csrf},
        headers=UA,
    )
    assert done.status_code == 303
    (record,) = _records()
    assert (record.action, record.role, record.outcome) == ("counter.update", "manager", "done")
    assert record.person_id is not None
    assert record.token_id is None
    assert record.actor_name == "Mona"
    assert record.actor == "Mona (manager)"
    assert record.branch_id == _branch_id("cairo-civil")
    assert record.user_agent == "counter-2 browser"
    (key,) = record.after
    assert record.before[key] == {"is_open": True}
    assert record.after[key] == {"is_open": False}
    # The console shows it, Arabic first, and its link downloads the CSV for the signed-in person.
    page = client.get(CONSOLE).text
    section = page[page.index('data-test="audit"') :]
    assert "آخر الإجراءات" in section
    assert "Mona (manager)" in section
    assert "counter.update" in section
    assert "نُفِّذ" in section
    download = client.get("/api/v1/branches/cairo-civil/audit.csv")
    assert download.status_code == 200, download.text
    rows = list(csv.DictReader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert [(r["action"], r["name"]) for r in rows] == [
        ("counter.update", "Mona"),
        ("person.sign_in", "Mona"),  # the newest first
    ]


def test_a_console_form_refused_is_recorded_as_refused(client, make_branch, signed_in):
    make_branch()
    make_branch("giza-traffic")
    signed_in("manager", username="omar", branches=("giza-traffic",))
    answer = client.post(
        f"{CONSOLE}/counters/1", data={"open": "no", "confirmed": "yes", "csrf_token": "x"}
    )
    assert answer.status_code == 403
    (record,) = _records()
    assert (record.action, record.outcome) == ("counter.update", "refused")
    assert record.branch_id == _branch_id("cairo-civil")


def test_every_console_form_is_audited(app: Flask):
    unaudited = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/manage/")
        and "POST" in (rule.methods or set())
        and not getattr(app.view_functions[rule.endpoint], "audit_action", None)
    ]
    assert unaudited == []


def test_a_holiday_added_then_removed_in_the_console(client, make_branch, signed_in):
    make_branch()
    signed_in("manager", username="mona")
    token = csrf_of(client.get("/manage/cairo-civil/hours").text)
    form = {"csrf_token": token, "day": "2026-11-25", "name_ar": "عيد", "confirmed": "yes"}
    assert client.post(f"{CONSOLE}/holidays", data=form).status_code == 303
    (added,) = _records()
    assert added.action == "holiday.add"
    ((key, fields),) = added.after.items()
    assert key.startswith("holiday ")
    assert fields["day"] == "2026-11-25"
    assert fields["name_ar"] == "عيد"
    holiday_id = key.split()[1]
    removed = client.post(
        f"{CONSOLE}/holidays/{holiday_id}/remove", data={"csrf_token": token, "confirmed": "yes"}
    )
    assert removed.status_code == 303
    record = _records()[-1]
    assert (record.action, record.target_key) == ("holiday.remove", holiday_id)
    assert record.before[key]["day"] == "2026-11-25"
    assert record.after[key]["day"] is None
