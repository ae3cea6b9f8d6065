"""Fixtures of the service tests: the command line run against the test's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from queue_app import cli
from queue_app.cli import main
from queue_app.web.extensions import db


@pytest.fixture
def queue_app(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``queue-app ...`` against the test's database, as an operator would on the server."""
    # Each command makes its own app and engine, freed when the process ends; here the process
    # goes on, so close their connections after each command.
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

    def run(*args: str, input: str | None = None) -> Result:
        db.session.commit()  # the command is another connection: let it see the test's rows
        try:
            return runner.invoke(main, list(args), input=input)
        finally:
            while made:
                with made.pop().app_context():
                    db.engine.dispose()

    return run
