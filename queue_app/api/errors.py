"""Every error of the API in one shape: {"error", "message", "fields"}."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import HTTPException

from queue_app.errors import QueueError

# Codes for HTTP errors that do not come from the domain.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "state_conflict",
    413: "too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "fields": fields or {}}


def queue_error_response(err: QueueError) -> tuple[dict[str, Any], int]:
    return error_body(err.code, err.message, err.fields), err.status


def passed_on_headers(err: HTTPException) -> dict[str, str]:
    """The headers an HTTP error carries besides its own body's (405's Allow, 429's and 503's
    Retry-After)."""
    return {name: value for name, value in err.get_headers() if name.lower() != "content-type"}


def http_error_response(err: HTTPException) -> tuple[dict[str, Any], int]:
    status = err.code or 500
    fields: dict[str, Any] = {}
    data = getattr(err, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    message = err.description or ""
    if messages:
        # webargs nests problems under the request location ("json", "query"...).
        for location_errors in messages.values():
            if isinstance(location_errors, dict):
                fields.update(location_errors)
            else:
                fields.setdefault("_schema", []).extend(location_errors)
        if status == 400 and "Invalid JSON body." in str(messages):
            message = "the request body is not valid JSON"
        elif status == 422:
            message = "some fields are missing or wrong: " + ", ".join(sorted(fields))
    if status == 413:
        message = "the request body is larger than this server accepts"
    return error_body(HTTP_CODES.get(status, "error"), message, fields), status
