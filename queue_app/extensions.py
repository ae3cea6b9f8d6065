"""What the factory hangs on the app for request handlers: settings and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from queue_app.clock import Clock
from queue_app.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    clock: Clock


def runtime() -> Runtime:
    return current_app.extensions["queue_app"]


def current_clock() -> Clock:
    return runtime().clock


def current_settings() -> Settings:
    return runtime().settings
