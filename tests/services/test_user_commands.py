"""`queue-app user create/list/disable/enable/reset/second-factor`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from queue_app import people
from queue_app.web.extensions import db
from tests.conftest import sign_in


@pytest.fixture
def offices(make_branch):
    make_branch("cairo-civil")
    make_branch("giza-traffic")


def test_create_prints_a_generated_password_once_that_signs_in(queue_app, offices, client):
    result = queue_app(
        "user", "create", "mona", "--role", "staff", "--branch", "cairo-civil", "--name", "منى"
    )
    assert result.exit_code == 0, result.output
    password = result.stdout.strip().splitlines()[-1].removeprefix("password: ")
    assert len(password) >= people.MIN_PASSWORD_LENGTH
    assert sign_in(client, "mona", password).status_code == 303
    listed = json.loads(queue_app("user", "list", "--json").stdout)
    assert listed == [
        {
            "username": "mona",
            "name": "منى",
            "role": "staff",
            "branches": ["cairo-civil"],
            "second_factor": False,
            "state": "active",
        }
    ]
    assert password not in queue_app("user", "list").stdout


def test_create_with_a_password_from_stdin_for_two_branches(queue_app, offices, client):
    result = queue_app(
        "user",
        "create",
        "samir",
        "--role",
        "manager",
        "--branch",
        "cairo-civil",
        "--branch",
        "giza-traffic",
        "--password-stdin",
        input="a long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "password:" not in result.stdout
    assert sign_in(client, "samir", "a long enough secret").status_code == 303
    assert "cairo-civil,giza-traffic" in queue_app("user", "list").stdout


@pytest.mark.parametrize(
    "args",
    [
        ("user", "create", "mona", "--role", "staff"),  # no branch
        ("user", "create", "mona", "--role", "admin", "--branch", "cairo-civil"),
        ("user", "create", "mona", "--role", "staff", "--branch", "nowhere"),
        ("user", "create", "no spaces", "--role", "staff", "--branch", "cairo-civil"),
        ("user", "disable", "nobody", "--yes"),
        ("user", "reset", "nobody"),
        ("user", "second-factor", "nobody", "--on"),
    ],
)
def test_bad_input_is_refused_with_a_sentence_and_changes_nothing(queue_app, offices, args):
    result = queue_app(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert json.loads(queue_app("user", "list", "--json").stdout) == []


def test_a_weak_piped_password_is_refused(queue_app, offices):
    result = queue_app(
        "user",
        "create",
        "mona",
        "--role",
        "staff",
        "--branch",
        "cairo-civil",
        "--password-stdin",
        input="short\n",
    )
    assert result.exit_code == 2
    assert "at least 10 characters" in result.stderr


def test_disable_asks_for_confirmation_and_signs_out_everywhere(queue_app, offices, client):
    queue_app(
        "user",
        "create",
        "mona",
        "--role",
        "staff",
        "--branch",
        "cairo-civil",
        "--password-stdin",
        input="a long enough secret\n",
    )
    sign_in(client, "mona", "a long enough secret")
    assert client.get("/counter/cairo-civil/1").status_code == 200
    refused = queue_app("user", "disable", "mona")  # no terminal, no --yes
    assert refused.exit_code == 2
    assert client.get("/counter/cairo-civil/1").status_code == 200
    assert queue_app("user", "disable", "mona", "--yes").exit_code == 0
    assert client.get("/counter/cairo-civil/1").status_code == 303
    assert '"state": "disabled"' in queue_app("user", "list", "--json").stdout
    assert queue_app("user", "enable", "mona").exit_code == 0
    assert sign_in(client, "mona", "a long enough secret").status_code == 303


def test_reset_gives_a_new_password_and_ends_sessions(queue_app, offices, client):
    queue_app(
        "user",
        "create",
        "mona",
        "--role",
        "staff",
        "--branch",
        "cairo-civil",
        "--password-stdin",
        input="a long enough secret\n",
    )
    sign_in(client, "mona", "a long enough secret")
    result = queue_app("user", "reset", "mona")
    assert result.exit_code == 0, result.output
    new = result.stdout.strip().splitlines()[-1].removeprefix("password: ")
    assert client.get("/counter/cairo-civil/1").status_code == 303
    assert sign_in(client, "mona", "a long enough secret").status_code == 401
    assert sign_in(client, "mona", new).status_code == 303


def test_second_factor_prints_the_set_up_link_and_a_qr_code(queue_app, offices):
    queue_app("user", "create", "samir", "--role", "manager", "--branch", "cairo-civil")
    result = queue_app("user", "second-factor", "samir", "--on")
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/Queue:samir?secret=" in result.stdout
    assert "█" in result.stdout or "▀" in result.stdout  # the QR code, drawn in the terminal
    db.session.expire_all()
    assert people.find_person(db.session, "samir").totp_secret
    assert queue_app("user", "second-factor", "samir", "--off").exit_code == 0
    assert '"second_factor": false' in queue_app("user", "list", "--json").stdout
