"""The domain is Flask-free at run time, not only in its source: importing any domain module
(tickets, the rescheduler, outages, slots, ...) loads no ``flask`` and no ``flask_*`` package.

Ruff's banned-imports list keeps Flask out of the source; this test also catches the indirect
way in (a domain module importing one that imports Flask, or the package's own ``__init__``)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import queue_app

REPO = Path(__file__).resolve().parents[2]

# The web side: the factory, the CLI, and the folders that hold routes and Flask glue.
WEB_PACKAGES = ("queue_app.web", "queue_app.api", "queue_app.pages", "queue_app.migrations")
WEB_MODULES = (
    "queue_app.__main__",
    "queue_app.app",
    "queue_app.cli",
    "queue_app.demo.page",
    "queue_app.demo.switch",
)

# Run in a fresh interpreter: this test process has long since imported Flask.
PROBE = """
import importlib, json, sys
found = {}
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    web = sorted(m for m in sys.modules if m == "flask" or m.startswith(("flask.", "flask_")))
    if web:
        found[name] = web
        break
print(json.dumps(found))
"""


def domain_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(queue_app.__path__, "queue_app.")
        if not info.name.startswith(WEB_PACKAGES) and info.name not in WEB_MODULES
    ]
    return ["queue_app", *sorted(names)]


def test_the_domain_list_is_not_empty_and_names_the_engine():
    names = domain_modules()
    for engine in ("queue_app.tickets", "queue_app.rescheduler", "queue_app.outages"):
        assert engine in names
    assert "queue_app.slots" in names
    assert "queue_app.worker.sending" in names
    assert not any(name.startswith(WEB_PACKAGES) for name in names)


def test_importing_the_domain_loads_no_flask():
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(domain_modules())],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == {}, (
        "the first module that brought Flask in, and what it loaded"
    )


def test_the_probe_sees_flask_when_a_module_brings_it():
    # The check itself can fail: the factory's module does load Flask.
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["queue_app.errors", "queue_app.app"])],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(out.stdout)
    assert list(found) == ["queue_app.app"]
    assert "flask" in found["queue_app.app"]
