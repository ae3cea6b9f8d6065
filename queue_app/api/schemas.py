"""Request and response shapes of /api/v1. The OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import Schema, fields, validate

from queue_app.locales import DEFAULT_LOCALE, LOCALES
from queue_app.whatsapp import CHANNELS

# request_hygiene refuses a NUL anywhere in a request with a 400; the document says so with this
# pattern on every string a client sends, so that no valid request is refused.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="a NUL character is not allowed")
# The longest code or token in an address (path segments of /api/v1 say so in the document).
MAX_PATH_SEGMENT = 200
# The largest id a row can have (PostgreSQL's integer); a larger one finds nothing.
MAX_ID = 2**31 - 1


class Text(fields.String):
    """A string a client sends: any text a table can hold (no NUL)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        given = kwargs.pop("validate", None)
        validators = [] if given is None else list(given) if isinstance(given, list) else [given]
        # A pattern of its own already keeps NUL out (the document shows one pattern a field).
        if not any(isinstance(v, validate.Regexp) for v in validators):
            validators.append(NO_NUL)
        super().__init__(*args, validate=validators, **kwargs)


class LocalisedName(Schema):
    ar = fields.String(required=True)
    en = fields.String(required=True)


class Error(Schema):
    error = fields.String(required=True, metadata={"example": "service_paused"})
    message = fields.String(required=True)
    fields = fields.Dict(required=True)


# --- tickets ---


class TakeTicketBody(Schema):
    service = Text(required=True, validate=validate.Length(min=1, max=64))
    phone = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={"description": "mobile number, local or international, for the branch's country"},
    )
    locale = fields.String(load_default=DEFAULT_LOCALE, validate=validate.OneOf(LOCALES))
    channel = fields.String(
        load_default=None,
        validate=validate.OneOf(CHANNELS),
        metadata={
            "description": "how the citizen is told: sms or whatsapp, among the branch's "
            "channels (422 for another); the branch's first when left out"
        },
    )
    priority = fields.Boolean(
        load_default=False, metadata={"description": "elderly, disability or pregnancy"}
    )


class TakeTicketHeaders(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=[
            validate.Length(min=1, max=64),
            validate.Regexp(r"^[\x21-\x7e]+$", error="visible ASCII characters only"),
        ],
        metadata={
            "description": "A new random value (a UUID) per ticket the client means to take, "
            "sent again unchanged with every retry of that request. A repeat within a day at "
            "the same branch answers 201 with the ticket the first request issued (its current "
            "state) and the header Idempotent-Replayed: true, instead of a second ticket; a "
            "repeat with a different body answers 422 idempotency_key_reused.",
            "example": "0b7d5c1e-4a4f-4d0e-9d1a-6f1f2f3c9a10",
        },
    )


class SlotTimes(Schema):
    start = fields.DateTime(required=True)
    end = fields.DateTime(required=True)


class HistoryEntry(Schema):
    at = fields.DateTime(required=True)
    event = fields.String(required=True)
    note = fields.String(allow_none=True)


class DownBackend(Schema):
    code = fields.String(required=True)
    name = fields.Nested(LocalisedName, required=True)
    since = fields.DateTime(allow_none=True)


class TodayOffer(Schema):
    until = fields.DateTime(required=True)


