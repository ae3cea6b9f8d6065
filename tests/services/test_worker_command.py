"""``queue-app worker`` refuses settings it cannot use with a clear message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from queue_app.cli import main


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"QUEUE_SMS_GATEWAY": "carrier-pigeon"}, "unknown SMS gateway 'carrier-pigeon'"),
        ({"QUEUE_SMS_GATEWAY": "twilio"}, "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"),
        (
            {"QUEUE_SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"},
            "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID",
        ),
        ({"QUEUE_SMS_RATE": "fast"}, "QUEUE_SMS_RATE must be a number above zero, not 'fast'"),
        ({"QUEUE_SMS_RATE": "0"}, "QUEUE_SMS_RATE must be above zero"),
        (
            {
                "QUEUE_SMS_GATEWAY": "twilio",
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_FROM": "+15005550006",
                "TWILIO_API_BASE": "ftp://nowhere",
            },
            "TWILIO_API_BASE must be an http(s) URL",
        ),
    ],
)
def test_bad_worker_settings_are_named(tmp_path: Path, env, says):
    base = {"QUEUE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}"}
    result = CliRunner().invoke(main, ["worker"], env=base | env)
    assert result.exit_code == 2
    assert says in result.stderr
    assert "Traceback" not in result.output


def test_any_command_names_a_bad_variable(tmp_path: Path):
    env = {"QUEUE_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}", "QUEUE_WEB_WORKERS": "two"}
    result = CliRunner().invoke(main, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2
    assert "QUEUE_WEB_WORKERS must be a number above zero, not 'two'" in result.stderr
