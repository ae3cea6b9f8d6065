"""Ticket printer addresses, as the config file and ``QUEUE_KIOSK_PRINTER_URL`` write them.

``tcp://HOST[:PORT][?profile=NAME&qr=native|image&arabic=shape|printer]`` (see kiosk/printing.py,
which sends the tickets). Read here, without python-escpos, so that ``queue-app load`` can refuse
a wrong address with its file and line, and the kiosk's printing reads the very same grammar.
Whether a profile name exists is known only to python-escpos: that is checked when printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

DEFAULT_PORT = 9100
DEFAULT_PROFILE = "TM-T20II"
EXPECTED = "tcp://HOST[:PORT][?profile=NAME&qr=native|image&arabic=shape|printer]"
OPTIONS = {"qr": {"native": True, "image": False}, "arabic": {"shape": True, "printer": False}}


class BadPrinterAddress(ValueError):
    """Not a printer address we can use; the message says what is wrong with it, for a sentence
    that ends with ``EXPECTED``."""


@dataclass(frozen=True)
class PrinterAddress:
    host: str
    port: int = DEFAULT_PORT
    profile: str = DEFAULT_PROFILE
    native_qr: bool = True
    shape_arabic: bool = True

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse(url: str) -> PrinterAddress:
    """Read a printer URL. Raises BadPrinterAddress, naming what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme != "tcp":
        raise BadPrinterAddress("it must start with tcp://")
    if not parts.hostname:
        raise BadPrinterAddress("it names no host")
    try:
        port = DEFAULT_PORT if parts.port is None else parts.port
    except ValueError:  # not a number, or beyond 65535
        port = 0
    if not port:
        raise BadPrinterAddress("the port is not a number from 1 to 65535")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - {"profile", *OPTIONS})
    if unknown:
        raise BadPrinterAddress(f"unknown option {', '.join(unknown)}")
    for key, choices in OPTIONS.items():
        if key in options and options[key] not in choices:
            raise BadPrinterAddress(f"{key}={options[key]} is not {key}={'|'.join(choices)}")
    return PrinterAddress(
        host=parts.hostname,
        port=port,
        profile=options.get("profile", DEFAULT_PROFILE),
        native_qr=OPTIONS["qr"][options.get("qr", "native")],
        shape_arabic=OPTIONS["arabic"][options.get("arabic", "shape")],
    )
