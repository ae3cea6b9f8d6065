"""A back-end system's health URL on loopback, which a test or a bench switches off and on.

Used by tests/services/test_outages.py (the health monitor in process) and
bench/outage_response.py (the worker in a process of its own): ``up`` is read on every request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HealthEndpoint:
    """``GET /health``: 200 while ``up``, 503 once switched off."""

    def __init__(self) -> None:
        self.up = True
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200 if endpoint.up else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # a request a second is not news

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll: stop() returns at once instead of after the default half second.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/health"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def health_endpoint() -> Iterator[HealthEndpoint]:
    endpoint = HealthEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.stop()
