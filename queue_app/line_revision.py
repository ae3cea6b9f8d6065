"""A branch's line revision, and the ticket page's "nothing changed since you last asked".

Every waiting citizen's phone asks for its ticket every few seconds (``ticket_page``). Most
answers are the same as the last one, and a full lookup reads the ticket and the whole branch's
line. So each branch has a number, ``line_revisions.revision``, that grows in the same transaction
as any change to one of its tickets but one (a plain walk-in joining behind everyone changes no
other page: ``_joins_at_the_back``); the lookup's answer carries an ETag made of that number, the
directory's revision and the minute (the wait estimate moves with the clock), and a poll that
sends it back is answered 304 from this process's memory while all three stand. What a lookup
worked out of the line (places and waits) is kept per branch at the same three (``kept``,
``keep``; ``line_estimates``), so the phones of a branch that changed cost one working-out, not
one each.

Only the branch's number is needed for that, not the ticket: the tag names its branch in clear
and is signed with the app's secret over the token, so it can neither be pointed at another
branch nor reused for another ticket. Each process remembers a branch's revisions for at most
``FRESH_SECONDS``: a change committed by another process (a counter's call in another web
process, the worker's rescheduling) reaches the phone within that plus its poll interval; one
committed by this process is forgotten at once.

The number is bumped when the transaction commits (``before_commit``), not at its first write:
the row is locked only for the commit itself, so an outage's long moves do not hold up the
kiosks of the same branch.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import weakref
from collections.abc import Iterable
from datetime import datetime
from itertools import chain
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, event, inspect, select
from sqlalchemy.orm import Session

from queue_app import directory
from queue_app.db import insert, read_outside_transaction
from queue_app.models import LineRevision, Ticket, TicketEvent, TicketKind, TicketStatus

# How long a process trusts what it last read of a branch's revisions (see the module's text).
FRESH_SECONDS = 1.0
# If-None-Match may list several tags; a phone sends one. More are not looked at.
TAGS_LOOKED_AT = 4

_TOUCHED = "queue_app.line_revision.touched"
_DIRECTORY_CHANGED = directory.CHANGED_KEY


# The branch's committed revision, as a column that the lookup adds to the query it runs anyway.
REVISION = (
    select(LineRevision.revision)
    .where(LineRevision.branch_id == Ticket.branch_id)
    .scalar_subquery()
    .label("line_revision")
)


def touch(session: Session, branch_ids: Iterable[int]) -> None:
    """Say that tickets of ``branch_ids`` change in the caller's transaction. ORM writes to
    tickets are seen by themselves; a bulk UPDATE or INSERT ... SELECT calls this."""
    session.info.setdefault(_TOUCHED, set()).update(branch_ids)


def _branch_of(obj: Any) -> int | None:
    if isinstance(obj, Ticket):
        return obj.branch_id
    if isinstance(obj, TicketEvent):
        # An event is added with its ticket's change; one added alone shows on the page too.
        ticket = inspect(obj).attrs.ticket.loaded_value
        return ticket.branch_id if isinstance(ticket, Ticket) else None
    return None


def _joins_at_the_back(session: Session, obj: Any) -> bool:
    """A new walk-in ticket (or its first event) that joins the line behind everyone: nothing
    any other ticket's page shows changes, since a place and a wait count only who is ahead
    (a counter calls the first in calling order among the services it serves, and everyone
    waiting came before). Not bumping for it keeps the pages of a crowded branch at 304 while
    its kiosks are busy; the newcomer's own page has no tag yet, and a lookup finds it missing
    from what the process kept of the line and adds it (``line_estimates``).

    Two kiosks' tickets committed out of the order of their times could leave the later
    ticket's page counting one person fewer ahead until the branch's next change or the next
    minute."""
    if isinstance(obj, TicketEvent):
        ticket = inspect(obj).attrs.ticket.loaded_value
        return isinstance(ticket, Ticket) and _joins_at_the_back(session, ticket)
    return isinstance(obj, Ticket) and obj in session.new and joins_behind_everyone(obj)


class NewTicket(Protocol):
    """What ``joins_behind_everyone`` looks at: a Ticket, or a row read of its columns."""

    @property
    def status(self) -> TicketStatus: ...
    @property
    def kind(self) -> TicketKind: ...
    @property
    def priority(self) -> bool: ...
    @property
    def for_counter_id(self) -> int | None: ...
    @property
    def came_back_at(self) -> datetime | None: ...


def joins_behind_everyone(ticket: NewTicket) -> bool:
    """A new ticket that changes no other ticket's page (``_joins_at_the_back``): a plain
    walk-in waiting in its service's common line."""
    return (
        ticket.status == TicketStatus.WAITING
        and ticket.kind == TicketKind.WALK_IN
        and not ticket.priority
        and ticket.for_counter_id is None
        and ticket.came_back_at is None
    )


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context: Any, instances: Any) -> None:
    touched: set[int] | None = None
    for obj in chain(session.new, session.deleted, session.dirty):
        if not isinstance(obj, Ticket | TicketEvent):
            continue
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        if _joins_at_the_back(session, obj):
            continue
        branch_id = _branch_of(obj)
        if branch_id is not None:
            if touched is None:
                touched = session.info.setdefault(_TOUCHED, set())
            touched.add(branch_id)


