"""Who calls an API route: a bearer token (kiosks, machines, scripts), or else a signed-in
person's session cookie with the page's CSRF header (the counter screen and the console)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from queue_app import access
from queue_app.errors import Forbidden
from queue_app.models import Role
from queue_app.web import sign_in
from queue_app.web.extensions import current_clock, db

# Either a token or a signed-in session (OpenAPI: alternatives are separate objects).
BEARER = [{"bearerAuth": []}, {"signedInSession": []}]


def requires_role(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Authenticate the bearer token and check its role; the branch is checked by the domain
    function, which knows which branch the request touches."""
    allowed = frozenset(roles)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = _caller()
            g.principal = principal
            try:
                principal.require(allowed)
            except Forbidden as refusal:
                # An audited handler records the refusal (api/auditing.py).
                refused = getattr(view, "audit_refused", None)
                if refused is not None:
                    refused(principal, args, kwargs, refusal)
                raise
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _caller() -> access.Principal:
    header = request.headers.get("Authorization")
    if header:
        return access.authenticate(db.session, current_clock(), header)
    return sign_in.api_principal()


def principal() -> access.Principal:
    return g.principal


def caller_if_any() -> access.Principal | None:
    """The principal of a request's bearer token, or None when it carries none (a public
    request). Raises Unauthorized for a token that is given but not valid."""
    header = request.headers.get("Authorization")
    if header:
        return access.authenticate(db.session, current_clock(), header)
    if request.cookies.get(sign_in.COOKIE) and sign_in.signed_in_person() is not None:
        return sign_in.api_principal()
    return None
