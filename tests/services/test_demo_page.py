"""/demo, only in the demo: the simulated systems with a switch each, and the pages to watch."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import flask_babel
import pytest

from queue_app.app import create_app
from queue_app.clock import ShiftedClock
from queue_app.demo import mode as demo_mode
from queue_app.demo import systems as demo_systems
from queue_app.settings import Settings
from queue_app.web.extensions import db


@pytest.fixture
def demo_app(app, make_backend, make_branch):
    backend = make_backend(health_url="http://203.0.113.7/health")
    make_branch(backends=[backend])
    settings = dataclasses.replace(app.extensions["queue_app"].settings, demo=True)
    demo = create_app(settings, clock=app.extensions["queue_app"].clock)
    demo.before_request(flask_babel.refresh)
    yield demo
    with demo.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_page_lists_the_systems_and_the_pages_to_watch(demo_app):
    client = demo_app.test_client()
    response = client.get("/demo")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert "منظومة الأحوال المدنية" in html
    assert 'data-test="switch-civil-registry"' in html
    assert 'action="/demo/switch/civil-registry?lang=ar"' in html
    for page in ("/status", "/kiosk/cairo-civil", "/display/cairo-civil", "/book/cairo-civil"):
        assert f'href="{page}"' in html
    english = client.get("/demo?lang=en").text
    assert '<html lang="en" dir="ltr">' in english
    assert "Switched on" in english
    assert "Switch off" in english


def test_the_switch_turns_the_simulated_system_off_and_on(demo_app):
    client = demo_app.test_client()
    instance = demo_app.extensions["queue_app"].settings.instance_path
    off = client.post("/demo/switch/civil-registry?lang=en", data={"up": "0"})
    assert off.status_code == 303
    assert off.headers["Location"].endswith("/demo?lang=en")
    assert not demo_systems.is_up(instance, "civil-registry")
    assert client.get("/demo/systems/civil-registry/health").status_code == 503
    html = client.get("/demo?lang=en").text
    assert "Switched off" in html
    assert "Switch on" in html
    assert 'name="up" value="1"' in html
    client.post("/demo/switch/civil-registry", data={"up": "1"})
    assert demo_systems.is_up(instance, "civil-registry")
    assert client.get("/demo/systems/civil-registry/health").status_code == 200


def test_an_unknown_system_is_404_and_the_page_is_only_in_the_demo(demo_app, client):
    assert demo_app.test_client().post("/demo/switch/nothing", data={"up": "0"}).status_code == 404
    assert client.get("/demo").status_code == 404  # not the demo
    assert client.post("/demo/switch/civil-registry", data={"up": "0"}).status_code == 404


def test_the_banner_names_the_demo_page_and_the_status_page(tmp_path):
    settings = Settings(database_url="sqlite://", secret_key="x", instance_path=tmp_path)
    tokens = {"kiosk": "k", "staff": "s", "manager": "m", "admin": "a"}
    text = demo_mode.banner(settings, "127.0.0.1", 8123, tokens, ShiftedClock(timedelta(0)))
    assert "http://127.0.0.1:8123/demo " in text
    assert "http://127.0.0.1:8123/status" in text
