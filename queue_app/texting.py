"""Every message to a citizen in one place: which text for which event, with the link to the
ticket's own page, written to the outbox in the caller's transaction.

The link's base is the deployment's public URL. It is put once on every session the app, the CLI
and the worker make (``Session.info``), so the use cases do not carry it in their signatures.
The wording itself, and its segment budget, is ``sms.templates``; the outbox row is
``outbox.row``. A second channel (WhatsApp) is chosen here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlalchemy.orm import Session

from sms import templates

if TYPE_CHECKING:
    from queue_app.directory import ServiceInfo
    from queue_app.rescheduler import MessageFor, TicketRow

# The key of the public URL in ``Session.info``.
PUBLIC_URL = "queue_public_url"

# Why the rescheduler moved a ticket.
Reason = Literal["outage", "maintenance", "capacity"]


class NoPublicUrl(RuntimeError):
    """A session made without the public URL: a message would carry a broken link."""


def set_public_url(info: dict[object, object], public_url: str) -> None:
    """Give the sessions of ``info`` (a session's or a sessionmaker's) the ticket links' base."""
    info[PUBLIC_URL] = public_url.rstrip("/")


def ticket_links(session: Session) -> Callable[[str], str]:
    """Turn a ticket's token into the address of its page (``/t/<token>``)."""
    base = session.info.get(PUBLIC_URL)
    if not base:
        raise NoPublicUrl(
            "this session knows no public URL: make it with texting.set_public_url "
            "(the app, the CLI and the worker do)"
        )
    return lambda token: f"{base}/t/{token}"


def ticket_link(session: Session, token: str) -> str:
    return ticket_links(session)(token)


def moved(
    session: Session, reason: Reason, *, system: Callable[[str], str] | None = None
) -> MessageFor:
    """The message to a ticket the rescheduler moved, saying why and when: ``system`` names the
    back-end system (outage, maintenance) in a locale; a capacity cut names the branch."""
    link = ticket_links(session)
    if reason != "capacity" and system is None:
        raise ValueError(f"a move because of {reason} names its system")

    def word(ticket: TicketRow, service: ServiceInfo, start: datetime) -> str:
        locale, zone, to_page = ticket.locale, service.branch.timezone, link(ticket.token)
        if reason == "capacity":
            place = service.branch.name(locale)
            return templates.rescheduled_for_capacity(
                locale, branch=place, start=start, timezone=zone, link=to_page
            )
        name = system(locale) if system is not None else ""
        wording = (
            templates.rescheduled_for_maintenance
            if reason == "maintenance"
            else templates.rescheduled_for_outage
        )
        return wording(locale, system=name, start=start, timezone=zone, link=to_page)

    return word
