"""Send a ticket to a kiosk's thermal printer over the network (raw TCP, "JetDirect", port 9100).

A printer is named by one URL, so that a kiosk's record or a setting can hold it as one string:
``tcp://HOST[:PORT][?profile=NAME&qr=native|image&arabic=shape|printer]``. ``profile`` is a
python-escpos printer profile (paper width, code pages; TM-T20II by default, the common 80 mm
baseline that most clones follow); ``qr=image`` is for printers without the QR command;
``arabic=printer`` for printers whose firmware shapes Arabic (see kiosk/escpos.py).

A printer that is off, out of paper or unplugged must not cost the citizen their ticket: the
ticket exists before it is printed and its page works without paper, so every failure here is a
``PrinterProblem`` that the kiosk shows next to the ticket on screen.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from kiosk import escpos as ticket_escpos
from kiosk.slip import TicketSlip
from queue_app.errors import QueueError

DEFAULT_PORT = 9100
DEFAULT_PROFILE = "TM-T20II"
# Long enough for a printer on the office network to answer, short enough that the citizen at
# the kiosk is not left waiting in front of a dead printer.
TIMEOUT_SECONDS = 5.0


class PrinterProblem(QueueError):
    """The ticket could not be printed; the ticket itself is fine."""

    code, status = "printer_problem", 503


@dataclass(frozen=True)
class PrinterAddress:
    host: str
    port: int = DEFAULT_PORT
    profile: str = DEFAULT_PROFILE
    native_qr: bool = True
    shape_arabic: bool = True

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


_CHOICES = {"qr": {"native": True, "image": False}, "arabic": {"shape": True, "printer": False}}


def printer_address(url: str | None) -> PrinterAddress:
    """Read a printer URL (see above). Raises PrinterProblem: none configured, or not one we
    can use."""
    if not url:
        raise PrinterProblem("no ticket printer is configured for this kiosk")
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        port = 0
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - {"profile", *_CHOICES})
    bad = [key for key in _CHOICES if key in options and options[key] not in _CHOICES[key]]
    if parts.scheme != "tcp" or not parts.hostname or not port or unknown or bad:
        raise PrinterProblem(
            f"not a printer address: {url!r}; expected "
            "tcp://HOST[:PORT][?profile=NAME&qr=native|image&arabic=shape|printer]",
            printer=url,
        )
    return PrinterAddress(
        host=parts.hostname,
        port=port,
        profile=options.get("profile", DEFAULT_PROFILE),
        native_qr=_CHOICES["qr"][options.get("qr", "native")],
        shape_arabic=_CHOICES["arabic"][options.get("arabic", "shape")],
    )


def send(slip: TicketSlip, printer_url: str | None, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Print ``slip`` on the network printer at ``printer_url``. Raises PrinterProblem."""
    # Imported here, not at the top: python-escpos loads its printer database on import, writing
    # a cache to a new temporary folder and configuring the root logger; only processes that
    # print need that.
    from escpos.printer import Dummy, Network

    address = printer_address(printer_url)
    # The whole ticket is laid out before anything is sent: a slip that cannot be rendered
    # leaves the printer untouched rather than half a ticket on the paper.
    try:
        job = Dummy(profile=address.profile)
    except KeyError:
        raise PrinterProblem(
            f"unknown printer profile {address.profile!r} for {printer_url!r}",
            printer=printer_url,
        ) from None
    ticket_escpos.render(slip, job, native_qr=address.native_qr, shape_arabic=address.shape_arabic)
    printer = Network(address.host, address.port, timeout=timeout, profile=address.profile)
    try:
        # Connected here rather than by Network.open(), which drops the socket unclosed when
        # the printer does not answer.
        printer.device = socket.create_connection((address.host, address.port), timeout=timeout)
        # One write of the finished job; python-escpos has no public call for raw bytes.
        printer._raw(job.output)
    except OSError as err:  # refused, timed out, reset, no route: all the printer's side
        raise PrinterProblem(
            f"the ticket printer at {address} did not take ticket {slip.number}: {_reason(err)}",
            printer=str(address),
        ) from err
    finally:
        printer.close()


def _reason(err: OSError) -> str:
    return (err.strerror or str(err) or type(err).__name__).lower()