class Ticket(Schema):
    token = fields.String(required=True)
    number = fields.String(required=True, metadata={"example": "A-001"})
    service = fields.String(required=True)
    branch = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["walk_in", "appointment"]))
    status = fields.String(
        required=True,
        validate=validate.OneOf(
            ["scheduled", "waiting", "called", "on_hold", "done", "no_show", "cancelled"]
        ),
        metadata={
            "description": "on_hold: put aside by its counter (a document to fetch); it is not "
            "in the line and the counter resumes it or sends it back to the line."
        },
    )
    priority = fields.Boolean(required=True)
    locale = fields.String(required=True)
    channel = fields.String(
        required=True,
        validate=validate.OneOf(CHANNELS),
        metadata={"description": "how the citizen is told: sms or whatsapp"},
    )
    issued_at = fields.DateTime(required=True)
    position = fields.Integer(allow_none=True)
    eta_minutes = fields.Integer(
        allow_none=True,
        metadata={
            "description": "Minutes until the ticket is called, from a simulation of the "
            "branch's open counters and every line they serve; null while no open counter "
            "will call it (not waiting, its service paused, no counter serving it)."
        },
    )
    eta_range_minutes = fields.List(
        fields.Integer(),
        allow_none=True,
        validate=validate.Length(equal=2),
        metadata={
            "description": "[low, high]: the minutes until called if every citizen ahead took "
            "0.75 or 1.35 times the service's usual time; eta_minutes lies within it. Null "
            "whenever eta_minutes is.",
            "example": [9, 17],
        },
    )
    counter = fields.String(
        allow_none=True,
        metadata={
            "description": "The counter calling or holding the ticket, or, after a transfer to "
            "a counter, the one whose own line it waits in."
        },
    )
    slot = fields.Nested(SlotTimes, allow_none=True)
    service_state = fields.String(required=True)
    down_backends = fields.List(fields.Nested(DownBackend), required=True)
    awaiting_slot = fields.Boolean(
        required=True,
        metadata={
            "description": "a move (an outage, maintenance) found no free time for the ticket "
            "yet: it stays valid, and its new time will be texted and shown when there is room"
        },
    )
    offer = fields.Nested(
        TodayOffer,
        allow_none=True,
        metadata={
            "description": "the system this ticket's outage moved it for is back, and today "
            "has free time: POST .../accept-offer before `until` to join today's line instead "
            "of the new time; null when there is no open offer"
        },
    )
    status_url = fields.String(required=True)
    qr_url = fields.String(required=True)
    history = fields.List(fields.Nested(HistoryEntry), required=True)


# --- branches ---


class ServiceSummary(Schema):
    code = fields.String(required=True)
    letter = fields.String(required=True)
    name = fields.Nested(LocalisedName, required=True)
    state = fields.String(
        required=True, validate=validate.OneOf(["open", "paused", "degraded", "closed"])
    )
    closed_reason = fields.String(allow_none=True)
    next_opening = fields.DateTime(allow_none=True)
    takes_walk_ins = fields.Boolean(
        required=True,
        metadata={
            "description": "walk-in tickets are issued now: open or degraded, or closed but "
            "within the branch's early_tickets_minutes before next_opening"
        },
    )
    down_backends = fields.List(fields.Nested(DownBackend), required=True)
    waiting = fields.Integer(required=True)
    eta_minutes = fields.Integer(allow_none=True)
    open_counters = fields.Integer(required=True)
    backends = fields.List(fields.String(), required=True)
    next_slot = fields.DateTime(allow_none=True)


class CounterSummary(Schema):
    code = fields.String(required=True)
    open = fields.Boolean(required=True)
    services = fields.List(fields.String(), required=True)
    now_serving = fields.String(allow_none=True, metadata={"example": "A-004"})


class Branch(Schema):
    code = fields.String(required=True)
    name = fields.Nested(LocalisedName, required=True)
    timezone = fields.String(required=True)
    country = fields.String(required=True)
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)),
        required=True,
        metadata={"description": "how citizens may be told (sms, whatsapp), the first the default"},
    )
    services = fields.List(fields.Nested(ServiceSummary), required=True)


class BranchDetail(Branch):
    counters = fields.List(fields.Nested(CounterSummary), required=True)


class TransferBody(Schema):
    class Meta:
        # A service, a counter, or both: an empty body says nowhere to go.
        openapi: ClassVar[dict[str, Any]] = {"minProperties": 1}

    service = Text(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the service of the branch the ticket goes to"},
    )
    counter = Text(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the counter whose own line the ticket goes to"},
    )


