"""Send a ticket to a kiosk's thermal printer over the network (raw TCP, "JetDirect", port 9100).

A printer is named by one URL, so that a kiosk's record or a setting can hold it as one string:
``tcp://HOST[:PORT][?profile=NAME&qr=native|image&arabic=shape|printer]``. ``profile`` is a
python-escpos printer profile (paper width, code pages; TM-T20II by default, the common 80 mm
baseline that most clones follow); ``qr=image`` is for printers without the QR command;
``arabic=printer`` for printers whose firmware shapes Arabic (see kiosk/escpos.py). The URL is
read by queue_app/printers.py, which the config file's loader uses too.

A printer that is off, out of paper or unplugged must not cost the citizen their ticket: the
ticket exists before it is printed and its page works without paper, so every failure here is a
``PrinterProblem`` that the kiosk shows next to the ticket on screen. One kind of it,
``NoPrinter``, says that there is no network printer at all: the kiosk's screen then prints
through its browser.
"""

from __future__ import annotations

import socket

from kiosk import escpos as ticket_escpos
from kiosk.slip import TicketSlip
from queue_app import printers
from queue_app.directory import BranchInfo, KioskInfo
from queue_app.errors import QueueError
from queue_app.printers import DEFAULT_PORT, DEFAULT_PROFILE, PrinterAddress

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_PROFILE",
    "NoPrinter",
    "PrinterAddress",
    "PrinterProblem",
    "printer_address",
    "printer_of",
    "printer_setting",
    "send",
]

# Long enough for a printer on the office network to answer, short enough that the citizen at
# the kiosk is not left waiting in front of a dead printer.
TIMEOUT_SECONDS = 5.0


class PrinterProblem(QueueError):
    """The ticket could not be printed; the ticket itself is fine."""

    code, status = "printer_problem", 503


class NoPrinter(PrinterProblem):
    """No network printer for this kiosk: not a fault to retry, but the sign for the kiosk's
    screen to print through its browser instead."""

    code, status = "no_printer", 409


def printer_address(url: str | None) -> PrinterAddress:
    """Read a printer URL (see above; the grammar is queue_app/printers.py). Raises NoPrinter
    when there is none, PrinterProblem when it is not one we can use."""
    if not url:
        raise NoPrinter("no ticket printer is configured for this kiosk")
    try:
        return printers.parse(url)
    except printers.BadPrinterAddress as err:
        raise PrinterProblem(
            f"not a printer address: {url!r} ({err}); expected {printers.EXPECTED}", printer=url
        ) from None


def printer_setting(
    branch: BranchInfo, kiosk_id: int | None, common_url: str | None
) -> tuple[KioskInfo | None, str | None]:
    """The kiosk of the branch that ``kiosk_id`` names (a kiosk token's), and the printer that
    prints its tickets: its own, else the kiosks' common one (``QUEUE_KIOSK_PRINTER_URL``), else
    None: the kiosk prints through its browser."""
    kiosk = branch.kiosk_by_id(kiosk_id)
    return kiosk, (kiosk.printer_url if kiosk else None) or common_url or None


def printer_of(
    branch: BranchInfo, kiosk_id: int | None, common_url: str | None
) -> tuple[KioskInfo | None, str]:
    """As ``printer_setting``; raises NoPrinter when there is no printer."""
    kiosk, url = printer_setting(branch, kiosk_id, common_url)
    if not url:
        which = f"kiosk {kiosk.code!r}" if kiosk else "this kiosk"
        raise NoPrinter(
            f"no ticket printer is configured for {which} (no printer in the config file, no "
            "QUEUE_KIOSK_PRINTER_URL): print through the browser",
            kiosk=kiosk.code if kiosk else None,
        )
    return kiosk, url


def send(
    slip: TicketSlip, printer_url: str | None, *, timeout: float = TIMEOUT_SECONDS
) -> PrinterAddress:
    """Print ``slip`` on the network printer at ``printer_url``; return the printer's address.
    Raises PrinterProblem."""
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
    return address


def _reason(err: OSError) -> str:
    return (err.strerror or str(err) or type(err).__name__).lower()
