"""Every staff, manager and admin call that changes something is recorded in the audit trail
(queue_app/audit.py): one ``@audited(action, target)`` under the handler's ``@requires_role``.

tests/api/test_audit_trail.py walks the URL map: a new POST, PUT, PATCH or DELETE under /api/v1
without this decorator (or a place among the public routes) fails it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from sqlalchemy import select

from queue_app import audit, directory
from queue_app.access import STAFF_AND_UP, Principal
from queue_app.api.auth import caller_if_any
from queue_app.errors import Forbidden, NotFound, QueueError
from queue_app.models import Ticket
from queue_app.models.tickets import ticket_number
from queue_app.web.extensions import current_clock, db

# From the handler's arguments (smorest's parsed ones first, then the URL's) and the caller:
# what the action is about and the branch it is for (None: system-wide).
Args = tuple[Any, ...]
Kwargs = dict[str, Any]
Found = tuple[audit.Target, int | None]
TargetOf = Callable[[Args, Kwargs, Principal], Found]


def _actor(who: Principal) -> audit.Actor:
    return audit.Actor.of(
        who, address=request.remote_addr, user_agent=request.headers.get("User-Agent")
    )


def _branch_id(code: str | None, who: Principal) -> int | None:
    if code is None:
        return who.branch_id
    try:
        return directory.current(db.session).branch(code).id
    except NotFound:  # the handler answers 404 itself
        return who.branch_id


def _audited_caller(optional: bool) -> Principal | None:
    if not optional:
        return g.get("principal")
    try:
        return caller_if_any()
    except QueueError:
        return None  # a public call: the handler decides what a bad credential means to it


def audited(
    action: str, target: TargetOf, *, token_optional: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Record the handler's change as ``action`` when a staff, manager or admin token calls it
    (kiosks and citizens are not recorded). ``token_optional``: a public route that a staff
    token may also call (a booking made for a citizen at the counter)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = _audited_caller(token_optional)
            if who is None or who.role not in STAFF_AND_UP:
                return view(*args, **kwargs)
            what, branch_id = target(args, kwargs, who)
            with audit.recording(
                db.session, current_clock(), _actor(who), action, what, branch_id=branch_id
            ):
                return view(*args, **kwargs)

        def refused(who: Principal, args: Args, kwargs: Kwargs, why: Forbidden) -> None:
            # A role that may not call the handler at all (requires_role refuses it).
            if who.role not in STAFF_AND_UP:
                return
            what, branch_id = target(args, kwargs, who)
            db.session.rollback()
            audit.record_refusal(
                db.session, current_clock(), _actor(who), action, what, branch_id=branch_id, why=why
            )

        wrapper.audit_action = action  # type: ignore[attr-defined]
        wrapper.audit_refused = refused  # type: ignore[attr-defined]
        return wrapper

    return decorate


# --- targets ---------------------------------------------------------------------------------


def in_branch(kind: str, key_argument: str) -> TargetOf:
    """A thing named in a URL under a branch (/api/v1/branches/<branch_code>/..., the console's
    /manage/<branch_code>/...): a counter, a service, a capacity setting."""

    def target(args: Args, kwargs: Kwargs, who: Principal) -> Found:
        code = kwargs.get("branch_code")
        return audit.Target(kind, str(kwargs.get(key_argument))), _branch_id(code, who)

    return target


def service_in_body(args: Args, kwargs: Kwargs, who: Principal) -> Found:
    """A ticket issued or booked: the service of the request's body."""
    body = args[0] if args and isinstance(args[0], dict) else {}
    return audit.Target("service", body.get("service")), _branch_id(kwargs.get("branch_code"), who)


def ticket_by_token(args: Args, kwargs: Kwargs, who: Principal) -> Found:
    """A ticket, named by its id and number: its token opens the citizen's page, and is not
    written down."""
    row = db.session.execute(
        select(Ticket.id, Ticket.letter, Ticket.sequence, Ticket.branch_id).where(
            Ticket.token == kwargs["token"]
        )
    ).first()
    if row is None:
        return audit.Target("ticket", None), who.branch_id
    return audit.Target(
        "ticket", f"{row.id} {ticket_number(row.letter, row.sequence)}"
    ), row.branch_id


def backend(args: Args, kwargs: Kwargs, who: Principal) -> Found:
    """A back-end system: for the branch the body names (an admin's, or a manager's of several
    branches), else the caller's own (None for an admin: system-wide)."""
    body = args[0] if args and isinstance(args[0], dict) else {}
    return audit.Target("backend", kwargs["code"]), _branch_id(body.get("branch"), who)


def maintenance_window(args: Args, kwargs: Kwargs, who: Principal) -> Found:
    key = f"{kwargs['code']} {kwargs['window_id']}"
    return audit.Target("maintenance", key), who.branch_id
