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


class ServicePaused(StateConflict):
    code = "service_paused"


class ServiceClosed(StateConflict):
    code = "service_closed"


class ConfigError(QueueError):
    """A config file that cannot be loaded; nothing of it was written."""

    code, status = "config_error", 422
