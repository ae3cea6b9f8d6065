"""What a web process knows of a branch's line: each waiting ticket's place and wait.

Working them out reads the branch's whole line and runs the simulation three times
(``waiting_line.branch_line``, ``wait_estimate``): milliseconds for a branch with hundreds
waiting, on every ticket issued and on every phone's poll after a change. So it is done once per
branch, line revision, directory revision and minute (``line_revision``) and kept.

A plain walk-in joining behind everyone leaves the line revision as it was (nobody else's place
or wait changes), so what is kept is extended rather than worked out again: the tickets that
joined since are read (only they, in one short statement that reads both revisions too) and each
gets its place (one more than those of its service ahead of it) and its wait: from where the
simulation left the counters (``wait_estimate.Tail``), in one step per counter, or, while an
appointment is still to come today (the line then has no tail), by running the kept line again
with them, without reading it. Either gives what working the line out again at the moment it
was kept would give: waits count from the minute's first working-out, so a wait told later in
that minute may be a minute longer than one worked out at the time (the poll's tag holds the
minute for the same reason). What the kept line cannot take (a ticket far out of calling order)
is worked out afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from queue_app import directory, line_revision, wait_estimate, waiting_line
from queue_app.db import read_outside_transaction
from queue_app.directory import BranchInfo
from queue_app.models import LineRevision, Ticket, TicketStatus

# Tickets numbered up to this far below the newest one known are read again when looking for
# those who joined: on PostgreSQL a ticket's id is taken at its insert, from one sequence for
# every branch, and two kiosks' transactions (of different services, which share no lock) can
# commit out of that order. A ticket whose commit is overtaken by more inserts than this (any
# branch's) is missed by the kept line: those who join after it are told one place too few,
# until the next minute or change works the line out again.
ID_SLACK = 32

# Two kiosks' tickets of different services taken this close together may commit in the other
# order (each takes its time before it waits for its number; within a service the number's row
# orders them, numbering.take_number): the later one committed joins behind the other, as if
# taken last. Its place and wait, and the other's, are then one citizen off until the line is
# worked out again (the next minute or change). A ticket further back in calling order than
# this (none should be: tickets that join anywhere but the back change the line revision) makes
# the line worked out again.
OUT_OF_ORDER = timedelta(seconds=2)

# The branch's tickets added since a given id, with both revisions: one round trip.
_JOINED_SINCE = select(
    select(LineRevision.revision)
    .where(LineRevision.branch_id == bindparam("branch_id"))
    .scalar_subquery()
    .label("line_revision"),
    directory.REVISION,
    Ticket.id,
    Ticket.service_id,
    Ticket.status,
    Ticket.kind,
    Ticket.priority,
    Ticket.queued_at,
    Ticket.for_counter_id,
    Ticket.came_back_at,
).where(Ticket.branch_id == bindparam("branch_id"), Ticket.id > bindparam("after"))

Revisions = tuple[int | None, str | None]


def _joins_behind(row: Any) -> bool:
    """A plain walk-in waiting in line: the kind of ticket that leaves the line revision alone
    (``line_revision.joins_behind_everyone``)."""
    return line_revision.joins_behind_everyone(row) and row.queued_at is not None


@dataclass(eq=False)
class KnownLine:
    """A branch's line as worked out at one moment, and the plain walk-ins who joined since."""

    line: waiting_line.BranchLine
    waits: dict[int, wait_estimate.Wait | None]
    tail: wait_estimate.Tail | None
    # The last ticket in calling order that is not a priority one: (queued_at, id).
    last: tuple[datetime, int] | None
    newest_id: int
    # Per service, how many wait in it: the line's and those who joined since.
    waiting: dict[int, int] = field(default_factory=dict)
    # Per waiting ticket, its place in its service's line: counted once for the whole line
    # (``waiting_line.BranchLine.ahead_of`` per ticket would count the line on every poll).
    places: dict[int, int] = field(default_factory=dict)
    # Those who joined since, while an appointment is still to come (no tail): the kept line
    # is run again with them.
    joined: list[wait_estimate.Ticket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def work_out(cls, line: waiting_line.BranchLine) -> KnownLine:
        waits, tail = wait_estimate.waits_and_tail(line.line)
        plain = [(t.queued_at, t.id) for t in line.line.tickets if not t.due and not t.priority]
        return cls(
            line=line,
            waits=waits,
            tail=tail,
            last=max(plain, default=None),
            newest_id=max((t.id for t in line.line.tickets), default=0),
            waiting=dict(line.waiting),
            places=_places(line.line.tickets),
        )

    def knows(self, ticket_id: int) -> bool:
        """Whether the ticket waits in the line as kept."""
        return ticket_id in self.places

    def place_and_wait(self, ticket: Ticket) -> tuple[int, wait_estimate.Wait | None]:
        return self.places[ticket.id], self.waits.get(ticket.id)

    def join(self, rows: Sequence[Any]) -> bool:
        """Add the waiting tickets among ``rows`` (the branch's tickets added since, read at the
        same line revision) that it does not know yet, behind everyone known. False, and nothing
        added, when one of them is not a plain walk-in or belongs further ahead in calling order
        than ``OUT_OF_ORDER`` allows: the line must then be worked out again."""
        with self.lock:
            # At the same line revision, a ticket not waiting is not in the line now and was not
            # when it was worked out (an earlier one done, a booking for another day).
            fresh = [
                row for row in rows if row.status == TicketStatus.WAITING and not self.knows(row.id)
            ]
            if not all(_joins_behind(row) for row in fresh):
                return False
            fresh.sort(key=lambda row: (row.queued_at, row.id))
            if fresh and self.last is not None and fresh[0].queued_at < self.last[0] - OUT_OF_ORDER:
                return False
            waiting, places = self.waiting, {}
            for row in fresh:
                waiting[row.service_id] = waiting.get(row.service_id, 0) + 1
                places[row.id] = waiting[row.service_id]
                if self.tail is not None:
                    self.waits[row.id] = self.tail.join(row.service_id)
                else:
                    newcomer = wait_estimate.Ticket(row.id, row.service_id, False, row.queued_at)
                    self.joined.append(newcomer)
                key = (row.queued_at, row.id)
                self.last = key if self.last is None else max(self.last, key)
                self.newest_id = max(self.newest_id, row.id)
            if fresh and self.tail is None:
                known = self.line.line
                again = wait_estimate.Line(
                    known.now,
                    known.services,
                    known.counters,
                    [*known.tickets, *self.joined],
                    known.starts,
                )
                self.waits.update(wait_estimate.waits(again))
            # Known from here on (``knows``), with their waits in place: other threads read
            # without the lock.
            self.places.update(places)
            return True


def _places(line: Sequence[wait_estimate.Ticket]) -> dict[int, int]:
    """Each waiting ticket's place in its service's line, in calling order
    (``waiting_line.CALLING_ORDER``); appointments still to come have none."""
    by_service: dict[int, list[wait_estimate.Ticket]] = {}
    for t in line:
        if not t.due:
            by_service.setdefault(t.service_id, []).append(t)
    places: dict[int, int] = {}
    for queue in by_service.values():
        queue.sort(key=lambda t: (not t.priority, t.queued_at, t.id))
        places.update((t.id, n) for n, t in enumerate(queue, start=1))
    return places


def place_and_wait(
    session: Session,
    branch: BranchInfo,
    now: datetime,
    ticket: Ticket,
    revisions: Revisions | None = None,
) -> tuple[int, wait_estimate.Wait | None]:
    """A waiting ticket's place in its service's line and its wait, from what this process
    keeps of the branch's line at these ``revisions`` (read by the caller before the ticket;
    None: read here) and ``now``'s minute, extended by those who joined since or worked out
    again. Runs outside any transaction."""
    if revisions is None:
        revisions = line_revision.revisions(session, branch.id)
    known: KnownLine | None = line_revision.kept(session, branch.id, revisions, now)
    if known is not None:
        if known.knows(ticket.id):
            return known.place_and_wait(ticket)
        read_outside_transaction(session)
        rows = session.execute(
            _JOINED_SINCE, {"branch_id": branch.id, "after": known.newest_id - ID_SLACK}
        ).all()
        if rows:
            now_revisions = (rows[0].line_revision, rows[0].directory_revision)
            # Newer than what the process knew, perhaps: the next requests need not read them.
            line_revision.remember(session, branch.id, *now_revisions)
            if now_revisions == revisions and known.join(rows) and known.knows(ticket.id):
                return known.place_and_wait(ticket)
            revisions = now_revisions  # read before the line, as a lookup's are
    read_outside_transaction(session)
    known = KnownLine.work_out(waiting_line.branch_line(session, branch, now))
    line_revision.keep(session, branch.id, revisions, now, known)
    return known.place_and_wait(ticket)
