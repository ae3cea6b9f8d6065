"""The public JSON API under /api/v1, documented by the OpenAPI file generated from its schemas."""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from flask import Flask
from flask_smorest import Api
from werkzeug.routing import UnicodeConverter

from queue_app.api import (
    appointments,
    audit,
    backends,
    branches,
    counters,
    schemas,
    statistics,
    tickets,
)

PREFIX = "/api/v1"


class QueueApi(Api):  # type: ignore[misc]
    # Our one error shape is what the document announces for every error response.
    ERROR_SCHEMA = schemas.Error


class _Converter(OpenAPIConverter):  # type: ignore[misc]
    """Adds a schema's ``Meta.openapi`` keywords (minProperties...) to its document: rules
    about the whole object that no single field states."""

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        document: dict[str, Any] = super().schema2jsonschema(schema)
        document.update(getattr(getattr(schema, "Meta", None), "openapi", {}))
        return document


class _Plugin(MarshmallowPlugin):  # type: ignore[misc]
    Converter = _Converter


def _path_segment(converter: UnicodeConverter) -> dict[str, Any]:
    """A code or token in the address: what request_hygiene lets through (no NUL) and short
    enough that no address reaches its 414."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": schemas.MAX_PATH_SEGMENT,
        "pattern": schemas.NO_NUL.regex.pattern,
    }


def init_app(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Virtual queue",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Walk-in tickets, appointments, counters and outages of "
                "government service offices. Errors: {error, message, fields}.",
            },
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                    # The pages of signed-in people call the API with their session: calls that
                    # change something also send the page's X-CSRFToken header (docs/people.md).
                    "signedInSession": {
                        "type": "apiKey",
                        "in": "cookie",
                        "name": "queue_signed_in",
                        "description": "A signed-in person's session (/sign-in); with the "
                        "page's X-CSRFToken header on POST, PUT, PATCH and DELETE.",
                    },
                }
            },
        },
    )
    api = QueueApi(app, spec_kwargs={"marshmallow_plugin": _Plugin()})
    api.register_converter(UnicodeConverter, _path_segment)
    blueprints = (
        branches.blp,
        tickets.blp,
        counters.blp,
        appointments.blp,
        backends.blp,
        audit.blp,
        statistics.blp,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=PREFIX)
    app.extensions["queue_api"] = api
    return api


def openapi_document(app: Flask) -> dict[str, object]:
    """The OpenAPI document, as served at /api/v1/openapi.json."""
    return app.extensions["queue_api"].spec.to_dict()