@event.listens_for(Session, "before_commit")
def _bump_on_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # collects the last changes (``_collect``)
    touched: set[int] = session.info.get(_TOUCHED) or set()
    if not touched:
        return
    # In a fixed order, so that two commits touching the same branches cannot deadlock.
    for branch_id in sorted(touched):
        statement = insert(session, LineRevision).values(branch_id=branch_id, revision=1)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[LineRevision.branch_id],
                set_={"revision": LineRevision.revision + 1},
            )
        )


@event.listens_for(Session, "after_commit")
def _forget_own_changes(session: Session) -> None:
    touched: set[int] = session.info.pop(_TOUCHED, None) or set()
    changed_directory = session.info.pop(_DIRECTORY_CHANGED, False)
    if not (touched or changed_directory):
        return
    known = _known_for(session.get_bind())
    if changed_directory:
        known.clear()
    for branch_id in touched:
        known.pop(branch_id, None)


@event.listens_for(Session, "after_rollback")
def _forget_touched(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
    session.info.pop(_DIRECTORY_CHANGED, None)


# Per database (tests run several in one process), per branch: when it was read (monotonic
# seconds) and the line and directory revisions read then.
_known: weakref.WeakKeyDictionary[Any, dict[int, tuple[float, int | None, str | None]]] = (
    weakref.WeakKeyDictionary()
)
_per_database_lock = threading.Lock()

V = TypeVar("V")


def _per_database(store: weakref.WeakKeyDictionary[Any, dict[int, V]], bind: Any) -> dict[int, V]:
    """``store``'s entries for the database of ``bind`` (a session's bind or engine)."""
    engine = bind.engine if not isinstance(bind, Engine) else bind
    with _per_database_lock:
        return store.setdefault(engine, {})


def _known_for(bind: Any) -> dict[int, tuple[float, int | None, str | None]]:
    return _per_database(_known, bind)


def remember(
    session: Session, branch_id: int, line_revision: int | None, directory_revision: str | None
) -> None:
    """What a lookup just read, so that the next polls need not read it again."""
    _known_for(session.get_bind())[branch_id] = (
        time.monotonic(),
        line_revision,
        directory_revision,
    )


def revisions(session: Session, branch_id: int) -> tuple[int | None, str | None]:
    """The branch's line revision and the directory's, as this process last read them if that
    was less than ``FRESH_SECONDS`` ago, else read now (outside any transaction)."""
    known = _known_for(session.get_bind())
    seen = known.get(branch_id)
    if seen is not None and time.monotonic() - seen[0] < FRESH_SECONDS:
        return seen[1], seen[2]
    read_outside_transaction(session)
    row = session.execute(
        select(
            select(LineRevision.revision)
            .where(LineRevision.branch_id == branch_id)
            .scalar_subquery(),
            directory.REVISION,
        )
    ).one()
    session.commit()  # ends the autocommit "transaction" (no round trip)
    known[branch_id] = (time.monotonic(), row[0], row[1])
    return row[0], row[1]


# Per database, per branch: the revisions and minute something was worked out at, and it.
_worked_out: weakref.WeakKeyDictionary[Any, dict[int, tuple[tuple[Any, ...], Any]]] = (
    weakref.WeakKeyDictionary()
)


def kept(
    session: Session,
    branch_id: int,
    revisions: tuple[int | None, str | None],
    now: datetime,
) -> Any:
    """What this process kept of the branch's line at these revisions (line, directory) and
    ``now``'s minute (``keep``), or None. When a counter calls someone, every phone of the
    branch asks again within seconds; the first one's lookup works out the line's estimates,
    the others read only their own ticket (``line_estimates``)."""
    seen = _per_database(_worked_out, session.get_bind()).get(branch_id)
    if seen is not None and seen[0] == (*revisions, _minute(now)):
        return seen[1]
    return None


def keep(
    session: Session,
    branch_id: int,
    revisions: tuple[int | None, str | None],
    now: datetime,
    value: object,
) -> None:
    """Keep ``value``, worked out of the branch's line at these revisions and ``now``'s minute.
    A caller reads the revisions before the line: if a change commits in between, what is kept
    is newer than its key says, and the next poll, seeing the newer revision, works it out
    again."""
    _per_database(_worked_out, session.get_bind())[branch_id] = ((*revisions, _minute(now)), value)


def _minute(now: datetime) -> int:
    return int(now.timestamp()) // 60


def ticket_tag(
    secret: bytes,
    token: str,
    branch_id: int,
    line_revision: int | None,
    directory_revision: str | None,
    now: datetime,
) -> str:
    """The ETag value (unquoted) of ``token``'s ticket at these revisions and this minute."""
    said = f"{token}|{branch_id}|{line_revision}|{directory_revision}|{_minute(now)}".encode()
    mac = hmac.new(secret, said, hashlib.sha256).digest()[:15]
    return f"{branch_id}.{base64.urlsafe_b64encode(mac).decode()}"


def unchanged(
    session: Session, secret: bytes, token: str, offered: Iterable[str], now: datetime
) -> str | None:
    """The tag among ``offered`` (If-None-Match) that still describes ``token``'s ticket at
    ``now``, or None when the ticket must be looked up. Reads nothing while this process's
    knowledge of the branch is fresh."""
    for tag in list(offered)[:TAGS_LOOKED_AT]:
        branch, _, _ = tag.partition(".")
        if not branch.isdigit() or len(branch) > 12:
            continue
        branch_id = int(branch)
        line, dir_revision = revisions(session, branch_id)
        expected = ticket_tag(secret, token, branch_id, line, dir_revision, now)
        if hmac.compare_digest(expected, tag):
            return tag
    return None
