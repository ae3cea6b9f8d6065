"""Rate limits of the public endpoints that anyone may call (booking an appointment).

Counted per client address in ``QUEUE_RATE_LIMIT_STORAGE`` (``memory://`` by default: per
process; ``redis://HOST:6379`` shares the counts between web processes). A request that carries
a valid kiosk or staff token is not counted: a branch's kiosks often share one public address,
and during an outage they book for a whole hall.
"""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from queue_app.errors import QueueError

limiter = Limiter(key_func=get_remote_address)


def from_our_own_devices() -> bool:
    """True for a request with a valid token (kiosk, staff, manager, admin)."""
    from queue_app import access
    from queue_app.web.extensions import current_clock, db

    header = request.headers.get("Authorization")
    if not header:
        return False
    try:
        access.authenticate(db.session, current_clock(), header)
    except QueueError:
        return False
    return True
