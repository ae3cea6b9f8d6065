"""The production web server: gunicorn, with the app built by our factory in each worker."""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.app.base import BaseApplication

from queue_app.clock import Clock
from queue_app.settings import Settings


class QueueServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any], clock: Clock | None) -> None:
        self.settings = settings
        self.options = options
        self.clock = clock
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from queue_app.app import create_app

        app = create_app(self.settings, clock=self.clock)
        # What is loaded by now (the libraries and the app, some 170,000 objects) lives as long
        # as the process. Out of the garbage collector's sight, a full collection takes under a
        # millisecond instead of the 70 ms or so that the requests waiting on it would add.
        gc.freeze()
        return app


def run(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    clock: Clock | None = None,
) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "timeout": 30,
        "graceful_timeout": 10,
        # Each worker builds its own app and database pool after the fork.
        "preload_app": False,
        # gunicorn 25+ opens a control socket under $HOME; a service needs none, may have no home.
        "control_socket_disable": True,
    }
    QueueServer(settings, options, clock).run()
