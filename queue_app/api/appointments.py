from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from queue_app import appointments, capacity, directory, phone_codes, slots
from queue_app.api import schemas
from queue_app.api.auditing import audited, in_branch, service_in_body
from queue_app.api.auth import BEARER, caller_if_any, principal, requires_role
from queue_app.api.branches import REPLAY_HEADERS
from queue_app.api.presenters import created_ticket
from queue_app.models import Role
from queue_app.web.extensions import current_clock, current_settings, db
from queue_app.web.rate_limits import from_our_own_devices, limiter

blp = Blueprint(
    "appointments", __name__, description="Slots, appointments and the capacity of services"
)


@blp.get("/branches/<branch_code>/services/<service_code>/slots")
@blp.arguments(schemas.SlotsQuery, location="query")
@blp.response(200, schemas.Slot(many=True))
@blp.alt_response(404, schema=schemas.Error)
def list_slots(query: dict[str, Any], branch_code: str, service_code: str) -> list[slots.Slot]:
    """The service's slots from a local day, each with its capacity and what is left."""
    now = current_clock().now()
    service = directory.current(db.session).branch(branch_code).service(service_code)
    first = query["from_"] or now.astimezone(service.branch.zone).date()
    return slots.slots_of(db.session, service, now, first, query["days"])


@blp.post("/branches/<branch_code>/appointments")
@limiter.limit("10 per minute;60 per hour", exempt_when=from_our_own_devices)
@blp.arguments(schemas.BookBody)
@blp.arguments(schemas.TakeTicketHeaders, location="headers")
@blp.response(201, schemas.Ticket, headers=REPLAY_HEADERS)
@blp.alt_response(401, schema=schemas.Error, description="no phone, and a token not valid")
@blp.alt_response(403, schema=schemas.Error, description="no phone, and another branch's token")
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(
    409,
    schema=schemas.Error,
    description="slot_full (with next_slot), already_booked, code_expired or code_used",
)
@blp.alt_response(
    422,
    schema=schemas.Error,
    description="invalid_phone, or invalid_input (fields.phone: required, when a booking "
    "without a kiosk or staff token gives no number), code_required (a branch with "
    "booking_code), code_wrong",
)
@blp.alt_response(
    429,
    schema=schemas.Error,
    description="rate_limited: too many bookings from this address, or the phone had its "
    "messages for today (QUEUE_SMS_DAILY_CAP); code_tries_exhausted",
)
@audited("appointment.book", service_in_body, token_optional=True)
def book(body: dict[str, Any], headers: dict[str, Any], branch_code: str) -> Any:
    """Book an appointment (anyone; a mobile number is required for the confirmation SMS,
    except with a kiosk or staff token of the branch, for a citizen without a phone).
    Limited to 10 a minute and 60 an hour per address, except with a kiosk or staff token.
    An Idempotency-Key makes a retried request answer with the booking it made. Where the
    branch asks for it (``booking_code``), a booking with a number carries the one-time code
    sent to it (POST .../booking-codes), unless made with a kiosk or staff token of the branch."""
    # Only a booking without a number, or without a code, needs to know who asks.
    asks = body["phone"] is None or body["code"] is None
    view = appointments.book_confirming_number(
        db.session,
        current_clock(),
        current_settings().secret_key,
        branch_code,
        body["service"],
        start=body["start"],
        phone=body["phone"],
        locale=body["locale"],
        channel=body["channel"],
        code=body["code"],
        caller=caller_if_any() if asks else None,
        idempotency_key=headers.get("idempotency_key"),
    )
    return created_ticket(view, current_settings())


@blp.post("/branches/<branch_code>/booking-codes")
@limiter.limit("5 per minute;20 per hour", exempt_when=from_our_own_devices)
@blp.arguments(schemas.BookingCodeBody)
@blp.response(202, schemas.CodeSent)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(409, schema=schemas.Error, description="already_booked, number_opted_out")
@blp.alt_response(422, schema=schemas.Error, description="invalid_phone, invalid_input (channel)")
@blp.alt_response(
    429,
    schema=schemas.Error,
    description="rate_limited: too many requests from this address, 3 codes to the number in "
    "15 minutes, or the number had its messages for today (QUEUE_SMS_DAILY_CAP)",
)
def ask_booking_code(body: dict[str, Any], branch_code: str) -> Any:
    """Send a one-time code to a number, for booking at a branch that asks for one
    (``booking_code``): six digits, valid 10 minutes, once, 5 tries; a new one replaces it.
    Anyone; 5 a minute and 20 an hour per address."""
    appointments.ask_booking_code(
        db.session,
        current_clock(),
        current_settings().secret_key,
        branch_code,
        body["service"],
        phone=body["phone"],
        channel=body["channel"],
        locale=body["locale"],
    )
    minutes = int(phone_codes.VALID_FOR.total_seconds() // 60)
    return {"sent": True, "valid_minutes": minutes}


@blp.put("/branches/<branch_code>/services/<service_code>/capacity")
@blp.arguments(schemas.CapacityBody)
@blp.arguments(schemas.CapacityQuery, location="query")
@blp.response(200, schemas.CapacityResult)
@blp.alt_response(403, schema=schemas.Error)
@blp.alt_response(404, schema=schemas.Error)
@blp.alt_response(422, schema=schemas.Error, description="invalid_input: to before from")
@blp.doc(security=BEARER)
@requires_role(Role.MANAGER, Role.ADMIN)
@audited("capacity.set", in_branch("service", "service_code"))
def set_capacity(
    body: dict[str, Any], query: dict[str, Any], branch_code: str, service_code: str
) -> dict[str, Any]:
    """Set the capacity per slot for a range of days (manager, admin). Bookings over the new
    capacity are moved to later free slots, the latest booked first, and texted; with
    ``?dry_run=true`` nothing changes and the answer says how many would move."""
    change = capacity.set_capacity(
        db.session,
        current_clock(),
        principal(),
        branch_code,
        service_code,
        first_day=body["from_"],
        last_day=body["to"],
        per_slot=body["per_slot"],
        dry_run=query["dry_run"],
    )
    return {
        "service": service_code,
        "from_": change.first_day,
        "to": change.last_day,
        "per_slot": change.per_slot,
        "over_capacity": change.over_capacity,
        "moved": change.moved,
        "unplaced": change.unplaced,
        "texted": change.texted,
        "dry_run": change.dry_run,
    }