class CounterPatchBody(Schema):
    open = fields.Boolean()
    services = fields.List(Text(validate=validate.Length(min=1, max=64)))


# --- slots, appointments, capacity ---


class SlotsQuery(Schema):
    from_ = fields.Date(
        data_key="from",
        load_default=None,
        metadata={"description": "first local day (YYYY-MM-DD); today by default"},
    )
    days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=31))


class Slot(Schema):
    start = fields.DateTime(required=True)
    end = fields.DateTime(required=True)
    capacity = fields.Integer(required=True)
    booked = fields.Integer(required=True)
    available = fields.Integer(required=True)


class BookingCodeBody(Schema):
    service = Text(required=True, validate=validate.Length(min=1, max=64))
    phone = Text(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "the mobile number to confirm"},
    )
    locale = fields.String(load_default=DEFAULT_LOCALE, validate=validate.OneOf(LOCALES))
    channel = fields.String(
        load_default=None,
        validate=validate.OneOf(CHANNELS),
        metadata={"description": "how the code is sent: sms or whatsapp, among the branch's"},
    )


class CodeSent(Schema):
    sent = fields.Boolean(required=True)
    valid_minutes = fields.Integer(required=True)


class BookBody(Schema):
    service = Text(required=True, validate=validate.Length(min=1, max=64))
    start = fields.AwareDateTime(
        required=True,
        metadata={
            "description": "the slot's start, with its UTC offset",
            "example": "2026-12-06T09:30:00+02:00",
        },
    )
    phone = Text(
        load_default=None,
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": "the citizen's mobile number, for the confirmation SMS and any later "
            "move. Required, except with a kiosk or staff token of the branch: a citizen "
            "without a phone books at the office, is never texted, and keeps the printed slip"
        },
    )
    locale = fields.String(load_default=DEFAULT_LOCALE, validate=validate.OneOf(LOCALES))
    channel = fields.String(
        load_default=None,
        validate=validate.OneOf(CHANNELS),
        metadata={
            "description": "how the citizen is told: sms or whatsapp, among the branch's "
            "channels (422 for another); the branch's first when left out"
        },
    )
    code = Text(
        load_default=None,
        validate=validate.Length(min=1, max=16),
        metadata={
            "description": "the one-time code sent to the phone (POST "
            "/branches/{b}/booking-codes), where the branch asks for it (booking_code); not "
            "needed with a kiosk or staff token of the branch"
        },
    )


class CapacityBody(Schema):
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    per_slot = fields.Integer(required=True, validate=validate.Range(min=0, max=10000))


class CapacityQuery(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "count the bookings that would move, and change nothing"},
    )


class CapacityResult(Schema):
    service = fields.String(required=True)
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)
    per_slot = fields.Integer(required=True)
    over_capacity = fields.Integer(required=True, metadata={"description": "bookings beyond it"})
    moved = fields.Integer(required=True)
    unplaced = fields.Integer(
        required=True, metadata={"description": "bookings over capacity that found no free slot"}
    )
    texted = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)


# --- back-end systems and their outages ---


class OutageSummary(Schema):
    id = fields.Integer(required=True)
    branch = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "its scope: the branch it pauses alone, or null when the system is "
            "down everywhere"
        },
    )
    ended_by = fields.String(
        allow_none=True,
        metadata={"description": "health_check, manager, admin or staff; null while open"},
    )
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)
    detected_by = fields.String(
        required=True, validate=validate.OneOf(["health_check", "staff_reports", "manager"])
    )
    note = fields.String(allow_none=True)
    expected_end = fields.DateTime(allow_none=True)
    tickets_paused = fields.Integer(required=True)
    tickets_moved = fields.Integer(required=True)
    tickets_texted = fields.Integer(required=True)
    tickets_unplaced = fields.Integer(required=True)
    messages = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "its SMS by state: queued, sent, delivered, undelivered, failed"},
    )
    last_message_at = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "when the last queued message of its moves will leave at the sender's "
            'current rate, behind the messages claimed before it (every "your turn" and '
            "confirmation first); null when none is waiting"
        },
    )


