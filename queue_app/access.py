"""API tokens and what each role may touch."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app import directory
from queue_app.clock import Clock
from queue_app.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from queue_app.models import ApiToken, Branch, Role

STAFF_AND_UP = frozenset({Role.STAFF, Role.MANAGER, Role.ADMIN})
MANAGER_AND_UP = frozenset({Role.MANAGER, Role.ADMIN})


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, and for every role but admin, the one branch it acts for."""

    role: Role
    branch_id: int | None
    branch_code: str | None
    kiosk_id: int | None = None  # a kiosk token enrolled for one kiosk of the config file

    def require(self, roles: frozenset[Role]) -> None:
        if self.role not in roles:
            raise Forbidden(
                f"a {self.role.value} token cannot do this",
                needs=sorted(r.value for r in roles),
            )

    def require_branch(self, branch_id: int) -> None:
        """Raises Forbidden unless this principal may act for the branch."""
        if self.role != Role.ADMIN and self.branch_id != branch_id:
            raise Forbidden("this token belongs to another branch", branch=self.branch_code)


def create_token(
    session: Session,
    clock: Clock,
    role: str,
    branch_code: str | None,
    *,
    label: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Make a token and return it in clear; only its hash is stored. ``expires_at``: when it
    stops working (None: when revoked).

    Raises InvalidInput, NotFound.
    """
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInput("the expiry needs a time zone", expires_at=["give an offset"])
        if expires_at <= clock.now():
            raise InvalidInput(
                f"the expiry {expires_at.isoformat()} is not in the future",
                expires_at=["must be later than now"],
            )
    try:
        parsed_role = Role(role)
    except ValueError:
        raise InvalidInput(
            f"unknown role {role!r}", role=[f"one of {', '.join(r.value for r in Role)}"]
        ) from None
    branch = None
    if parsed_role == Role.ADMIN:
        if branch_code:
            raise InvalidInput("an admin token is for all branches", branch=["leave it out"])
    else:
        if not branch_code:
            raise InvalidInput(f"a {role} token needs a branch", branch=["required"])
        branch = session.scalar(select(Branch).where(Branch.code == branch_code))
        if branch is None:
            raise NotFound(f"no branch {branch_code!r}", branch=branch_code)
    raw, _ = add_token(
        session,
        clock,
        parsed_role,
        branch.id if branch else None,
        label=label,
        expires_at=expires_at,
    )
    session.commit()
    return raw


def add_token(
    session: Session,
    clock: Clock,
    role: Role,
    branch_id: int | None,
    *,
    label: str | None = None,
    kiosk_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, ApiToken]:
    """Add a new token to the caller's transaction, which commits it; return it in clear (the
    only time it exists so) with its row. ``kiosk_id``: the kiosk a kiosk token stands for."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=hash_token(raw),
        role=role,
        branch_id=branch_id,
        label=label,
        created_at=clock.now(),
        kiosk_id=kiosk_id,
        expires_at=expires_at,
    )
    session.add(token)
    return raw, token


def authenticate(session: Session, clock: Clock, authorization: str | None) -> Principal:
    """Turn an ``Authorization: Bearer ...`` header into a Principal, if its token is neither
    revoked nor expired at ``clock.now()``. Raises Unauthorized."""
    if not authorization:
        raise Unauthorized("an Authorization: Bearer token is required")
    scheme, _, raw = authorization.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthorized("use Authorization: Bearer <token>")
    token = directory.current(session).tokens.get(hash_token(raw.strip()))
    if token is None:
        raise Unauthorized("unknown or revoked token")
    if token.expires_at is not None and token.expires_at <= clock.now():
        raise Unauthorized(
            f"this token expired at {token.expires_at.isoformat()}",
            token=["expired"],
            expired_at=token.expires_at.isoformat(),
        )
    return Principal(
        role=token.role,
        branch_id=token.branch_id,
        branch_code=token.branch_code,
        kiosk_id=token.kiosk_id,
    )
