"""The audit trail: who did what, when, to what, what it changed, and from where.

Every staff, manager and admin call that changes something, and every command-line action that
changes access, is recorded once. The record is written in the transaction of the change
itself (at its first commit): a change that fails leaves no record, and a record never speaks
of a change that did not happen. Later commits of the same action (the tickets a capacity
change moves, say) are consequences, kept in their own tables, not in the record.

A handler opens a ``recording(...)`` around its one domain call; SQLAlchemy's session events
collect what the call changes in the audited tables (below) and add the record on commit. The
domain functions themselves know nothing of it.

A refused action (403: another branch, or a role that may not) is recorded too, as
``outcome="refused"`` in a transaction of its own: a token trying doors is what an auditor
looks for. Calls with no valid token (401), kiosks and citizens are not recorded.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, object_session

from queue_app import directory
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.db import rowcount
from queue_app.errors import Forbidden, InvalidInput
from queue_app.models import (
    ApiToken,
    AuditEvent,
    Backend,
    Branch,
    CapacityOverride,
    Counter,
    Holiday,
    Maintenance,
    OpeningHours,
    Outage,
    OutageReport,
    Person,
    SpecialHours,
    Ticket,
    TicketEvent,
)

DONE = "done"
REFUSED = "refused"
CLI = "cli"

# A change that touches more rows than this (a capacity change moving hundreds of bookings) keeps
# the first ones and counts the rest: the record says what was done, the tables hold the detail.
MAX_ROWS = 25
MAX_LIMIT = 1000
_KEY = "audit.recording"


def masked_phone(phone: str | None) -> str | None:
    """A number as the record keeps it: enough to tell two apart, not enough to call."""
    if not phone:
        return phone
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:4] + "*" * (len(phone) - 6) + phone[-2:]


# What is recorded of each table: (the kind's name, its fields). Nothing else is: no token hash,
# no message text, no ticket token (it opens the citizen's ticket page), phones masked.
AUDITED: dict[type, tuple[str, tuple[str, ...]]] = {
    Ticket: (
        "ticket",
        (
            "letter",
            "sequence",
            "status",
            "service_id",
            "counter_id",
            "priority",
            "phone",
            "slot_start",
            "slot_end",
            "for_counter_id",
        ),
    ),
    Counter: ("counter", ("code", "is_open", "services")),
    Backend: ("backend", ("code", "state", "state_since")),
    Outage: (
        "outage",
        (
            "backend_id",
            "branch_id",
            "started_at",
            "ended_at",
            "detected_by",
            "ended_by",
            "note",
            "expected_end",
        ),
    ),
    OutageReport: ("outage_report", ("backend_id", "branch_id", "note")),
    Maintenance: ("maintenance", ("backend_id", "starts_at", "ends_at", "note", "cancelled_at")),
    CapacityOverride: ("capacity", ("service_id", "first_day", "last_day", "per_slot")),
    OpeningHours: ("opening_hours", ("branch_id", "weekday", "opens", "closes")),
    Holiday: ("holiday", ("branch_id", "day", "name_ar", "name_en")),
    SpecialHours: ("special_hours", ("branch_id", "first_day", "last_day", "opens", "closes")),
    ApiToken: ("token", ("role", "branch_id", "label", "kiosk_id", "expires_at", "revoked_at")),
    # Never the password's hash nor the second factor's secret: only whether one is set.
    Person: ("person", ("username", "display_name", "role", "disabled_at", "totp_secret")),
}
_RENDER: dict[str, Callable[[Any], Any]] = {
    "phone": masked_phone,
    "totp_secret": lambda secret: secret is not None,
}


@dataclass(frozen=True)
class Actor:
    """Who acts, as the record names them, and from where."""

    role: str
    label: str
    token_id: int | None = None
    person_id: int | None = None
    name: str | None = None
    address: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, principal: Principal, *, address: str | None, user_agent: str | None) -> Actor:
        role = principal.role.value
        label = f"{principal.name} ({role})" if principal.name else f"{role} token"
        if principal.token_id is not None:
            label += f" #{principal.token_id}"
        if principal.token_label:
            label += f" «{principal.token_label}»"
        return cls(
            role=role,
            label=label[:300],
            token_id=principal.token_id,
            person_id=principal.person_id,
            name=principal.name,
            address=(address or None) and address[:64],
            user_agent=(user_agent or None) and user_agent[:300],
        )

    @classmethod
    def command_line(cls, user: str | None) -> Actor:
        """Someone running ``queue-app`` on the server, as the operating system names them."""
        return cls(role=CLI, label=f"cli ({user})" if user else "cli", name=user)


@dataclass(frozen=True)
class Target:
    """What the action is about: a kind and its id or code (never a secret)."""

    kind: str
    key: str | None = None


@dataclass
class _Recording:
    clock: Clock
    actor: Actor
    action: str
    target: Target
    branch_id: int | None
    # (kind, id) -> field -> value: the first value seen and the latest one.
    before: dict[tuple[str, Any], dict[str, Any]] = field(default_factory=dict)
    after: dict[tuple[str, Any], dict[str, Any]] = field(default_factory=dict)
    created: set[tuple[str, Any]] = field(default_factory=set)
    pending: AuditEvent | None = None
    committed: bool = False

    def note(self, key: tuple[str, Any], name: str, old: Any, new: Any, *, created: bool) -> None:
        if created:
            self.created.add(key)
        self.before.setdefault(key, {}).setdefault(name, old)
        self.after.setdefault(key, {})[name] = new

    def changes(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Only what changed, as plain JSON: {"ticket 7": {"status": "called"}, ...}."""
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        rows = 0
        for key, new_fields in self.after.items():
            old_fields = self.before.get(key, {})
            created = key in self.created
            changed = {
                name: value
                for name, value in new_fields.items()
                if (value is not None if created else old_fields.get(name) != value)
            }
            if not changed:
                continue
            rows += 1
            if rows > MAX_ROWS:
                after["more"] = rows - MAX_ROWS
                continue
            label = f"{key[0]} {key[1]}"
            after[label] = changed
            if not created:
                before[label] = {name: old_fields.get(name) for name in changed}
        return before, after


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return sorted(_plain(v) for v in value)
    if hasattr(value, "code"):  # a related row (a counter's services): its code
        return value.code
    return value