class OutageRecord(OutageSummary):
    backend = fields.String(required=True)


class BackendStatus(Schema):
    code = fields.String(required=True)
    name = fields.Nested(LocalisedName, required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf(["up", "down"]),
        metadata={"description": "down everywhere or not (see down_at for single branches)"},
    )
    since = fields.DateTime(allow_none=True)
    current_outage = fields.Nested(
        OutageSummary,
        allow_none=True,
        metadata={
            "description": "the outage everywhere if there is one, else the newest of a "
            "single branch; null when nothing is down"
        },
    )
    down_at = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the branches an outage of their own holds it down at"},
    )
    outages = fields.List(
        fields.Nested(OutageSummary),
        required=True,
        metadata={"description": "every outage in progress, the one everywhere first"},
    )


class OutageScopeBody(Schema):
    branch = Text(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "the branch it is for: a manager's own by default (no other "
            "allowed); for an admin, everywhere when left out"
        },
    )


class DeclareOutageBody(OutageScopeBody):
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))
    expected_minutes = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=86400)
    )


class ReportBody(Schema):
    branch = Text(
        load_default=None,
        metadata={
            "description": "the reporting counter's branch (a staff token's own by "
            "default; required with an admin token)"
        },
    )
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))


class BackBody(Schema):
    branch = Text(
        load_default=None,
        metadata={
            "description": "the counter's branch (a staff token's own by default; "
            "required with an admin token)"
        },
    )


class ReportResult(Schema):
    reports = fields.Integer(
        required=True,
        metadata={"description": "distinct recent reporters at the branch"},
    )
    needed = fields.Integer(required=True)
    backend = fields.Nested(BackendStatus, required=True)


class MaintenanceBody(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    note = Text(load_default=None, allow_none=True, validate=validate.Length(max=500))


class MaintenanceWindow(Schema):
    id = fields.Integer(required=True)
    backend = fields.String(required=True)
    start = fields.DateTime(required=True)
    end = fields.DateTime(required=True)
    note = fields.String(allow_none=True)
    announced_at = fields.DateTime(required=True)
    tickets_moved = fields.Integer(required=True)
    withdrawn_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "when it was withdrawn before it started; null otherwise"},
    )


class StatisticsQuery(Schema):
    from_ = fields.Date(
        data_key="from",
        required=True,
        metadata={"description": "first local day of the branch (YYYY-MM-DD)"},
    )
    to = fields.Date(
        required=True,
        metadata={"description": "last local day, included (YYYY-MM-DD); at most 366 days"},
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv: sections a spreadsheet opens (UTF-8 with a BOM)"},
    )


class Spread(Schema):
    count = fields.Integer(required=True)
    median_minutes = fields.Float(allow_none=True)
    p90_minutes = fields.Float(allow_none=True, metadata={"description": "90th percentile"})


class HourCount(Schema):
    hour = fields.Integer(required=True, metadata={"description": "local hour, 0-23"})
    arrived = fields.Integer(required=True)
    served = fields.Integer(required=True)


class WaitBucket(Schema):
    from_minutes = fields.Integer(required=True)
    to_minutes = fields.Integer(allow_none=True, metadata={"description": "exclusive"})
    count = fields.Integer(required=True)


class ServiceStatistics(Schema):
    code = fields.String(required=True)
    name = fields.Nested(LocalisedName, required=True)
    service_time = fields.Nested(Spread, required=True)
    wait = fields.Nested(Spread, required=True)
    done = fields.Integer(required=True)
    no_shows = fields.Integer(required=True)
    no_show_share = fields.Float(allow_none=True)


