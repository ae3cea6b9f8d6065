"""Why a service is not running as usual, in the reader's words: which system is down and since
when, or when the office opens again. DESIGN.md: the kiosk, the display board and the ticket page
all say so; the scripts mirror this in ``static/ticket.js`` and ``static/display.js``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from queue_app.pages import formatting
from queue_app.pages.labels import service_notices, service_state_labels
from queue_app.service_state import ClosedReason, ServiceState, ServiceStatus


@dataclass(frozen=True)
class Notice:
    title: str
    lines: list[str]  # one per system that is down
    advice: str  # what it means for the reader


def service_notice(
    status: ServiceStatus, zone: ZoneInfo, now: datetime, *, awaiting_slot: bool = False
) -> Notice | None:
    """The notice for a service in the page's language; None while it runs as usual. A ticket
    a move found no free time for yet (``awaiting_slot``) is told so, not to wait for one."""
    texts, states = service_notices(), service_state_labels()
    locale = formatting.page_locale()
    if status.state in (ServiceState.PAUSED, ServiceState.DEGRADED):
        lines = [
            texts["down_since"]
            % {"system": b.name(locale), "time": formatting.when(b.state_since, zone, now)}
            if b.state_since
            else texts["down"] % {"system": b.name(locale)}
            for b in status.down_backends
        ]
        advice = texts["no_slot_yet"] if awaiting_slot else texts[status.state.value]
        return Notice(states[status.state.value], lines, advice)
    if status.state != ServiceState.CLOSED:
        return None
    if status.early_tickets and status.next_opening:
        advice = texts["early_tickets"] % {"when": formatting.when(status.next_opening, zone, now)}
    elif status.closed_reason == ClosedReason.NO_COUNTER:
        advice = texts["no_counter_open"]
    elif status.closed_reason and status.next_opening:
        when = formatting.when(status.next_opening, zone, now)
        advice = texts[status.closed_reason.value] % {"when": when}
    else:
        advice = texts["closed"]
    return Notice(states["closed"], [], advice)
