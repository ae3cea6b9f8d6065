"""The health monitor: polls each back-end system's ``health_url`` and feeds the results to
``outages.record_check`` (which applies the hysteresis).

Only one monitor leads at a time, however many workers run: on PostgreSQL the leader holds a
session advisory lock on a connection of its own (if its process dies, the lock goes with the
connection and another worker takes over); on SQLite, one machine, an exclusive lock on a file
beside the database does the same. The others wait and try again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from queue_app import outages
from queue_app.clock import Clock
from queue_app.models import Backend

log = logging.getLogger(__name__)

# Any number will do, as long as nothing else in the database uses it: "QUEUEHLT".
ADVISORY_LOCK_KEY = 0x5155455545484C54 & 0x7FFFFFFFFFFFFFFF
# A check that takes longer than this has failed: a system that slow serves no citizen.
CHECK_TIMEOUT_S = 5.0


def check(url: str, timeout: float = CHECK_TIMEOUT_S) -> tuple[bool, str | None]:
    """One GET of a health URL: any 2xx answer is up; anything else (another status, a refused
    or cut connection, a timeout) is down, with what happened."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if 200 <= response.status < 300:
                return True, None
            return False, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{type(exc).__name__}: {reason}"


class Leadership:
    """Whether this process is the one monitor that checks; ``hold()`` tries to become it."""

    def __init__(self, engine: Engine, lock_file: Path) -> None:
        self.engine = engine
        self.lock_file = lock_file
        self._connection: Connection | None = None
        self._file: IO[str] | None = None

    def hold(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            return self._hold_advisory_lock()
        return self._hold_file_lock()

    def _hold_advisory_lock(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection died, and the lock with it
                self.release()
        connection = self.engine.connect()
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        ).scalar()
        connection.commit()
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def _hold_file_lock(self) -> bool:
        if self._file is not None:
            return True
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_file.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
            self._file = None


class HealthMonitor:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        leadership: Leadership,
        *,
        checker: Callable[[str], tuple[bool, str | None]] = check,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.leadership = leadership
        self.checker = checker
        self._next_check: dict[int, float] = {}

    def check_due(self, *, every_one: bool = False) -> int:
        """Check every system whose interval has passed (``every_one``: all of them now);
        return how many were checked."""
        now = time.monotonic()
        with self.session_factory() as session:
            backends = session.execute(
                select(
                    Backend.id, Backend.code, Backend.health_url, Backend.check_interval_s
                ).where(Backend.health_url.is_not(None))
            ).all()
            session.commit()
            checked = 0
            for backend_id, code, url, interval in backends:
                if not every_one and self._next_check.get(backend_id, 0.0) > now:
                    continue
                self._next_check[backend_id] = now + max(interval, 1)
                assert url is not None  # the query asks for a health_url
                ok, error = self.checker(url)
                changed = outages.record_check(session, self.clock, backend_id, ok=ok, error=error)
                checked += 1
                if changed is not None:
                    state = "down" if changed.ended_at is None else "up again"
                    log.warning("back-end system %s is %s (%s)", code, state, error or "ok")
            return checked

    def run(self, stop: threading.Event, tick: float = 0.5) -> None:
        leading = False
        while not stop.is_set():
            try:
                if self.leadership.hold():
                    if not leading:
                        log.info("this worker leads the health monitor")
                        leading = True
                    self.check_due()
                elif leading:
                    leading = False
            except Exception:  # the database or the network: try again shortly
                log.exception("health check round failed")
            stop.wait(tick)
        self.leadership.release()
