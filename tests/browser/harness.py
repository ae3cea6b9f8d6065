"""What the browser tests and the screenshot program share: a real HTTP server on loopback that
can be stopped and started again on the same port, and Debian's Chromium driven by Selenium.

The server is werkzeug's, in a thread of this process, serving the app from ``create_app`` with a
clock the test holds. Stopping it is real: the listening socket is closed and every open
connection is cut, so the browser sees what a kiosk sees when the office's server goes away.

Chromium and chromedriver are the system's (``scripts/with-chromium`` installs Debian's
packages): Selenium is given both paths, so Selenium Manager never looks for, let alone
downloads, a browser or a driver of its own.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import Flask
from PIL import Image
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # Not asked for by the issue, but harmless: loopback only, and /dev/shm is small in containers.
    "--no-proxy-server",
    "--disable-dev-shm-usage",
)
# Every wait in the browser tests is bounded by this much, unless it says otherwise.
WAIT_S = 10.0
HOST = "127.0.0.1"

WEEKDAYS = ("sat", "sun", "mon", "tue", "wed", "thu", "fri")
# The branch of the tests is open all day, every day, in whichever of these zones is farthest
# from midnight at the test's frozen instant: the one closed minute (23:59) never comes near.
CANDIDATE_ZONES = ("Africa/Cairo", "Asia/Tokyo", "America/New_York", "America/Los_Angeles")


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return (
            f"{' and '.join(missing)} not installed (Debian: apt-get install chromium "
            "chromium-driver; scripts/test does it when run as root)"
        )
    return None


def zone_far_from_midnight(at: datetime) -> str:
    def distance(zone: str) -> float:
        local = at.astimezone(ZoneInfo(zone))
        minutes = local.hour * 60 + local.minute
        return min(minutes, 24 * 60 - minutes)

    return max(CANDIDATE_ZONES, key=distance)


# --- the server -----------------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """Keeps track of its connection, so that stopping the server can cut it."""

    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections[self.connection] = threading.current_thread()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.lock:
                self.server.connections.pop(self.connection, None)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.request_log.append(f"{self.command} {self.path} {code}")


class _Server(BaseWSGIServer):
    lock: threading.Lock
    connections: dict[socket.socket, threading.Thread]
    request_log: list[str]  # not "log": that is werkzeug's method for errors


class LiveServer:
    """The app on http://127.0.0.1:<port>, in a thread; ``stop`` and ``start`` keep the port."""

    def __init__(self) -> None:
        self.port = 0
        self.app: Callable[..., Iterable[bytes]] | None = None
        self.log: list[str] = []  # "POST /api/... 201", for messages when a test fails
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Set by the tests: called as (environ) before a request is served; see lose_answer.
        self._answer_hooks: list[Callable[[dict[str, Any]], bool]] = []
        self._bind()  # the port is known before the app (its public URL needs it) is built

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _bind(self) -> None:
        server = cast(
            _Server,
            make_server(HOST, self.port, self._wsgi, threaded=True, request_handler=_Handler),
        )
        server.lock = threading.Lock()
        server.connections = {}
        server.request_log = self.log
        # Each handler thread is a daemon (werkzeug's choice); stop() waits for them itself.
        self._server = server
        self.port = server.server_port

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        assert self.app is not None, "LiveServer.serve(app) first"
        for hook in list(self._answer_hooks):
            if hook(environ):
                self._answer_hooks.remove(hook)
                return self._serve_then_hang_up(environ, start_response)
        return self.app(environ, start_response)

    def _serve_then_hang_up(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Do all the request asks (and commit it), then cut the connection before answering:
        the answer is lost on the way back, as when a server dies or Wi-Fi drops at that
        instant."""
        assert self.app is not None
        chunks = self.app(environ, lambda *args, **kwargs: None)
        try:
            for _ in chunks:
                pass
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        # Logged first: the browser may send the request again the instant the line drops.
        self.log.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} served, answer lost")
        connection: socket.socket = environ["werkzeug.socket"]
        with suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
        # werkzeug's write to the cut connection fails and it drops the request quietly.
        start_response("204 No Content", [])
        return []

    def lose_answer(self, matches: Callable[[dict[str, Any]], bool]) -> None:
        """The next request for which ``matches(environ)`` is true is served, then its answer
        is lost."""
        self._answer_hooks.append(matches)

    def serve(self, app: Flask | Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.start()

    def start(self) -> None:
        assert self._thread is None, "already running"
        if self._server is None:
            self._bind()
        server = self._server
        assert server is not None
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close the port and cut every open connection; the next request is refused."""
        server, thread = self._server, self._thread
        if server is None:
            return
        if thread is not None:
            server.shutdown()
            thread.join(timeout=WAIT_S)
        server.server_close()
        with server.lock:
            open_now = dict(server.connections)
        for connection in open_now:
            with suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)
        for handler in open_now.values():
            handler.join(timeout=WAIT_S)
        self._server = None
        self._thread = None

    @contextmanager
    def down(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


# --- the browser ----------------------------------------------------------------------------


def chromium(*, width: int = 1080, height: int = 1920, scale: float = 1.0) -> Any:
    """A headless Chromium of the system's, with its console log kept for the tests."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager is not needed with both paths given; never let it phone home either way.
    os.environ.setdefault("SE_AVOID_STATS", "true")
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = f"{HOST},localhost"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--force-device-scale-factor={scale}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER), log_output=os.devnull)
    return webdriver.Chrome(options=options, service=service)


def screenshot(driver: Any) -> Image.Image:
    return Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")


def wait_for(what: Callable[[], Any], *, timeout: float = WAIT_S, message: str = "") -> Any:
    """Poll ``what`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = what()
        except Exception as err:  # a stale element between two renders: try again
            last_error, value = err, None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"waited {timeout} s for {message or what}"
                + (f": {last_error!r}" if last_error else "")
            )
        time.sleep(0.05)


class Browser:
    """One Chromium, with the few things every test does with it."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        # Console errors a test expects (substrings): a refused connection, a 4xx answer.
        self.expected_console: list[str] = []

    def get(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def visible(self, test_id: str) -> WebElement:
        """The one shown element with this data-test (several screens have a "restart")."""

        def shown() -> WebElement | None:
            try:
                for element in self.driver.find_elements(
                    By.CSS_SELECTOR, f'[data-test="{test_id}"]'
                ):
                    if element.is_displayed():
                        return element
            except StaleElementReferenceException:
                pass  # the page replaced it while we looked: look again
            return None

        return wait_for(shown, message=f"a visible [data-test={test_id}]")

    def tap(self, test_id: str) -> None:
        """A real click (a trusted pointer event at the element's centre), not element.click()
        in script."""
        self.visible(test_id).click()

    def screen(self) -> str:
        return self.driver.execute_script("return document.body.dataset.currentScreen || ''")

    def wait_screen(self, name: str, timeout: float = WAIT_S) -> None:
        wait_for(
            lambda: self.screen() == name,
            timeout=timeout,
            message=f"the {name!r} screen (on {self.screen()!r}: {self.text()[:300]!r})",
        )
        # Let the screen's images (the ticket's QR code) finish loading: a test that ends on a
        # screen whose image is still on its way stops the server under it, and the browser
        # logs the cut-off request as an error.
        wait_for(
            lambda: self.driver.execute_script(
                "return Array.from(document.images).every((img) => img.complete)"
            ),
            timeout=timeout,
            message=f"the images of the {name!r} screen to load",
        )

    def text(self) -> str:
        """What a person sees on the page."""
        return self.driver.execute_script("return document.body.innerText")

    def direction(self) -> tuple[str, str, str]:
        """(lang, dir, the direction the browser lays the page out in)."""
        return tuple(
            self.driver.execute_script(
                "const html = document.documentElement;"
                "return [html.lang, html.dir, getComputedStyle(document.body).direction];"
            )
        )

    def qr_code(self) -> str:
        """The ticket screen's QR code, as a phone's camera reads it off the screen: from a
        screenshot, by an independent decoder (zxing-cpp)."""
        from tests.helpers.qr_reading import decode

        wait_for(
            lambda: self.driver.execute_script(
                "const img = document.getElementById('ticket-qr');"
                "return img.complete && img.naturalWidth > 0"
                " && img.getBoundingClientRect().width > 0"
            ),
            message="the QR image to load",
        )
        found = decode(screenshot(self.driver))
        assert len(found) == 1, f"one QR code on the screen, found {found}"
        return found[0]

    def page_data(self) -> dict[str, Any]:
        """What the server handed the page's script: its words, in the page's language."""
        return json.loads(self.find("#page-data").get_attribute("textContent") or "{}")

    def console_errors(self) -> list[str]:
        entries = self.driver.get_log("browser")
        return [
            entry["message"]
            for entry in entries
            if entry["level"] == "SEVERE"
            and "/favicon.ico" not in entry["message"]
            and not any(expected in entry["message"] for expected in self.expected_console)
        ]


def branch_config(branch: str, zone: str, backends: dict[str, dict[str, str]]) -> dict[str, Any]:
    """A config file's content (queue-app load): one branch open all day every day."""
    return {
        "backends": [{"code": code, "name": name} for code, name in backends.items()],
        "branches": [
            {
                "code": branch,
                "name": {"ar": "سجل مدني مدينة نصر", "en": "Nasr City civil registry"},
                "timezone": zone,
                "country": "EG",
                "hours": {day: ["00:00", "23:59"] for day in WEEKDAYS},
                "reschedule_after_minutes": 20,
                "evening_notice": "18:00",
                "services": [
                    {
                        "code": "id-card",
                        "letter": "A",
                        "name": {"ar": "بطاقة الرقم القومي", "en": "National ID card"},
                        "backends": ["civil-registry"],
                        "avg_service_minutes": 6,
                        "slot_minutes": 30,
                    },
                    {
                        "code": "licence",
                        "letter": "C",
                        "name": {"ar": "رخصة القيادة", "en": "Driving licence"},
                        "backends": ["traffic-licensing"],
                        "avg_service_minutes": 8,
                        "slot_minutes": 30,
                    },
                ],
                "counters": [{"code": "1", "services": ["id-card", "licence"], "open": True}],
            }
        ],
    }
