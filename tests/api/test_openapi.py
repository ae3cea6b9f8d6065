"""The API contract: the generated OpenAPI document is the committed one, and covers DESIGN.md."""

from __future__ import annotations

import json
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
