"""Fixtures of the SMS library's tests: a Twilio stand-in on loopback and gateways aimed at it.

No database and no app: ``sms/`` is a library of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sms.gateways import TwilioGateway
from tests.sms.openapi_contract import TwilioContract, spec_path
from tests.sms.twilio_server import FakeTwilio

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
SENDER = "+15005550006"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2


@pytest.fixture
def twilio_server() -> Iterator[FakeTwilio]:
    server = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def make_gateway(twilio_server: FakeTwilio) -> Iterator[Callable[..., TwilioGateway]]:
    """A Twilio gateway aimed at the stand-in; keyword arguments override its settings."""
    made: list[TwilioGateway] = []

    def make(**overrides: Any) -> TwilioGateway:
        settings: dict[str, Any] = {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_": SENDER,
            "api_base": twilio_server.url,
            "timeout": 5.0,
        }
        gateway = TwilioGateway(**(settings | overrides))
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture(scope="session")
def twilio_contract() -> TwilioContract:
    return TwilioContract(spec_path())
