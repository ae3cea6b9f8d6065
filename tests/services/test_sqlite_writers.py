"""SQLite's writers of one process take turns on our lock (queue_app/sqlite_writers.py): it is
taken by a transaction's first write and given back however the transaction ends; a lock left
taken would stop every kiosk of the office for the busy timeout."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from queue_app import sqlite_writers


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    made = create_engine(f"sqlite:///{tmp_path / 'writers.sqlite3'}")
    with made.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return made


def _held(engine: Engine) -> bool:
    return sqlite_writers._lock_of(engine).locked()


def test_a_read_takes_no_turn(engine):
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t"))
        assert not _held(engine)


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_the_first_write_takes_the_turn_and_the_end_gives_it_back(engine, ending):
    conn = engine.connect()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    assert _held(engine)
    conn.execute(text("UPDATE t SET n = 2"))  # the same transaction: no second turn
    assert _held(engine)
    if ending == "commit":
        conn.commit()
    elif ending == "rollback":
        conn.rollback()
    else:
        conn.close()  # back to the pool without either (the pool rolls back)
    assert not _held(engine)  # at once, not when the connection goes back
    conn.close()


def test_an_autocommit_write_gives_the_turn_back_when_the_connection_goes_back(engine):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert not _held(engine)


def test_a_failed_write_gives_the_turn_back(engine):
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(OperationalError, match="no such table"):
            session.execute(text("INSERT INTO missing VALUES (1)"))
        session.rollback()
        assert not _held(engine)


def test_a_second_writer_waits_for_the_first_to_commit(engine):
    """The second thread's write goes in after the first's commit, never beside it."""
    first = engine.connect()
    first.execute(text("INSERT INTO t VALUES (1)"))
    order: list[str] = []

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # waiting for its turn
    order.append("first commits")
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert order == ["first commits", "second wrote"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 2


def test_only_writing_statements_take_a_turn():
    assert not sqlite_writers._writes("SELECT 1")
    assert sqlite_writers._writes("  insert into t values (1)")
    assert sqlite_writers._writes("UPDATE t SET n = 1")
    assert sqlite_writers._writes("DELETE FROM t")


def test_a_connection_lost_mid_write_gives_the_turn_back(engine):
    conn = engine.connect()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    assert _held(engine)
    conn.invalidate()  # as when the database connection is found dead
    assert not _held(engine)
    conn.rollback()  # the transaction the loss left behind ends without an error
    conn.close()
    assert not _held(engine)
