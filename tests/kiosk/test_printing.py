"""Sending a ticket to a network printer: a real TCP server on 127.0.0.1 plays the printer."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from kiosk import printing
from kiosk.printing import NoPrinter, PrinterAddress, PrinterProblem, printer_address
from queue_app import kiosks
from queue_app.models import Branch
from queue_app.models.kiosks import Kiosk
from queue_app.web.extensions import db
from tests.helpers.escpos_reading import read
from tests.helpers.fake_printer import FakePrinter
from tests.helpers.slips import STATUS_URL, sample_slip

QR_COMMAND = b"\x1d(k"


@pytest.fixture
def printer() -> Iterator[FakePrinter]:
    server = FakePrinter().start()
    yield server
    server.stop()


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
    with pytest.raises(NoPrinter, match="no ticket printer is configured") as caught:
        printer_address(None)
    # A kind of printer problem, but one to print through the browser for, not to retry.
    assert isinstance(caught.value, PrinterProblem)
    assert (caught.value.code, caught.value.status) == ("no_printer", 409)


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


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3:9100", "it must start with tcp://"),
        ("tcp://:9100", "it names no host"),
        ("tcp://10.1.2.3:notaport", "the port is not a number from 1 to 65535"),
        ("tcp://10.1.2.3:0", "the port is not a number from 1 to 65535"),
        ("tcp://10.1.2.3:70000", "the port is not a number from 1 to 65535"),
        ("tcp://10.1.2.3?qr=maybe", "qr=maybe is not qr=native|image"),
        ("tcp://10.1.2.3?arabic=yes", "arabic=yes is not arabic=shape|printer"),
        ("tcp://10.1.2.3?colour=red&size=2", "unknown option colour, size"),
    ],
)
def test_a_wrong_address_says_what_is_wrong(url, reason):
    with pytest.raises(PrinterProblem) as caught:
        printer_address(url)
    assert f"({reason})" in caught.value.message


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
    """The kiosks' common printer in the app's settings (QUEUE_KIOSK_PRINTER_URL): none, unless
    a test asks for the ``running`` one or a ``dead`` one."""
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
def more_printers() -> Iterator[Callable[[], FakePrinter]]:
    """Printers of their own for the kiosks of a test, each a TCP server on 127.0.0.1."""
    started: list[FakePrinter] = []

    def start() -> FakePrinter:
        started.append(FakePrinter().start())
        return started[-1]

    yield start
    for server in started:
        server.stop()


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


@pytest.fixture
def enrolled_kiosk(app, clock, ticket):
    """The headers of a screen enrolled as a kiosk of the config file, as a technician does it:
    a kiosk row (what `queue-app load` writes), a code for it, the code typed on the screen."""

    def make(code: str, printer: str | None = None, branch: str = "cairo-civil") -> dict:
        branch_id = db.session.scalars(select(Branch.id).where(Branch.code == branch)).one()
        db.session.add(
            Kiosk(branch_id=branch_id, code=code, name_ar=code, name_en=code, printer_url=printer)
        )
        db.session.commit()
        made = kiosks.create_code(db.session, clock, branch, kiosk_code=code)
        enrolled = kiosks.enrol(db.session, clock, branch, made.code)
        return {"Authorization": f"Bearer {enrolled.token}"}

    return make


def _print(client, ticket, headers=None, branch="cairo-civil"):
    return client.post(f"/kiosk/{branch}/tickets/{ticket['token']}/print", headers=headers or {})


def _as_the_citizen_sees_it(client, ticket):
    response = client.get(f"/api/v1/tickets/{ticket['token']}")
    assert response.status_code == 200, response.json
    return response.json


def test_a_kiosk_prints_on_its_own_printer(client, ticket, enrolled_kiosk, more_printers):
    own = more_printers()
    hall_a = enrolled_kiosk("hall-a", f"{own.url}?profile=TM-T20II")
    response = _print(client, ticket, hall_a)
    assert response.status_code == 200, response.json
    assert response.json == {
        "printed": True,
        "number": ticket["number"],
        "kiosk": "hall-a",
        "printer": own.url.removeprefix("tcp://"),
    }
    job = own.job()
    assert ticket["number"].encode() in job
    assert QR_COMMAND in job
    read_back = read(job)
    assert read_back.qr_data == [ticket["status_url"].encode()]
    assert read_back.cuts == 1


@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
def test_each_kiosk_prints_on_its_printer_and_no_other(
    client, ticket, enrolled_kiosk, more_printers, printer
):
    printer_a, printer_b = more_printers(), more_printers()
    hall_a = enrolled_kiosk("hall-a", printer_a.url)
    hall_b = enrolled_kiosk("hall-b", f"{printer_b.url}?qr=image")
    assert _print(client, ticket, hall_b).status_code == 200
    assert _print(client, ticket, hall_a).status_code == 200
    # The address's options are the kiosk's too: hall B's printer gets the QR as a bitmap.
    job_b = printer_b.job()
    assert ticket["number"].encode() in job_b
    assert QR_COMMAND not in job_b
    assert QR_COMMAND in printer_a.job()
    for other in (printer_a, printer_b, printer):  # one slip each, none on the common printer
        assert other.jobs.empty()


@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
def test_a_kiosk_without_a_printer_uses_the_common_one(client, ticket, enrolled_kiosk, printer):
    hall_b = enrolled_kiosk("hall-b")
    response = _print(client, ticket, hall_b)
    assert response.status_code == 200, response.json
    assert response.json["kiosk"] == "hall-b"
    job = printer.job()
    assert ticket["number"].encode() in job
    assert read(job).qr_data == [ticket["status_url"].encode()]


@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
@pytest.mark.parametrize("role", ["kiosk", "staff", "manager", "admin"])
def test_tokens_of_no_kiosk_use_the_common_printer(client, ticket, make_token, printer, role):
    response = _print(client, ticket, make_token(role))
    assert response.status_code == 200, response.json
    assert response.json == {
        "printed": True,
        "number": ticket["number"],
        "kiosk": None,
        "printer": printer.url.removeprefix("tcp://"),
    }
    assert ticket["number"].encode() in printer.job()


@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer not-a-token"}])
@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
def test_without_a_token_nothing_is_printed(client, ticket, printer, headers):
    response = _print(client, ticket, headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert printer.jobs.empty()


@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
def test_another_branchs_token_prints_nothing(
    client, ticket, make_token, enrolled_kiosk, more_printers, printer
):
    giza_printer = more_printers()
    giza_kiosk = enrolled_kiosk("hall-a", giza_printer.url, branch="giza-traffic")
    for headers in (giza_kiosk, make_token("staff", "giza-traffic")):
        response = _print(client, ticket, headers)
        assert response.status_code == 403, response.json
        assert response.json["error"] == "forbidden"
        assert response.json["fields"] == {"branch": "giza-traffic"}
    # Nor through the other branch's address: the ticket is not that branch's.
    assert _print(client, ticket, giza_kiosk, branch="giza-traffic").status_code == 404
    assert giza_printer.jobs.empty()
    assert printer.jobs.empty()


def test_without_any_printer_the_kiosk_is_told_to_print_in_its_browser(
    client, ticket, enrolled_kiosk, make_token
):
    before = _as_the_citizen_sees_it(client, ticket)
    for headers, kiosk in ((enrolled_kiosk("hall-b"), "hall-b"), (make_token("kiosk"), None)):
        response = _print(client, ticket, headers)
        assert response.status_code == 409
        assert response.json["error"] == "no_printer"
        assert response.json["fields"] == {"kiosk": kiosk}
        assert "no ticket printer is configured" in response.json["message"]
        assert "browser" in response.json["message"]
    # The ticket itself is untouched: its page works without paper.
    assert _as_the_citizen_sees_it(client, ticket) == before
    assert client.get(f"/t/{ticket['token']}").status_code == 200


def test_a_kiosk_whose_printer_is_off_hears_why(client, ticket, enrolled_kiosk, dead_printer_url):
    before = _as_the_citizen_sees_it(client, ticket)
    hall_a = enrolled_kiosk("hall-a", dead_printer_url)
    response = _print(client, ticket, hall_a)
    assert response.status_code == 503
    assert response.json["error"] == "printer_problem"
    address = dead_printer_url.removeprefix("tcp://")
    assert response.json["message"] == (
        f"the ticket printer at {address} did not take ticket {ticket['number']}: "
        "connection refused"
    )
    assert response.json["fields"] == {"printer": address}
    assert _as_the_citizen_sees_it(client, ticket) == before


@pytest.mark.parametrize("printer_url", ["dead"], indirect=True)
def test_a_dead_common_printer_is_a_503_with_a_clear_message(client, ticket, make_token):
    response = _print(client, ticket, make_token("kiosk"))
    assert response.status_code == 503
    assert response.json["error"] == "printer_problem"
    assert "connection refused" in response.json["message"]
    assert ticket["number"] in response.json["message"]


@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
@pytest.mark.parametrize("branch", ["giza-traffic", "no-such-branch"])
def test_another_branchs_address_prints_nothing(client, ticket, make_token, printer, branch):
    response = _print(client, ticket, make_token("admin"), branch=branch)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert printer.jobs.empty()


def test_a_forged_token_prints_nothing(client, ticket, make_token):
    response = client.post(
        "/kiosk/cairo-civil/tickets/forged-token-forged-token/print", headers=make_token("kiosk")
    )
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


# --- which way the kiosk's screen prints ----------------------------------------------------


def _ask(client, headers=None, branch="cairo-civil"):
    return client.get(f"/kiosk/{branch}/printer", headers=headers or {})


def test_the_screen_learns_whether_its_kiosk_has_a_network_printer(
    client, ticket, enrolled_kiosk, make_token
):
    hall_a = enrolled_kiosk("hall-a", "tcp://127.0.0.1:9100")
    hall_b = enrolled_kiosk("hall-b")
    response = _ask(client, hall_a)
    assert response.status_code == 200, response.json
    assert response.json == {"kiosk": "hall-a", "network_printer": True}
    assert response.headers["Cache-Control"] == "no-store"
    assert _ask(client, hall_b).json == {"kiosk": "hall-b", "network_printer": False}
    assert _ask(client, make_token("kiosk")).json == {"kiosk": None, "network_printer": False}


@pytest.mark.parametrize("printer_url", ["running"], indirect=True)
def test_with_a_common_printer_every_kiosk_has_one(client, ticket, enrolled_kiosk, make_token):
    assert _ask(client, enrolled_kiosk("hall-b")).json == {
        "kiosk": "hall-b",
        "network_printer": True,
    }
    assert _ask(client, make_token("staff")).json == {"kiosk": None, "network_printer": True}


def test_asking_needs_a_token_of_the_branch(client, ticket, make_token):
    response = _ask(client)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    response = _ask(client, make_token("kiosk", "giza-traffic"))
    assert response.status_code == 403
    assert response.json["fields"] == {"branch": "giza-traffic"}
    response = _ask(client, make_token("admin"), branch="no-such-branch")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
