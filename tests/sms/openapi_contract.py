"""Twilio's own OpenAPI description of its API, as a judge of what our gateway sends and of
what our stand-in server answers.

The file lives in the shared folder beside the repository (``<repo>/../shared/twilio``), as
laid out for developers and CI; it is not ours to copy in.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from tests.sms.twilio_server import Exchange

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO.parent / "shared" / "twilio" / "twilio_api_v2010.json"
# Requests are judged as Twilio would receive them, at the host the spec names.
TWILIO_HOST = "https://api.twilio.com"


def spec_path() -> Path:
    """The spec's path; fails under CI (where it must be there) and skips elsewhere if missing."""
    if not SPEC_PATH.is_file():
        message = f"Twilio's OpenAPI file is missing: expected {SPEC_PATH}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI lays shared/ beside the repository)")
        pytest.skip(message)
    return SPEC_PATH


@cache
def _load(path: Path) -> tuple[dict[str, Any], OpenAPI]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return document, OpenAPI.from_dict(document)


class TwilioContract:
    def __init__(self, path: Path) -> None:
        self.document, self.openapi = _load(path)

    def operation(self, exchange: Exchange) -> dict[str, Any]:
        template = self._path_template(exchange.path)
        return self.document["paths"][template][exchange.method.lower()]

    def _path_template(self, path: str) -> str:
        for template in self.document["paths"]:
            prefix, _, rest = template.partition("{AccountSid}")
            if rest and path.startswith(prefix) and path.endswith(rest):
                middle = path[len(prefix) : len(path) - len(rest)]
                if "/" not in middle:
                    return template
        raise AssertionError(f"{path} is not a path of Twilio's API")

    def _request(self, exchange: Exchange) -> WerkzeugOpenAPIRequest:
        split = exchange.target.partition("?")
        builder = EnvironBuilder(
            method=exchange.method,
            base_url=TWILIO_HOST,
            path=split[0],
            query_string=split[2],
            headers={
                k: v
                for k, v in exchange.headers.items()
                if k.lower() not in ("host", "content-length")
            },
            data=exchange.body,
        )
        try:
            return WerkzeugOpenAPIRequest(builder.get_request())
        finally:
            builder.close()

    def check_request(self, exchange: Exchange) -> None:
        """The path and method exist; every form field and query parameter is one the operation
        declares (the spec does not forbid others, Twilio ignores them: a typo would pass
        silently), and openapi-core finds each of the right type, the required ones there,
        and the Basic auth the spec asks for."""
        operation = self.operation(exchange)
        if exchange.body:
            schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
            declared = set(schema["schema"]["properties"])
            undeclared = set(exchange.form) - declared
            assert not undeclared, f"form fields Twilio does not declare: {sorted(undeclared)}"
        query_names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        undeclared = set(exchange.query) - query_names
        assert not undeclared, f"query parameters Twilio does not declare: {sorted(undeclared)}"
        self.openapi.validate_request(self._request(exchange))

    def check_response(self, exchange: Exchange) -> None:
        """A success answer is one the spec describes for the operation."""
        assert exchange.status is not None, "the server gave no answer"
        response = Response(
            exchange.response_body,
            status=exchange.status,
            headers=exchange.response_headers,
        )
        self.openapi.validate_response(self._request(exchange), WerkzeugOpenAPIResponse(response))
