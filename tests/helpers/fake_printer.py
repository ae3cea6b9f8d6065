"""A network ticket printer for tests: a real TCP server on 127.0.0.1 (a free port) that keeps
every job it is sent, as a JetDirect printer on port 9100 would print it."""

from __future__ import annotations

import queue
import socketserver
import threading


class _Paper(socketserver.BaseRequestHandler):
    """Takes one print job: every byte until the sender closes."""

    def handle(self) -> None:
        chunks = []
        while chunk := self.request.recv(65536):
            chunks.append(chunk)
        self.server.jobs.put(b"".join(chunks))  # type: ignore[attr-defined]


class FakePrinter(socketserver.TCPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Paper)
        self.jobs: queue.Queue[bytes] = queue.Queue()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.server_address[1]}"

    def job(self, timeout: float = 10) -> bytes:
        return self.jobs.get(timeout=timeout)

    def start(self) -> FakePrinter:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
