"""The demo's simulated back-end systems: a health URL per system that answers 200 or 503 as a
switch says, so that a newcomer can see an outage end to end. The switch is a small file in
the instance folder, shared by the web process and ``queue-app demo-system``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

SWITCH_FILE = "demo-systems.json"


def _path(instance: Path) -> Path:
    return instance / SWITCH_FILE


def is_up(instance: Path, code: str) -> bool:
    try:
        states = json.loads(_path(instance).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return True
    return states.get(code, "up") != "down"


def switch(instance: Path, code: str, *, up: bool) -> None:
    """Turn a simulated system on or off (written atomically: the web process reads it)."""
    path = _path(instance)
    try:
        states = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        states = {}
    states[code] = "up" if up else "down"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as f:
        json.dump(states, f)
    os.replace(f.name, path)


def health_url(base: str, code: str) -> str:
    return f"{base}/demo/systems/{code}/health"
