"""The measured pace of a service: how long one citizen takes at a counter, from the tickets
its counters finished, kept from running away.

The configured ``avg_service_minutes`` is the manager's word; measurements refine it but never
replace it outright. A measured pace:

- needs ``MIN_SAMPLE`` finished tickets before it counts at all (one call → done in 0.43 s once
  made a slot take 3,148 citizens);
- is the median of the last ``WINDOW`` service times, so a few mis-taps or a ticket left open
  over a long call do not move it, raised to the mean that median stands for: service times
  are skewed (most are quick, a few take long; roughly log-normal), and what the counters'
  throughput and the waits add up is the mean, some 12 % above the median at the spread seen
  in offices. The spread is read robustly too (the median absolute deviation of the logs), and
  the raise is at most ``MAX_SKEW_RAISE``;
- is blended with the configured time, the measurements weighing more as they grow in number
  (``PRIOR_WEIGHT`` is how many measurements the configured time is worth);
- stays within ``LOWEST_SHARE`` and ``HIGHEST_SHARE`` of the configured time: a pace outside
  those bounds is a counter misused, not a service that changed, and it is the manager's to
  change the configured time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app.models import Ticket, TicketStatus

MIN_SAMPLE = 5
WINDOW = 30
PRIOR_WEIGHT = 5
MAX_SKEW_RAISE = 1.25  # the mean of a log-normal with a log spread of about 0.67
LOWEST_SHARE = 0.5
HIGHEST_SHARE = 2.0
# A ticket left "called" over lunch says nothing about how long a transaction takes.
LONGEST_PLAUSIBLE_SERVICE_S = 2 * 3600


def bounded(seconds: float, configured_seconds: float) -> float:
    """``seconds`` held within the bounds around the configured time."""
    return min(max(seconds, configured_seconds * LOWEST_SHARE), configured_seconds * HIGHEST_SHARE)


def measured_pace(samples: Sequence[float], configured_seconds: float) -> float | None:
    """Seconds per citizen from recent service times (newest first or in any order), or None
    while there are too few of them to say anything."""
    recent = [s for s in samples[:WINDOW] if 0 < s <= LONGEST_PLAUSIBLE_SERVICE_S]
    if len(recent) < MIN_SAMPLE or configured_seconds <= 0:
        return None
    weight = len(recent) / (len(recent) + PRIOR_WEIGHT)
    blend = weight * _robust_mean(recent) + (1 - weight) * configured_seconds
    return bounded(blend, configured_seconds)


def _robust_mean(samples: Sequence[float]) -> float:
    """The mean of log-normal service times from their median and the spread of their logs,
    both read robustly: median × exp(σ²/2), with σ = 1.4826 × the median absolute deviation
    of the logs (the normal distribution's scale), the raise held under ``MAX_SKEW_RAISE``."""
    logs = [math.log(s) for s in samples]
    middle = statistics.median(logs)
    sigma = 1.4826 * statistics.median(abs(v - middle) for v in logs)
    half_variance = min(sigma * sigma / 2, math.log(MAX_SKEW_RAISE))  # exp() cannot overflow
    return statistics.median(samples) * math.exp(half_variance)


def recent_service_times(session: Session, service_id: int) -> list[float]:
    """Seconds from call to done of the service's last ``WINDOW`` finished tickets, newest first."""
    rows = session.execute(
        select(Ticket.called_at, Ticket.finished_at)
        .where(
            Ticket.service_id == service_id,
            Ticket.status == TicketStatus.DONE,
            Ticket.called_at.is_not(None),
            Ticket.finished_at.is_not(None),
        )
        .order_by(Ticket.finished_at.desc(), Ticket.id.desc())
        .limit(WINDOW)
    )
    return [
        (finished - called) / timedelta(seconds=1)
        for called, finished in rows
        if called is not None and finished is not None
    ]
