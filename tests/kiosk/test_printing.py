"""Sending a ticket to a network printer: a real TCP server on 127.0.0.1 plays the printer."""

from __future__ import annotations

import dataclasses
import queue
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from kiosk import printing
from kiosk.printing import PrinterAddress, PrinterProblem, printer_address
from tests.helpers.escpos_reading import read
from tests.helpers.slips import STATUS_URL, sample_slip

QR_COMMAND = b"\x1d(k"


class _Paper(socketserver.BaseRequestHandler):
    """Takes one print job: every byte until the sender closes."""

    def handle(self) -> None:
        chunks = []
        while chunk := self.request.recv(65536):
            chunks.append(chunk)
        self.server.jobs.put(b"".join(chunks))  # type: ignore[attr-defined]


class FakePrinter(socketserver.TCPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Paper)
        self.jobs: queue.Queue[bytes] = queue.Queue()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.server_address[1]}"

    def job(self) -> bytes:
        return self.jobs.get(timeout=10)


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    server = FakePrinter()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def dead_printer_url() -> str:
    """An address on which nothing listens: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


# --- addresses ----------------------------------------------------------------------------


def test_an_address_names_host_and_port():
    assert printer_address("tcp://10.1.2.3:9101") == PrinterAddress(host="10.1.2.3", port=9101)
    assert printer_address("tcp://printer.local") == PrinterAddress(host="printer.local")


def test_an_address_may_say_what_the_printer_can_do():
    address = printer_address("tcp://10.1.2.3?profile=TM-T88V&qr=image&arabic=printer")
    assert address == PrinterAddress(
        host="10.1.2.3", profile="TM-T88V", native_qr=False, shape_arabic=False
    )


def test_no_printer_configured():
    with pytest.raises(PrinterProblem, match="no ticket printer is configured"):
        printer_address(None)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3:9100",
        "tcp://:9100",
        "tcp://10.1.2.3:notaport",
        "tcp://10.1.2.3?qr=maybe",
        "tcp://10.1.2.3?colour=red",
    ],
)
def test_a_wrong_address_says_what_is_expected(url):
    with pytest.raises(PrinterProblem, match=r"expected tcp://HOST\[:PORT\]") as caught:
        printer_address(url)
    assert caught.value.fields == {"printer": url}


# --- sending ------------------------------------------------------------------------------


def test_the_printer_gets_the_number_and_the_qr_command(printer):
    printing.send(sample_slip(), printer.url)
    job = printer.job()
    assert b"A-007" in job
    assert QR_COMMAND in job
    read_back = read(job)
    assert read_back.qr_data == [STATUS_URL.encode()]
    assert read_back.cuts == 1


def test_the_address_chooses_a_bitmap_qr_code(printer):
    printing.send(sample_slip(), f"{printer.url}?qr=image")
    job = printer.job()
    assert b"A-007" in job
    assert QR_COMMAND not in job


def test_a_refused_connection_is_a_printer_problem(dead_printer_url):
    with pytest.raises(PrinterProblem) as caught:
        printing.send(sample_slip(), dead_printer_url)
    problem = caught.value
    address = dead_printer_url.removeprefix("tcp://")
    assert str(problem) == (
        f"the ticket printer at {address} did not take ticket A-007: connection refused"
    )
    assert (problem.code, problem.status) == ("printer_problem", 503)


def test_an_unknown_profile_is_a_printer_problem(printer):
    with pytest.raises(PrinterProblem, match="unknown printer profile 'TM-NOPE'"):
        printing.send(sample_slip(), f"{printer.url}?profile=TM-NOPE")
    assert printer.jobs.empty()


# --- the kiosk's endpoint -----------------------------------------------------------------


@pytest.fixture
def printer_url(request: pytest.FixtureRequest) -> str | None:
    """The kiosks' printer in the app's settings: none, unless a test asks for the ``running``
    one or a ``dead`` one."""
    kind = getattr(request, "param", None)
    if kind == "running":
        return request.getfixturevalue("printer").url
    if kind == "dead":
        return request.getfixturevalue("dead_printer_url")
    return None


@pytest.fixture
def settings(settings, printer_url):
    """The app's settings, with the kiosks' printer of each test."""

    def make(database_url):
        return dataclasses.replace(settings(database_url), kiosk_printer_url=printer_url)

    return make


@pytest.fixture
def ticket(client, make_branch, make_token):
    make_branch()
    make_branch("giza-traffic")
    response = client.post(
        "/api/v1/branches/cairo-civil/tickets",
        json={"service": "id-card"},
        headers=make_token("kiosk"),
    )
    assert response.status_code == 201, response.json
    return response.json


def _print(client, ticket, branch="cairo-civil"):
    return client.post(f"/kiosk/{branch}/tickets/{ticket['token']}/print")


@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
def test_the_kiosk_prints_a_ticket(client, ticket, printer):
    response = _print(client, ticket)
    assert response.status_code == 200, response.json
    assert response.json == {"printed": True, "number": ticket["number"]}
    job = printer.job()
    assert ticket["number"].encode() in job
    assert read(job).qr_data == [ticket["status_url"].encode()]


def test_without_a_printer_the_kiosk_hears_why(client, ticket):
    response = _print(client, ticket)
    assert response.status_code == 503
    assert response.json["error"] == "printer_problem"
    assert "no ticket printer is configured" in response.json["message"]
    # The ticket itself is untouched: its page works without paper.
    assert client.get(f"/t/{ticket['token']}").status_code == 200


@pytest.mark.parametrize("printer_url", ["dead"], indirect=True)
def test_a_dead_printer_is_a_503_with_a_clear_message(client, ticket):
    response = _print(client, ticket)
    assert response.status_code == 503
    assert response.json["error"] == "printer_problem"
    assert "connection refused" in response.json["message"]
    assert ticket["number"] in response.json["message"]


@pytest.mark.parametrize("branch", ["giza-traffic", "no-such-branch"])
def test_another_branchs_address_prints_nothing(client, ticket, branch):
    response = _print(client, ticket, branch=branch)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_a_forged_token_prints_nothing(client, ticket):
    response = client.post("/kiosk/cairo-civil/tickets/forged-token-forged-token/print")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
