"""`queue-app kiosk enrol`: the code it prints enrols a screen, on a database migrated as in
production (a SQLite file upgraded by Alembic, offices loaded by `queue-app load`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, func, select

from queue_app import migrate
from queue_app.app import create_app
from queue_app.cli import main
from queue_app.models import ApiToken, KioskEnrolment
from queue_app.models.kiosks import Kiosk
from queue_app.settings import Settings
from queue_app.web.extensions import db

OFFICES = """\
backends:
  - code: civil-registry
    name: {ar: "منظومة الأحوال المدنية", en: "Civil registry system"}
branches:
  - code: test-branch
    name: {ar: "فرع الاختبار", en: "Test branch"}
    timezone: Africa/Cairo
    country: EG
    hours: {sun: ["08:00", "15:00"]}
    services:
      - {code: id-card, letter: A, name: {ar: "بطاقة الرقم القومي", en: "National ID card"},
         backends: [civil-registry], avg_service_minutes: 6, slot_minutes: 30}
    counters:
      - {code: "1", services: [id-card], open: true}
    kiosks:
      - {code: hall-a, name: {ar: "القاعة أ", en: "Hall A"}, printer: "tcp://127.0.0.1:9100"}
      - {code: hall-b}
"""


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    migrate.upgrade(url)
    return {
        "QUEUE_DATABASE_URL": url,
        "QUEUE_INSTANCE_PATH": str(tmp_path / "instance"),
        "QUEUE_PUBLIC_URL": "https://queue.example.gov",
    }


@pytest.fixture
def runner(environment: dict[str, str], tmp_path: Path) -> CliRunner:
    runner = CliRunner(env=environment)
    offices = tmp_path / "offices.yaml"
    offices.write_text(OFFICES, encoding="utf-8")
    loaded = runner.invoke(main, ["load", str(offices)])
    assert loaded.exit_code == 0, loaded.output
    return runner


def _app(environment: dict[str, str]) -> Flask:
    # Real time, as the command used: the code is valid for a day from now.
    return create_app(
        Settings(
            database_url=environment["QUEUE_DATABASE_URL"],
            secret_key="test",
            instance_path=Path(environment["QUEUE_INSTANCE_PATH"]),
        )
    )


def test_enrol_prints_a_code_that_enrols_a_kiosk(runner, environment):
    result = runner.invoke(main, ["kiosk", "enrol", "--branch", "test-branch", "--label", "hall A"])
    assert result.exit_code == 0, result.output
    # The code alone on standard output, for scripts; the how-to on standard error, for people.
    assert re.fullmatch(r"\d{4} \d{4}\n", result.stdout)
    assert "https://queue.example.gov/kiosk/test-branch" in result.stderr
    assert "once" in result.stderr

    engine = create_engine(environment["QUEUE_DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(select(KioskEnrolment.code_hash, KioskEnrolment.label)).one()
    engine.dispose()
    assert stored.label == "hall A"
    assert result.stdout.replace(" ", "").strip() not in stored.code_hash

    app = _app(environment)
    client = app.test_client()
    response = client.post("/kiosk/test-branch/enrol", json={"code": result.stdout.strip()})
    assert response.status_code == 201, response.json
    assert response.json["label"] == "hall A"
    again = client.post("/kiosk/test-branch/enrol", json={"code": result.stdout.strip()})
    assert again.status_code == 409
    with app.app_context():
        db.engine.dispose()


def test_each_run_makes_another_code(runner, environment):
    codes = {
        runner.invoke(main, ["kiosk", "enrol", "--branch", "test-branch"]).stdout for _ in "ab"
    }
    assert len(codes) == 2
    engine = create_engine(environment["QUEUE_DATABASE_URL"])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(KioskEnrolment)) == 2
    engine.dispose()


def test_unknown_branch_is_a_plain_error(runner):
    result = runner.invoke(main, ["kiosk", "enrol", "--branch", "nowhere"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error: no branch 'nowhere'" in result.stderr
    assert "Traceback" not in result.output


def test_branch_is_required(runner):
    result = runner.invoke(main, ["kiosk", "enrol"])
    assert result.exit_code == 2
    assert "--branch" in result.output


def _rows(environment: dict[str, str]) -> tuple[int, int]:
    engine = create_engine(environment["QUEUE_DATABASE_URL"])
    with engine.connect() as conn:
        counts = (
            conn.scalar(select(func.count()).select_from(KioskEnrolment)),
            conn.scalar(select(func.count()).select_from(ApiToken)),
        )
    engine.dispose()
    return counts


def test_enrol_for_a_kiosk_of_the_config_file(runner, environment):
    result = runner.invoke(main, ["kiosk", "enrol", "--branch", "test-branch", "--kiosk", "hall-a"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"\d{4} \d{4}\n", result.stdout)
    assert "the screen becomes kiosk hall-a" in result.stderr

    app = _app(environment)
    client = app.test_client()
    response = client.post("/kiosk/test-branch/enrol", json={"code": result.stdout.strip()})
    assert response.status_code == 201, response.json
    assert response.json["kiosk"] == "hall-a"
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        kiosk = db.session.get(Kiosk, token.kiosk_id)
        assert (kiosk.code, kiosk.printer_url) == ("hall-a", "tcp://127.0.0.1:9100")
        db.engine.dispose()


def test_an_unknown_kiosk_is_a_plain_error_and_writes_nothing(runner, environment):
    before = _rows(environment)
    result = runner.invoke(main, ["kiosk", "enrol", "--branch", "test-branch", "--kiosk", "hall-c"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error: no kiosk 'hall-c' at test-branch" in result.stderr
    assert "Traceback" not in result.output
    assert _rows(environment) == before
