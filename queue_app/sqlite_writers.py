"""SQLite's writers of one process take turns on a lock of ours before they meet the file's.

SQLite lets one writer in at a time. A writer that finds the file locked sleeps and looks again
in growing steps (1, 2, 5 ... up to 100 ms between looks, until the busy timeout), so under a
crowd at the kiosks one thread can lose the race again and again while others slip in: a few
tickets wait a second or more (a p99 of 0.4 to 3 s with 8 kiosks, bench/README.md). Here a
connection's first write in a transaction first takes the process's lock for that database,
held until the transaction ends; the threads of one web process then queue for it and are woken
as soon as it is free, and the file's own lock is contended only across processes (the worker,
a second web process).

The lock is held for no longer than SQLite's write lock would be (from the first write to the
commit), so it adds no wait that was not there. PostgreSQL locks rows and is left alone.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import InvalidRequestError, OperationalError
from sqlalchemy.pool import Pool

# As long as SQLite's own busy timeout (db._sqlite_pragmas): past it, the same error.
WAIT_SECONDS = 30.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_HELD = "queue_app.sqlite_writer"

_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_locks_lock = threading.Lock()


def _lock_of(engine: Engine) -> threading.Lock:
    with _locks_lock:
        lock = _locks.get(engine)
        if lock is None:
            lock = _locks[engine] = threading.Lock()
        return lock


def _writes(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


@event.listens_for(Engine, "before_cursor_execute")
def _take_turn(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if conn.dialect.name != "sqlite" or _HELD in conn.info or not _writes(statement):
        return
    lock = _lock_of(conn.engine)
    if not lock.acquire(timeout=WAIT_SECONDS):
        raise OperationalError(statement, parameters, Exception("database is locked"))
    conn.info[_HELD] = lock


def _give_up_turn(info: dict[Any, Any]) -> None:
    lock = info.pop(_HELD, None)
    if lock is not None:
        lock.release()


def _transaction_ended(conn: Any) -> None:
    if conn.dialect.name != "sqlite":
        return
    try:
        info = conn.info
    except InvalidRequestError:
        # Invalidated (its DBAPI connection lost): the pool's invalidate event gives up the turn.
        return
    _give_up_turn(info)


event.listen(Engine, "commit", _transaction_ended)
event.listen(Engine, "rollback", _transaction_ended)


def _connection_gone(dbapi_connection: Any, record: Any, *rest: Any) -> None:
    """A connection handed back to the pool without a commit or rollback that we saw (an
    autocommit write, a connection closed on an error), or found dead, gives up its turn."""
    if record is not None:
        _give_up_turn(record.info)


event.listen(Pool, "checkin", _connection_gone)
event.listen(Pool, "invalidate", _connection_gone)
