"""sms/ is a library of its own: importing all of it loads nothing of the app or the kiosk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_sms_imports_nothing_of_queue_app_or_kiosk():
    script = (
        "import sys\n"
        "import sms, sms.gateways, sms.numbers, sms.replies, sms.segments, sms.signatures,"
        " sms.templates\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('queue_app', 'kiosk')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
