"""Who may open a manager's page.

Sign-in does not exist yet: until it does, a manager's page answers the same bearer tokens as the
API (a manager of the branch, or an admin), and a request without one gets the 401 page. When
sign-in lands, ``manager_signed_in`` is the one thing to swap: its replacement must put the
signed-in manager's ``Principal`` where ``signed_in_manager()`` finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from queue_app.access import MANAGER_AND_UP, Principal
from queue_app.api.auth import principal, requires_role

# Raises Unauthorized (401 page) without a valid token, Forbidden (403 page) for staff or a kiosk.
manager_signed_in: Callable[[Callable[..., Any]], Callable[..., Any]] = requires_role(
    *MANAGER_AND_UP
)


def signed_in_manager() -> Principal:
    return principal()
