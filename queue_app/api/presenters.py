"""Domain views to the plain dicts the response schemas describe."""

from __future__ import annotations

from typing import Any

from queue_app import texting
from queue_app.branches import BranchView, CounterView, ServiceView
from queue_app.directory import BackendInfo
from queue_app.settings import Settings
from queue_app.tickets import TicketView


def _name(thing: Any) -> dict[str, str]:
    return {"ar": thing.name_ar, "en": thing.name_en}


def _down(backends: tuple[BackendInfo, ...]) -> list[dict[str, Any]]:
    return [{"code": b.code, "name": _name(b), "since": b.state_since} for b in backends]


def ticket_urls(settings: Settings, token: str) -> dict[str, str]:
    status_url = texting.ticket_page(settings.public_url, token)
    return {"status_url": status_url, "qr_url": f"{status_url}/qr.png"}


def created_ticket(
    view: TicketView, settings: Settings
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The answer to a request that issued a ticket (a walk-in, a booking): 201, and a header
    saying when a retried request answers with the ticket it made before."""
    replayed = {"Idempotent-Replayed": "true"} if view.replayed else {}
    return ticket_data(view, settings), 201, replayed


def ticket_data(view: TicketView, settings: Settings) -> dict[str, Any]:
    ticket = view.ticket
    return {
        "token": ticket.token,
        "number": ticket.number,
        "service": view.service.code,
        "branch": view.branch.code,
        "kind": ticket.kind.value,
        "status": ticket.status.value,
        "priority": ticket.priority,
        "locale": ticket.locale,
        "channel": ticket.channel,
        "issued_at": ticket.issued_at,
        "position": view.position,
        "eta_minutes": view.eta_minutes,
        "eta_range_minutes": list(view.eta_range_minutes) if view.eta_range_minutes else None,
        "counter": view.counter.code if view.counter else None,
        "slot": (
            {"start": ticket.slot_start, "end": ticket.slot_end} if ticket.slot_start else None
        ),
        "service_state": view.service_status.state.value,
        "down_backends": _down(view.service_status.down_backends),
        "awaiting_slot": view.awaiting_slot,
        "offer": {"until": view.offer_until} if view.offer_until else None,
        **ticket_urls(settings, ticket.token),
        "history": [{"at": e.at, "event": e.event, "note": e.note} for e in ticket.events],
    }


def service_data(view: ServiceView) -> dict[str, Any]:
    service, status = view.service, view.status
    return {
        "code": service.code,
        "letter": service.letter,
        "name": _name(service),
        "state": status.state.value,
        "closed_reason": status.closed_reason.value if status.closed_reason else None,
        "next_opening": status.next_opening,
        "takes_walk_ins": status.takes_walk_ins,
        "down_backends": _down(status.down_backends),
        "waiting": view.waiting,
        "eta_minutes": view.eta_minutes,
        "open_counters": view.open_counters,
        "backends": [b.code for b in service.backends],
        "next_slot": view.next_slot,
    }


def counter_data(view: CounterView) -> dict[str, Any]:
    return {
        "code": view.counter.code,
        "open": view.counter.is_open,
        "services": [s.code for s in view.counter.services],
        "now_serving": view.serving.number if view.serving else None,
    }


def branch_data(view: BranchView, *, with_counters: bool = False) -> dict[str, Any]:
    branch = view.branch
    data: dict[str, Any] = {
        "code": branch.code,
        "name": _name(branch),
        "timezone": branch.timezone,
        "country": branch.country,
        "channels": list(branch.channels),
        "services": [service_data(s) for s in view.services],
    }
    if with_counters:
        data["counters"] = [counter_data(c) for c in view.counters]
    return data
