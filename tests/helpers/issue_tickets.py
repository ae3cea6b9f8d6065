"""A second process issuing walk-in tickets into a SQLite file, as a second web process would.

Run by tests/services/test_concurrency.py: ``python -m tests.helpers.issue_tickets DB_URL BRANCH
SERVICE COUNT CLOCK_ISO INSTANCE_DIR``. It prints ``ready``, waits for ``go`` on its standard input
so that both processes start writing together, then prints one JSON line per attempt:
``{"number": 7}`` or ``{"error": "..."}``. It exits 1 when any attempt failed.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError

from queue_app import tickets
from queue_app.access import Principal
from queue_app.app import create_app
from queue_app.branches import get_branch
from queue_app.clock import FixedClock
from queue_app.models import Role
from queue_app.settings import Settings
from queue_app.web.extensions import db


def main(argv: list[str]) -> int:
    database_url, branch_code, service_code, count, at, instance = argv
    clock = FixedClock(datetime.fromisoformat(at))
    app = create_app(
        Settings(database_url=database_url, secret_key="helper", instance_path=Path(instance)),
        clock=clock,
    )
    failures = 0
    with app.app_context():
        branch = get_branch(db.session, branch_code)
        kiosk = Principal(role=Role.KIOSK, branch_id=branch.id, branch_code=branch.code)
        db.session.rollback()  # hold no read snapshot while waiting for the start signal
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 2
        for _ in range(int(count)):
            try:
                ticket = tickets.take_walk_in(
                    db.session, clock, kiosk, branch_code, service_code
                ).ticket
            except OperationalError as err:
                # "database is locked" and its kin: report it, as a kiosk would show an error.
                db.session.rollback()
                failures += 1
                print(json.dumps({"error": str(err.orig)}), flush=True)
            else:
                print(json.dumps({"number": ticket.sequence}), flush=True)
        db.session.remove()
        db.engine.dispose()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
