"""The declarative base, the column types shared by all models, and committing a use case.

No Flask here: the web's session handle (``db``) is made in ``queue_app.web.extensions``."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from queue_app import sqlite_writers  # noqa: F401  (its listeners: writers take turns)
from queue_app.errors import StateConflict

# Stable constraint names, so Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(cls: type[StrEnum], length: int = 16) -> Enum:
    """A StrEnum stored as its values in a VARCHAR with a CHECK, the same on SQLite and
    PostgreSQL (a native PostgreSQL enum would need a migration for every new value)."""
    return Enum(
        cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class Bilingual:
    """Something with an Arabic and an English name, shown in the reader's language."""

    name_ar: str
    name_en: str

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_ar


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database; SQLite would silently drop the offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL and a busy timeout let the web process and the worker share one file without
    # "database is locked"; foreign keys are off by default in SQLite.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def read_outside_transaction(session: Session | scoped_session[Session]) -> None:
    """Let the session's next statements run in autocommit: for a request that only reads, and
    whose statements need not see one snapshot. On PostgreSQL that saves the BEGIN and ROLLBACK
    round trips, a third of a ticket lookup. A session already in a transaction keeps it."""
    if isinstance(session, scoped_session):  # the web's db.session
        session = session()
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def unavailable(err: DBAPIError) -> bool:
    """Whether a database error says the database is out of reach (restarting, unreachable, its
    connection cut, SQLite's file locked or its disk full), not that a statement is wrong."""
    return err.connection_invalidated or isinstance(err, (OperationalError, InterfaceError))


def insert(session: Session, table: Any) -> Any:
    """An INSERT that can say ``ON CONFLICT``: the PostgreSQL or the SQLite one, as the session's
    database is (both dialects spell ``on_conflict_do_nothing`` and ``..._do_update`` alike)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. ``Session.execute`` is typed to return a plain
    ``Result``; for those statements it is a ``CursorResult``, which counts."""
    return cast(CursorResult[Any], result).rowcount


def flush(session: Session) -> None:
    """Flush, turning a lost race on a versioned row into StateConflict (and rolling back)."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise StateConflict(
            "someone else changed this at the same moment; look again and retry"
        ) from None


def commit(session: Session) -> None:
    """Commit, turning a lost race on a versioned row into StateConflict (and rolling back)."""
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        raise StateConflict(
            "someone else changed this at the same moment; look again and retry"
        ) from None