def _shown(name: str, value: Any) -> Any:
    return _RENDER.get(name, _plain)(value)


@contextmanager
def recording(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    target: Target,
    *,
    branch_id: int | None,
) -> Iterator[None]:
    """Record the action run inside: what it changes is written with its first commit. A
    Forbidden raised inside is recorded as refused, then raised on."""
    rec = _Recording(clock, actor, action, target, branch_id)
    session.info[_KEY] = rec
    try:
        yield
    except Forbidden as refusal:
        session.info.pop(_KEY, None)
        session.rollback()
        record_refusal(session, clock, actor, action, target, branch_id=branch_id, why=refusal)
        raise
    finally:
        session.info.pop(_KEY, None)


def record_refusal(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    target: Target,
    *,
    branch_id: int | None,
    why: Forbidden,
) -> None:
    """Write a refused attempt, alone in its own transaction."""
    session.add(_event(clock, actor, action, target, branch_id, REFUSED, note=why.message))
    session.commit()


def signing_in(
    clock: Clock,
    *,
    person_id: int,
    name: str,
    role: str,
    branch_id: int | None,
    action: str,
    outcome: str,
    note: str | None = None,
    address: str | None = None,
    user_agent: str | None = None,
) -> AuditEvent:
    """A record of a person signing in or out (added to the caller's transaction): the
    sign-in pages run outside the decorated handlers."""
    actor = Actor(
        role=role,
        label=f"{name} ({role})"[:300],
        person_id=person_id,
        name=name,
        address=(address or None) and address[:64],
        user_agent=(user_agent or None) and user_agent[:300],
    )
    return _event(
        clock, actor, action, Target("person", str(person_id)), branch_id, outcome, note=note
    )


