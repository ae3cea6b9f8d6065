"""What the mass-move scenes of a test and a bench both build: a branch open at any hour, and
waiting tickets written in bulk (tests/services/test_outage_crash.py, bench/outage_response.py).

They run on the real clock, so the branch must be open whenever they run.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from datetime import time as wall
from typing import Any

from queue_app.models import OpeningHours


def open_all_day() -> list[OpeningHours]:
    """Every day of the week from midnight to 23:59, in the branch's own time."""
    return [OpeningHours(weekday=d, opens=wall(0, 0), closes=wall(23, 59)) for d in range(7)]


def waiting_ticket(
    branch_id: int,
    service_id: int,
    sequence: int,
    *,
    issued_at: datetime,
    phone: str | None,
    locale: str = "ar",
    priority: bool = False,
) -> dict[str, Any]:
    """One row of ``tickets`` for a bulk insert: a walk-in waiting since ``issued_at``."""
    return {
        "token": secrets.token_urlsafe(24),
        "branch_id": branch_id,
        "service_id": service_id,
        "letter": "A",
        # The day it was taken: a ticket dated long ago is past its retention, and the
        # worker's housekeeping would erase its phone before any move could text it.
        "local_day": issued_at.date(),
        "sequence": sequence,
        "kind": "walk_in",
        "status": "waiting",
        "priority": priority,
        "phone": phone,
        "locale": locale,
        "issued_at": issued_at,
        "queued_at": issued_at,
        "version": 1,
    }