class OutageSystemRecord(Schema):
    tickets_paused = fields.Integer(required=True)
    tickets_moved = fields.Integer(required=True)
    tickets_texted = fields.Integer(required=True)
    tickets_unplaced = fields.Integer(required=True)


class OutageImpact(Schema):
    id = fields.Integer(required=True)
    backend = fields.String(required=True)
    backend_name = fields.Nested(LocalisedName, required=True)
    started_at = fields.String(required=True)
    ended_at = fields.String(allow_none=True)
    system = fields.Nested(OutageSystemRecord, required=True)
    tickets_moved = fields.Integer(required=True)
    tickets_moved_from_line = fields.Integer(required=True)
    tickets_unplaced = fields.Integer(required=True)
    messages = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    citizen_hours_avoided = fields.Float(
        required=True,
        metadata={
            "description": "lower bound: per ticket moved out of the waiting line, hours from "
            "its move to the outage's end or the branch's closing, whichever came first"
        },
    )


class Statistics(Schema):
    branch = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    from_ = fields.String(data_key="from", attribute="from", required=True)
    to = fields.String(required=True)
    arrived = fields.Integer(required=True)
    served = fields.Integer(required=True)
    hours = fields.List(fields.Nested(HourCount), required=True)
    wait = fields.Nested(Spread, required=True)
    wait_buckets = fields.List(fields.Nested(WaitBucket), required=True)
    services = fields.List(fields.Nested(ServiceStatistics), required=True)
    outages = fields.List(fields.Nested(OutageImpact), required=True)


# --- the audit trail ---


# A bound of the audit trail: an ISO 8601 day or time (audit.parse_bound reads both).
DAY_OR_TIME = [{"format": "date"}, {"format": "date-time"}]


class AuditQuery(Schema):
    from_ = fields.String(
        data_key="from",
        load_default=None,
        validate=validate.Length(max=40),
        metadata={
            "description": "from this local day (2026-11-24) or time (2026-11-24T10:00+02:00)",
            "anyOf": DAY_OR_TIME,
        },
    )
    to = fields.String(
        load_default=None,
        validate=validate.Length(max=40),
        metadata={
            "description": "to the end of this local day, or up to this time",
            "anyOf": DAY_OR_TIME,
        },
    )
    action = Text(
        load_default=None,
        validate=[
            validate.Length(max=64),
            validate.Regexp(r"^[A-Za-z0-9._-]*$", error="letters, digits, dots, _ and - only"),
        ],
        metadata={"description": "one action (ticket.done) or a family of them (ticket)"},
    )
    before = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "paging: records older than this id (next_before)"},
    )
    limit = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "records per page: 100 by default; a CSV export has them all"},
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv: the same records as a CSV file (UTF-8)"},
    )


class AuditTarget(Schema):
    kind = fields.String(required=True, metadata={"example": "ticket"})
    key = fields.String(allow_none=True, metadata={"example": "42 A-012"})


class AuditEvent(Schema):
    id = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    actor = fields.String(required=True, metadata={"example": "staff token #3 «counter 2»"})
    role = fields.String(required=True, metadata={"description": "staff, manager, admin or cli"})
    token_id = fields.Integer(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    branch = fields.String(allow_none=True, metadata={"description": "none: system-wide"})
    action = fields.String(required=True, metadata={"example": "ticket.done"})
    outcome = fields.String(required=True, validate=validate.OneOf(["done", "refused"]))
    target = fields.Nested(AuditTarget, required=True)
    before = fields.Dict(
        allow_none=True, metadata={"description": "the changed fields before, by row"}
    )
    after = fields.Dict(allow_none=True, metadata={"description": "the changed fields after"})
    note = fields.String(allow_none=True, metadata={"description": "why it was refused"})
    address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)


class AuditPage(Schema):
    events = fields.List(fields.Nested(AuditEvent), required=True)
    next_before = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "pass as ?before= for the next page; null on the last one"},
    )
