"""Domain errors. Each has a stable ``code`` and an HTTP ``status``; the API and the pages render
them in one place each (``api/errors.py``, ``pages/errors.py``)."""

from __future__ import annotations


class QueueError(Exception):
    code: str = "error"
    status: int = 400

    def __init__(self, message: str = "", **fields: object) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.fields = fields


class NotFound(QueueError):
    code, status = "not_found", 404


class InvalidInput(QueueError):
    code, status = "invalid_input", 422


class InvalidPhone(InvalidInput):
    code = "invalid_phone"


class Unauthorized(QueueError):
    code, status = "unauthorized", 401


class Forbidden(QueueError):
    code, status = "forbidden", 403


class StateConflict(QueueError):
    code, status = "state_conflict", 409


class CounterBusy(StateConflict):
    """Another device at the same counter called at the same moment, or the counter is serving
    someone else: one citizen at a counter at a time."""

    code = "counter_busy"


class ServicePaused(StateConflict):
    code = "service_paused"


class ServiceClosed(StateConflict):
    code = "service_closed"


class TooEarly(StateConflict):
    """An appointment checked in before its check-in window opens."""

    code = "too_early"


class TooLate(StateConflict):
    """An appointment checked in after its check-in window closed."""

    code = "too_late"


class SlotFull(StateConflict):
    """The slot's last place went to someone else; ``next_slot`` names the next free one."""

    code = "slot_full"


class AlreadyBooked(StateConflict):
    """One active appointment per number per service: a second would hold a place twice."""

    code = "already_booked"


class SystemAway(StateConflict):
    """The slot falls in announced maintenance or an outage of a system the service needs."""

    code = "system_unavailable"


class MaintenanceAlreadyAnnounced(StateConflict):
    """The same window (system, start, end) is announced and not withdrawn; ``id`` names it."""

    code = "maintenance_already_announced"


class NoFreeSlot(StateConflict):
    """No later slot is free for a booking to move to."""

    code = "no_free_slot"


class IdempotencyKeyReused(InvalidInput):
    """An ``Idempotency-Key`` sent again with a different request."""

    code = "idempotency_key_reused"


class RateLimited(QueueError):
    code, status = "rate_limited", 429


class EnrolmentCodeWrong(Forbidden):
    """No such enrolment code at this branch: mistyped, made for another branch, or guessed."""

    code = "enrolment_code_wrong"


class EnrolmentCodeUsed(StateConflict):
    code = "enrolment_code_used"


class EnrolmentCodeExpired(StateConflict):
    code = "enrolment_code_expired"


class ConfigError(QueueError):
    """A config file that cannot be loaded; nothing of it was written."""

    code, status = "config_error", 422
