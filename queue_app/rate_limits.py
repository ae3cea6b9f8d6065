"""Rate limits of the public endpoints that anyone may call (booking an appointment).

Counted per client address in ``QUEUE_RATE_LIMIT_STORAGE`` (``memory://`` by default: per
process; ``redis://HOST:6379`` shares the counts between web processes).
"""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