def _event(
    clock: Clock,
    actor: Actor,
    action: str,
    target: Target,
    branch_id: int | None,
    outcome: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEvent:
    return AuditEvent(
        at=clock.now(),
        token_id=actor.token_id,
        person_id=actor.person_id,
        actor_name=actor.name,
        actor=actor.label,
        role=actor.role,
        branch_id=branch_id,
        action=action,
        outcome=outcome,
        target_kind=target.kind,
        target_key=target.key,
        before=before,
        after=after,
        note=note,
        address=actor.address,
        user_agent=actor.user_agent,
    )


def is_recording(session: Session) -> bool:
    """Whether what the session writes now is recorded (inside ``recording``, before its
    commit): such writes must go through the ORM, whose flush the log reads."""
    return _active(session) is not None


def _active(session: Session) -> _Recording | None:
    rec = session.info.get(_KEY)
    return rec if isinstance(rec, _Recording) and not rec.committed else None


@event.listens_for(Session, "after_flush")
def _collect_flushed(session: Session, flush_context: UOWTransaction) -> None:
    # After the flush the rows have ids, and the attributes still hold their history.
    rec = _active(session)
    if rec is None or rec.pending is not None:
        return
    for obj in session.new:
        if isinstance(obj, TicketEvent):
            # A ticket's history line (a recall changes nothing else): shown on the ticket.
            rec.note(("ticket", obj.ticket_id), "event", None, obj.event, created=False)
            continue
        audited = AUDITED.get(type(obj))
        if audited is None:
            continue
        kind, names = audited
        for name in names:
            value = _shown(name, getattr(obj, name))
            rec.note((kind, obj.id), name, None, value, created=True)
    for obj in session.dirty:
        audited = AUDITED.get(type(obj))
        if audited is None:
            continue
        kind, names = audited
        attrs = inspect(obj).attrs
        for name in names:
            history = attrs[name].history
            if not history.has_changes():
                continue
            if isinstance(history.unchanged, list | tuple) and name == "services":
                old: Any = _shown(name, [*history.unchanged, *history.deleted])
                new: Any = _shown(name, [*history.unchanged, *history.added])
            else:
                old = _shown(name, history.deleted[0]) if history.deleted else None
                new = _shown(name, history.added[0]) if history.added else None
            rec.note((kind, obj.id), name, old, new, created=False)


def _collect_deleted(mapper: Any, connection: Any, row: Any) -> None:
    # A mapper event, not session.deleted: a row removed from its parent's list (a holiday taken
    # off a branch) is deleted by the flush itself, as an orphan.
    session = object_session(row)
    rec = _active(session) if session is not None else None
    if rec is None or rec.pending is not None:
        return
    kind, names = AUDITED[type(row)]
    for name in names:
        if name != "services":
            rec.note((kind, row.id), name, _shown(name, getattr(row, name)), None, created=False)


for _model in AUDITED:
    event.listen(_model, "after_delete", _collect_deleted)


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk_update(state: ORMExecuteState) -> Any:
    # Conditional UPDATEs (a counter calling a ticket, a window withdrawn) bypass the ORM's
    # history: read the rows they match before and after, in the same transaction. The first
    # read locks them (FOR UPDATE, which SQLite leaves out: its writer holds the whole file), so
    # a row another counter won meanwhile is not read, and the UPDATE changes just the rows read.
    if not state.is_update:
        return None
    rec = _active(state.session)
    mapper = state.bind_mapper
    model = mapper.class_ if mapper is not None else None
    where = getattr(state.statement, "whereclause", None)
    if rec is None or model not in AUDITED or where is None or rec.pending is not None:
        return None
    kind, names = AUDITED[model]
    columns = [n for n in names if n in model.__table__.c]

    def read(query: Select[Any]) -> dict[Any, dict[str, Any]]:
        return {
            row[0]: {n: _shown(n, v) for n, v in zip(columns, row[1:], strict=True)}
            for row in state.session.execute(query)
        }

    read_all = select(model.id, *(getattr(model, n) for n in columns)).order_by(model.id)
    old = read(read_all.where(where).with_for_update())
    result = state.invoke_statement()
    if old and rowcount(result):
        for row_id, new_fields in read(read_all.where(model.id.in_(old))).items():
            for name, value in new_fields.items():
                if old[row_id][name] != value:
                    rec.note((kind, row_id), name, old[row_id][name], value, created=False)
    return result


@event.listens_for(Session, "before_commit")
def _write_with_the_change(session: Session) -> None:
    rec = _active(session)
    if rec is None or rec.pending is not None:
        return
    session.flush()  # let the last changes reach _collect_flushed
    before, after = rec.changes()
    rec.pending = _event(
        rec.clock,
        rec.actor,
        rec.action,
        rec.target,
        rec.branch_id,
        DONE,
        before=before,
        after=after,
    )
    session.add(rec.pending)


@event.listens_for(Session, "after_commit")
def _written(session: Session) -> None:
    rec = session.info.get(_KEY)
    if isinstance(rec, _Recording) and rec.pending is not None:
        rec.committed = True


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    # What was rolled back did not happen; the action may still try again.
    rec = _active(session)
    if rec is not None:
        rec.before.clear()
        rec.after.clear()
        rec.created.clear()
        rec.pending = None


# --- reading it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """Which records, as a reader asks: ``since`` and ``until`` as given (see parse_bound)."""

    since: str | None = None
    until: str | None = None
    action: str | None = None
    before_id: int | None = None  # paging: the records older than this one
    limit: int | None = 100  # None: all of them (an export)


def parse_bound(text: str | None, zone: ZoneInfo, *, name: str, end: bool) -> datetime | None:
    """A ``from`` or ``to`` bound: a date (the start of that local day; for ``to``, the end of
    it) or an ISO 8601 time (local when it has no offset). Raises InvalidInput."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            at = datetime.combine(day, time(), tzinfo=zone)
            if end:
                at = _later(at)
        else:
            at = datetime.fromisoformat(text)
            at = at if at.tzinfo else at.replace(tzinfo=zone)
    except ValueError:
        raise InvalidInput(
            f"{name} is not a date (2026-11-24) or a time (2026-11-24T10:00+02:00): {text[:40]!r}",
            **{name: ["not a date or time"]},
        ) from None
    return _within_the_calendar(at)


def _later(start: datetime) -> datetime:
    """The end of the day starting at ``start`` (the calendar's end after 9999-12-31)."""
    try:
        return start + timedelta(days=1)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _within_the_calendar(at: datetime) -> datetime:
    """A bound held to the calendar of UTC, where the columns keep their times: 0001-01-01 in
    Cairo is still year 0 there. No record is as old or as late, so a bound beyond either end
    keeps its meaning."""
    try:
        at.astimezone(UTC)
    except OverflowError:
        if at.year == 1:
            return datetime.min.replace(tzinfo=UTC)
        return datetime.max.replace(tzinfo=UTC)
    return at


def _checked_action(text: str | None) -> str | None:
    if not text:
        return None
    if len(text) > 64 or not all(c.isascii() and (c.isalnum() or c in "._-") for c in text):
        raise InvalidInput(
            f"action is a name such as ticket.done, or its first part, ticket: {text[:64]!r}",
            action=["letters, digits, dots, dashes and underscores only"],
        )
    return text


def events(
    session: Session,
    query: Query,
    zone: ZoneInfo,
    *,
    branch_id: int | None = None,
    every_branch: bool = False,
) -> list[AuditEvent]:
    """Records newest first: of one branch, or with ``every_branch`` all of them (system-wide
    ones included); dates without an offset are read in ``zone``. Raises InvalidInput."""
    since = parse_bound(query.since, zone, name="from", end=False)
    until = parse_bound(query.until, zone, name="to", end=True)
    action = _checked_action(query.action)
    # The day or time ``to`` names must not come before ``from``; the same time twice is an
    # empty range, not a wrong one.
    to_named = parse_bound(query.until, zone, name="to", end=False)
    if since and to_named and to_named < since:
        raise InvalidInput("the range ends before it begins", to=["before from"])
    if query.limit is not None and not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is between 1 and {MAX_LIMIT}", limit=["out of range"])
    statement = select(AuditEvent).order_by(AuditEvent.id.desc())
    if not every_branch:
        statement = statement.where(AuditEvent.branch_id == branch_id)
    if since:
        statement = statement.where(AuditEvent.at >= since)
    if until:
        statement = statement.where(AuditEvent.at < until)
    if action:
        statement = statement.where(
            (AuditEvent.action == action)
            | AuditEvent.action.startswith(action + ".", autoescape=True)
        )
    if query.before_id is not None:
        statement = statement.where(AuditEvent.id < query.before_id)
    if query.limit is not None:
        statement = statement.limit(query.limit)
    return list(session.scalars(statement))


def for_branch(
    session: Session, principal: Principal, branch_code: str, query: Query
) -> tuple[list[dict[str, Any]], int | None]:
    """A branch's records, for its manager or an admin, and the ``before`` of the next page
    (None on the last one). Raises NotFound, Forbidden, InvalidInput."""
    branch = directory.current(session).branch(branch_code)
    principal.require_branch(branch.id)
    found = events(session, query, branch.zone, branch_id=branch.id)
    more = query.limit is not None and len(found) == query.limit
    return as_rows(session, found), (found[-1].id if more else None)


def export(session: Session, query: Query, *, branch_code: str | None, form: str) -> str:
    """Every record asked for (of one branch, or all), as CSV or JSON lines, for an admin on the
    server. Dates are the branch's local days, or UTC ones for all. Raises NotFound,
    InvalidInput."""
    if form not in ("csv", "jsonl"):
        raise InvalidInput(f"unknown format {form!r}", format=["csv or jsonl"])
    if branch_code is None:
        found = events(session, query, ZoneInfo("UTC"), every_branch=True)
    else:
        branch = directory.current(session).branch(branch_code)
        found = events(session, query, branch.zone, branch_id=branch.id)
    rows = as_rows(session, found)
    return as_csv(rows) if form == "csv" else as_jsonl(rows)


def as_rows(session: Session, found: Iterable[AuditEvent]) -> list[dict[str, Any]]:
    """Records as plain dicts, the branch by its code."""
    found = list(found)
    ids = {e.branch_id for e in found if e.branch_id is not None}
    codes = (
        {
            row[0]: row[1]
            for row in session.execute(select(Branch.id, Branch.code).where(Branch.id.in_(ids)))
        }
        if ids
        else {}
    )
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "role": e.role,
            "token_id": e.token_id,
            "person_id": e.person_id,
            "name": e.actor_name,
            "branch": codes.get(e.branch_id) if e.branch_id is not None else None,
            "action": e.action,
            "outcome": e.outcome,
            "target": {"kind": e.target_kind, "key": e.target_key},
            "before": e.before,
            "after": e.after,
            "note": e.note,
            "address": e.address,
            "user_agent": e.user_agent,
        }
        for e in found
    ]


CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "role",
    "token_id",
    "person_id",
    "name",
    "branch",
    "action",
    "outcome",
    "target_kind",
    "target_key",
    "before",
    "after",
    "note",
    "address",
    "user_agent",
)


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if k != "target"}
    flat["target_kind"] = row["target"]["kind"]
    flat["target_key"] = row["target"]["key"]
    for name in ("before", "after"):
        flat[name] = "" if row[name] is None else json.dumps(row[name], ensure_ascii=False)
    return flat


def as_csv(rows: Iterable[dict[str, Any]]) -> str:
    """CSV in UTF-8 with a byte-order mark, so that a spreadsheet shows Arabic as Arabic;
    before and after are JSON in their cells."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(_flat(row))
    return out.getvalue()


def as_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
