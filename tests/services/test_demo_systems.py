"""The demo's simulated back-end systems: a health URL each, and the switch that turns it off."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from queue_app import migrate
from queue_app.app import create_app
from queue_app.cli import main
from queue_app.demo import systems as demo_systems
from queue_app.web.extensions import db


@pytest.fixture
def demo_app(app, make_backend):
    make_backend()
    settings = dataclasses.replace(app.extensions["queue_app"].settings, demo=True)
    demo = create_app(settings, clock=app.extensions["queue_app"].clock)
    yield demo
    with demo.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_switch_turns_the_health_url_off_and_on(demo_app):
    client = demo_app.test_client()
    health = "/demo/systems/civil-registry/health"
    assert client.get(health).status_code == 200
    off = client.post("/demo/systems/civil-registry", json={"up": False})
    assert off.json == {"system": "civil-registry", "up": False}
    assert client.get(health).status_code == 503
    client.post("/demo/systems/civil-registry", json={"up": True})
    assert client.get(health).status_code == 200


@pytest.mark.parametrize("body", [None, {}, {"up": "no"}, [True]])
def test_a_bad_switch_request_is_named_and_changes_nothing(demo_app, body):
    client = demo_app.test_client()
    response = client.post("/demo/systems/civil-registry", json=body)
    assert response.status_code == 422
    assert response.json["fields"] == {"up": ["required, true or false"]}
    assert client.get("/demo/systems/civil-registry/health").status_code == 200


def test_an_unknown_system_is_404_and_the_switch_is_only_in_the_demo(demo_app, client):
    assert (
        demo_app.test_client().post("/demo/systems/nothing", json={"up": False}).status_code == 404
    )
    assert client.get("/demo/systems/civil-registry/health").status_code == 404  # not the demo


def test_the_command_line_switch(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    migrate.upgrade(url)
    env = {"QUEUE_DATABASE_URL": url, "QUEUE_INSTANCE_PATH": str(tmp_path)}
    assert CliRunner().invoke(main, ["seed", "--demo"], env=env).exit_code == 0
    down = CliRunner().invoke(main, ["demo-system", "civil-registry", "--down"], env=env)
    assert down.exit_code == 0, down.output
    assert not demo_systems.is_up(tmp_path, "civil-registry")
    assert demo_systems.is_up(tmp_path, "traffic-licensing")
    unknown = CliRunner().invoke(main, ["demo-system", "nothing", "--down"], env=env)
    assert unknown.exit_code == 2
    assert "no back-end system 'nothing'" in unknown.stderr
