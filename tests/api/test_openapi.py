"""The API contract: the generated OpenAPI document is the committed one, and covers DESIGN.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from queue_app.api import openapi_document

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"

# The paths of DESIGN.md that exist so far; each later issue adds its own.
DESIGN_PATHS = {
    ("get", "/api/v1/branches"),
    ("get", "/api/v1/branches/{branch_code}"),
    ("post", "/api/v1/branches/{branch_code}/tickets"),
    ("get", "/api/v1/tickets/{token}"),
    ("post", "/api/v1/tickets/{token}/cancel"),
    ("post", "/api/v1/tickets/{token}/check-in"),
    ("post", "/api/v1/branches/{branch_code}/counters/{counter_code}/call-next"),
    ("post", "/api/v1/tickets/{token}/done"),
    ("post", "/api/v1/tickets/{token}/no-show"),
    ("post", "/api/v1/tickets/{token}/recall"),
    ("patch", "/api/v1/branches/{branch_code}/counters/{counter_code}"),
}


@pytest.fixture
def document(app) -> dict:
    return json.loads(json.dumps(openapi_document(app), sort_keys=True, default=str))


def test_served_document_is_the_generated_one(client, document):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert json.loads(json.dumps(served.json, sort_keys=True)) == document


def test_document_matches_the_committed_copy(document):
    """Regenerate with `queue-app openapi > docs/openapi.json` after a deliberate change."""
    assert document == json.loads(COMMITTED.read_text())


def test_document_covers_the_design(document):
    assert document["openapi"].startswith("3.")
    present = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert present >= DESIGN_PATHS


def test_protected_operations_declare_bearer_auth(document):
    take = document["paths"]["/api/v1/branches/{branch_code}/tickets"]["post"]
    assert take["security"] == [{"bearerAuth": []}, {"signedInSession": []}]
    body = take["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/TakeTicketBody")
    ticket = document["components"]["schemas"]["Ticket"]["properties"]
    assert {"token", "number", "status", "position", "eta_minutes", "status_url", "qr_url"} <= set(
        ticket
    )


def test_idempotency_key_is_documented(document):
    take = document["paths"]["/api/v1/branches/{branch_code}/tickets"]["post"]
    header = next(p for p in take["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert header["required"] is False
    assert "Idempotent-Replayed" in take["responses"]["201"]["headers"]
    assert "idempotency_key_reused" in take["responses"]["422"]["description"]


def test_check_in_declares_its_conflicts(document):
    check_in = document["paths"]["/api/v1/tickets/{token}/check-in"]["post"]
    assert check_in["security"] == [{"bearerAuth": []}, {"signedInSession": []}]
    conflicts = check_in["responses"]["409"]["description"]
    assert "too_early" in conflicts
    assert "too_late" in conflicts


# --- rules the fuzzer found the document did not state (issue 16) -------------------------


def _request_strings(schema: dict, components: dict) -> list[dict]:
    """Every string property of a request schema, items of arrays included."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    found = []
    for prop in schema.get("properties", {}).values():
        prop = prop.get("items", prop) if prop.get("type") == "array" else prop
        if prop.get("type") == "string":
            found.append(prop)
    return found


def test_every_string_a_client_sends_says_no_nul(document):
    """request_hygiene answers 400 to a NUL anywhere: the document must not invite one."""
    components = document["components"]["schemas"]
    strings = []
    for item in document["paths"].values():
        for key, operation in item.items():
            parameters = operation if key == "parameters" else operation.get("parameters", [])
            strings.extend(p["schema"] for p in parameters if p["in"] in ("path", "query"))
            if key != "parameters":
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    strings.extend(_request_strings(content["schema"], components))
    checked = 0
    for schema in strings:
        if schema.get("type") != "string" or {"enum", "anyOf", "format"} & set(schema):
            continue
        assert re.fullmatch(schema["pattern"], "a-1"), schema
        assert not re.fullmatch(schema["pattern"], "a\x00"), schema
        checked += 1
    assert checked > 20


def test_path_segments_are_short_enough_never_to_reach_414(document):
    for item in document["paths"].values():
        for parameter in item.get("parameters", []):
            if parameter["schema"]["type"] == "string":
                # No route has more than two codes in its address.
                assert parameter["schema"]["maxLength"] * 2 < 2048, parameter


def test_cross_field_and_range_rules_are_stated(document):
    components = document["components"]["schemas"]
    assert components["TransferBody"]["minProperties"] == 1
    audit = {
        p["name"]: p["schema"]
        for p in document["paths"]["/api/v1/branches/{branch_code}/audit"]["get"]["parameters"]
    }
    assert audit["from"]["anyOf"] == [{"format": "date"}, {"format": "date-time"}]
    assert audit["action"]["pattern"] == "^[A-Za-z0-9._-]*$"
    assert audit["before"]["maximum"] == 2**31 - 1
    withdraw = document["paths"]["/api/v1/backends/{code}/maintenance/{window_id}"]
    window_id = next(p for p in withdraw["parameters"] if p["name"] == "window_id")
    assert withdraw["delete"]
    assert window_id["schema"]["maximum"] == 2**31 - 1
