"""The production web server's workers (queue_app/web/server.py), as each builds its app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# In a process of its own: freezing is for the whole interpreter.
PROBE = """
import gc, json, sys
from pathlib import Path
from queue_app.settings import Settings
from queue_app.web.server import QueueServer

folder = Path(sys.argv[1])
settings = Settings(
    database_url=f"sqlite:///{folder / 'queue.sqlite3'}", secret_key="test", instance_path=folder
)
app = QueueServer(settings, {"bind": "127.0.0.1:0"}, None).load()
print(json.dumps({"app": type(app).__name__, "frozen": gc.get_freeze_count(),
                  "tracked": len(gc.get_objects())}))
"""


def test_a_worker_keeps_what_it_loaded_out_of_the_garbage_collectors_full_sweeps(
    tmp_path: Path,
) -> None:
    """The libraries and the app, loaded once, live as long as the worker: frozen, a full
    collection need not walk them (some 70 ms a time, which the requests then waiting wait)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["app"] == "Flask"
    assert seen["frozen"] > 50_000  # the libraries and the app
    assert seen["tracked"] < 1_000  # nothing left for a full collection to walk
