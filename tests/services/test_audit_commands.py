"""`queue-app token create/revoke` are recorded in the audit trail as the command line's, and
`queue-app audit export` writes the trail as CSV or JSON lines, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import func, select

from queue_app import cli
from queue_app.cli import main
from queue_app.models import ApiToken, AuditEvent, Branch
from queue_app.web.extensions import db

CALL_NEXT = "/api/v1/branches/cairo-civil/counters/1/call-next"


@pytest.fixture
def queue_app(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``queue-app ...`` against the test's database, as an operator would on the server."""
    made: list[Flask] = []
    make_app = cli._app

    def recording_app(*args: Any, **kwargs: Any) -> Flask:
        made.append(make_app(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(cli, "_app", recording_app)
    runner = CliRunner(
        env={
            "QUEUE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
            "QUEUE_INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )

    def run(*args: str) -> Result:
        db.session.commit()  # the command is another connection: let it see the test's rows
        try:
            return runner.invoke(main, list(args))
        finally:
            while made:
                with made.pop().app_context():
                    db.engine.dispose()

    return run


@pytest.fixture
def offices(make_branch):
    make_branch("cairo-civil")
    make_branch("giza-traffic")


def _records() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _me() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def test_token_create_and_revoke_are_recorded_as_the_command_line_s(queue_app, offices):
    made = queue_app(
        "token", "create", "--role", "staff", "--branch", "cairo-civil", "--label", "شباك 2"
    )
    assert made.exit_code == 0, made.output
    raw = made.stdout.strip()
    (created,) = _records()
    token_id = db.session.scalar(select(func.max(ApiToken.id)))
    cairo = db.session.scalar(select(Branch.id).where(Branch.code == "cairo-civil"))
    assert (created.action, created.role, created.outcome) == ("token.create", "cli", "done")
    assert created.actor == f"cli ({_me()})"
    assert created.token_id is None
    assert created.branch_id == cairo
    assert created.before == {}
    assert created.after == {
        f"token {token_id}": {"role": "staff", "branch_id": cairo, "label": "شباك 2"}
    }
    token_hash = db.session.scalar(select(ApiToken.token_hash).where(ApiToken.id == token_id))
    assert raw not in json.dumps(created.after)
    assert token_hash not in json.dumps(created.after)

    revoked = queue_app("token", "revoke", str(token_id), "--yes")
    assert revoked.exit_code == 0, revoked.output
    (_, record) = _records()
    assert (record.action, record.target_kind, record.target_key) == (
        "token.revoke",
        "token",
        str(token_id),
    )
    assert record.before == {f"token {token_id}": {"revoked_at": None}}
    assert record.after[f"token {token_id}"]["revoked_at"]
    # Revoked again: nothing changes; the command says so and records nothing.
    assert queue_app("token", "revoke", str(token_id), "--yes").exit_code == 0
    assert len(_records()) == 2


def test_a_failed_token_create_leaves_no_record(queue_app, offices):
    result = queue_app("token", "create", "--role", "staff", "--branch", "nowhere")
    assert result.exit_code == 2
    result = queue_app("token", "create", "--role", "admin", "--branch", "cairo-civil")
    assert result.exit_code == 2
    assert _records() == []


def test_audit_export_writes_csv_and_json_lines(queue_app, offices, client, make_token):
    staff = make_token("staff")
    client.post("/api/v1/branches/cairo-civil/tickets", json={"service": "id-card"}, headers=staff)
    client.post(CALL_NEXT, headers=staff)
    client.post(CALL_NEXT, headers=make_token("staff", "giza-traffic"))  # refused
    made = queue_app("token", "create", "--role", "admin", "--label", "مدير النظام")
    assert made.exit_code == 0, made.output

    every = queue_app("audit", "export")
    assert every.exit_code == 0, every.output
    rows = list(csv.DictReader(io.StringIO(every.stdout.removeprefix("\ufeff"))))
    assert [(r["action"], r["outcome"], r["branch"]) for r in rows] == [
        ("token.create", "done", ""),
        ("counter.call_next", "refused", "cairo-civil"),
        ("counter.call_next", "done", "cairo-civil"),
        ("ticket.issue", "done", "cairo-civil"),
    ]
    assert "مدير النظام" in rows[0]["after"]

    lines = queue_app(
        "audit", "export", "--branch", "cairo-civil", "--format", "jsonl", "--action", "counter"
    )
    assert lines.exit_code == 0, lines.output
    found = [json.loads(line) for line in lines.stdout.splitlines()]
    assert [(r["action"], r["outcome"]) for r in found] == [
        ("counter.call_next", "refused"),
        ("counter.call_next", "done"),
    ]
    # The fixture's clock stands on 24 November 2026 in Cairo.
    day = queue_app(
        "audit", "export", "--branch", "cairo-civil", "--from", "2026-11-24", "--to", "2026-11-24"
    )
    assert len(day.stdout.strip().splitlines()) == 1 + 3
    later = queue_app("audit", "export", "--branch", "cairo-civil", "--from", "2026-11-25")
    assert later.stdout.strip().splitlines() == [every.stdout.splitlines()[0]]  # the header


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--from", "last week"], "from is not a date"),
        (["--to", "2026-02-30"], "to is not a date"),
        (["--from", "2026-11-25", "--to", "2026-11-24"], "ends before it begins"),
        (["--branch", "nowhere"], "nowhere"),
        (["--action", "ticket;"], "action"),
    ],
)
def test_audit_export_refuses_bad_input(queue_app, offices, args, words):
    result = queue_app("audit", "export", *args)
    assert result.exit_code == 2
    assert words in result.stderr
    assert result.stdout == ""
    assert queue_app("audit", "export", "--format", "xml").exit_code == 2


def test_account_commands_are_recorded_without_passwords_or_secrets(queue_app, offices):
    made = queue_app(
        "user", "create", "mona", "--role", "manager", "--branch", "cairo-civil", "--name", "منى"
    )
    assert made.exit_code == 0, made.output
    password = made.stdout.split("password: ")[1].strip()
    assert queue_app("user", "second-factor", "mona", "--on").exit_code == 0
    assert queue_app("user", "reset", "mona").exit_code == 0
    assert queue_app("user", "disable", "mona", "--yes").exit_code == 0
    assert queue_app("user", "disable", "nobody", "--yes").exit_code == 2  # fails: no record
    records = _records()
    assert [r.action for r in records] == [
        "user.create",
        "user.second_factor",
        "user.reset",
        "user.disable",
    ]
    assert all(r.role == "cli" and r.target_key == "mona" for r in records)
    (person,) = records[0].after.values()
    assert person == {
        "username": "mona",
        "display_name": "منى",
        "role": "manager",
        "totp_secret": False,
    }
    (factor,) = records[1].after.values()
    assert factor == {"totp_secret": True}
    assert records[3].after[next(iter(records[3].after))]["disabled_at"]
    from queue_app.models import Person

    stored = db.session.scalars(select(Person)).one()
    every = json.dumps([[r.before, r.after] for r in records], ensure_ascii=False)
    assert password not in every
    assert stored.password_hash not in every
    assert stored.totp_secret not in every
