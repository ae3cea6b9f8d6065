"""`queue-app token create/list/revoke`, on SQLite and PostgreSQL: the list never shows a token,
a revoked token answers 401 on the very next request, an expired one says that it expired."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import Result
from sqlalchemy import select

from queue_app import access, cli
from queue_app.models import Branch, DirectoryRevision, Role
from queue_app.models.kiosks import Kiosk
from queue_app.web.extensions import db


@pytest.fixture
def offices(make_branch):
    make_branch("cairo-civil")
    make_branch("giza-traffic")


def _created(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def _take_ticket(client, raw: str):
    return client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card"},
        headers={"Authorization": f"Bearer {raw}"},
    )


def _listed(queue_app, *args: str) -> list[dict]:
    result = queue_app("token", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- list ----------------------------------------------------------------------------------


def test_list_shows_tokens_but_never_the_token_itself(queue_app, offices):
    raw = _created(
        queue_app(
            "token", "create", "--role", "kiosk", "--branch", "cairo-civil", "--label", "hall A"
        )
    )
    result = queue_app("token", "list")
    assert result.exit_code == 0, result.output
    assert raw not in result.output
    token_hash = access.hash_token(raw)
    assert token_hash not in result.output
    assert token_hash[: access.FINGERPRINT_LENGTH] in result.output
    assert re.search(r"kiosk\s+cairo-civil\s+hall A", result.output)

    [row] = _listed(queue_app)
    assert raw not in json.dumps(row)
    assert row["fingerprint"] == token_hash[: access.FINGERPRINT_LENGTH]
    assert row | {"id": 0, "created_at": ""} == {
        "id": 0,
        "role": "kiosk",
        "branch": "cairo-civil",
        "label": "hall A",
        "kiosk": None,
        "fingerprint": token_hash[:8],
        "created_at": "",
        "expires_at": None,
        "revoked_at": None,
        "state": "active",
    }


def test_list_names_the_kiosk_a_token_stands_for(queue_app, offices, clock):
    branch = db.session.scalar(select(Branch).where(Branch.code == "cairo-civil"))
    hall = Kiosk(branch_id=branch.id, code="hall-a", name_ar="القاعة أ", name_en="Hall A")
    db.session.add(hall)
    db.session.flush()
    access.add_token(db.session, clock, Role.KIOSK, branch.id, label="enrolled", kiosk_id=hall.id)
    db.session.commit()
    [row] = _listed(queue_app)
    assert (row["kiosk"], row["label"]) == ("hall-a", "enrolled")
    assert re.search(r"enrolled\s+hall-a", queue_app("token", "list").output)


def test_list_filters_by_branch_and_role_and_hides_revoked_unless_all(queue_app, offices):
    for role, branch in [
        ("kiosk", "cairo-civil"),
        ("staff", "cairo-civil"),
        ("kiosk", "giza-traffic"),
    ]:
        _created(queue_app("token", "create", "--role", role, "--branch", branch))
    _created(queue_app("token", "create", "--role", "admin"))

    assert len(_listed(queue_app)) == 4
    assert {(r["role"], r["branch"]) for r in _listed(queue_app, "--branch", "cairo-civil")} == {
        ("kiosk", "cairo-civil"),
        ("staff", "cairo-civil"),
    }
    assert [
        r["branch"] for r in _listed(queue_app, "--role", "kiosk", "--branch", "giza-traffic")
    ] == ["giza-traffic"]
    assert [r["branch"] for r in _listed(queue_app, "--role", "admin")] == [None]

    first = _listed(queue_app)[0]["id"]
    assert queue_app("token", "revoke", str(first), "--yes").exit_code == 0
    assert first not in [r["id"] for r in _listed(queue_app)]
    [revoked] = [r for r in _listed(queue_app, "--all") if r["id"] == first]
    assert revoked["state"] == "revoked"
    assert revoked["revoked_at"]
    assert "revoked" in queue_app("token", "list", "--all").output


def test_list_of_an_unknown_branch_is_an_error(queue_app, offices):
    result = queue_app("token", "list", "--branch", "atlantis")
    assert result.exit_code == 2
    assert "no branch 'atlantis'" in result.stderr


# --- revoke --------------------------------------------------------------------------------


def test_a_token_revoked_with_yes_gets_401_on_the_next_request(queue_app, offices, client):
    raw = _created(queue_app("token", "create", "--role", "kiosk", "--branch", "cairo-civil"))
    assert _take_ticket(client, raw).status_code == 201  # this process now caches the token
    revision = db.session.get(DirectoryRevision, 1)
    before = revision.revision if revision else None
    [row] = _listed(queue_app)

    result = queue_app("token", "revoke", str(row["id"]), "--yes")

    assert result.exit_code == 0, result.output
    assert f"revoked token {row['id']} (kiosk, cairo-civil)" in result.stdout
    db.session.expire_all()
    # The revocation gave the directory a new revision, so every process drops its cache.
    assert db.session.get(DirectoryRevision, 1).revision != before
    response = _take_ticket(client, raw)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert set(response.json) == {"error", "message", "fields"}


def test_revoking_twice_says_it_was_revoked_already(queue_app, offices):
    _created(queue_app("token", "create", "--role", "staff", "--branch", "cairo-civil"))
    [row] = _listed(queue_app)
    assert queue_app("token", "revoke", str(row["id"]), "--yes").exit_code == 0
    again = queue_app("token", "revoke", str(row["id"]), "--yes")
    assert again.exit_code == 0
    assert f"token {row['id']} was already revoked at" in again.stdout


def test_revoke_without_yes_and_without_a_terminal_refuses(queue_app, offices, client):
    raw = _created(queue_app("token", "create", "--role", "kiosk", "--branch", "cairo-civil"))
    [row] = _listed(queue_app)

    result = queue_app("token", "revoke", str(row["id"]))

    assert result.exit_code == 2
    assert "needs a confirmation" in result.stderr
    assert "--yes" in result.stderr
    assert _listed(queue_app)[0]["state"] == "active"
    assert _take_ticket(client, raw).status_code == 201


@pytest.mark.parametrize(("answer", "revoked"), [("y\n", True), ("n\n", False)])
def test_revoke_at_a_terminal_asks_first(queue_app, offices, monkeypatch, answer, revoked):
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    _created(queue_app("token", "create", "--role", "kiosk", "--branch", "cairo-civil"))
    [row] = _listed(queue_app)

    result = queue_app("token", "revoke", str(row["id"]), input=answer)

    assert "Revoke token" in result.output
    assert (result.exit_code == 0) is revoked
    assert [r["state"] for r in _listed(queue_app, "--all")] == ["revoked" if revoked else "active"]


def test_revoking_an_unknown_token_is_an_error(queue_app, offices):
    result = queue_app("token", "revoke", "999999", "--yes")
    assert result.exit_code == 2
    assert "no token with id 999999" in result.stderr


# --- expiry --------------------------------------------------------------------------------


def test_create_with_an_expiry_lists_it(queue_app, offices):
    before = datetime.now(UTC)
    _created(
        queue_app(
            "token", "create", "--role", "kiosk", "--branch", "cairo-civil", "--expires-in", "3"
        )
    )
    _created(
        queue_app(
            "token", "create", "--role", "staff", "--branch", "cairo-civil",
            "--expires-at", "2099-01-31T15:00+02:00",
        )
    )  # fmt: skip
    _created(
        queue_app(
            "token", "create", "--role", "staff", "--branch", "cairo-civil",
            "--expires-at", "2099-02-01",
        )
    )  # fmt: skip
    in_days, at_time, at_date = (
        datetime.fromisoformat(r["expires_at"]) for r in _listed(queue_app)
    )
    assert before + timedelta(days=3) <= in_days <= datetime.now(UTC) + timedelta(days=3)
    assert at_time == datetime(2099, 1, 31, 13, tzinfo=UTC)
    assert at_date == datetime(2099, 2, 1, tzinfo=UTC)  # no offset: UTC


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--expires-in", "0"], "--expires-in"),
        (["--expires-in", "-3"], "--expires-in"),
        (["--expires-at", "2020-01-01"], "is not in the future"),
        (["--expires-at", "2020-01-01T10:00+02:00"], "is not in the future"),
        (["--expires-at", "next tuesday"], "not an ISO 8601 date or time"),
        (["--expires-in", "3", "--expires-at", "2099-01-01"], "not both"),
    ],
)
def test_an_expiry_that_is_not_ahead_is_refused(queue_app, offices, option, says):
    result = queue_app("token", "create", "--role", "kiosk", "--branch", "cairo-civil", *option)
    assert result.exit_code == 2
    assert says in result.stderr
    assert "Traceback" not in result.output
    assert _listed(queue_app, "--all") == []
