"""API tokens and what each role may touch."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from queue_app import directory
from queue_app.clock import Clock
from queue_app.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from queue_app.models import ApiToken, Branch, Role
from queue_app.models.kiosks import Kiosk

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
    # The token used: until staff sign in as themselves, the nearest thing to "who" (a staff
    # report counts once per token, however often it is sent).
    token_id: int | None = None
    token_label: str | None = None  # what `token create --label` said it is for
    # A signed-in person (people.py): every branch they act for, their account and name.
    branch_ids: frozenset[int] = frozenset()
    person_id: int | None = None
    name: str | None = None

    def acts_for(self, branch_id: int) -> bool:
        return (
            self.role == Role.ADMIN or branch_id == self.branch_id or branch_id in self.branch_ids
        )

    def require(self, roles: frozenset[Role]) -> None:
        if self.role not in roles:
            raise Forbidden(
                f"a {self.role.value} cannot do this",
                needs=sorted(r.value for r in roles),
            )

    def require_branch(self, branch_id: int) -> None:
        """Raises Forbidden unless this principal may act for the branch."""
        if not self.acts_for(branch_id):
            raise Forbidden(
                "this account or token belongs to another branch", branch=self.branch_code
            )


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


@dataclass(frozen=True)
class TokenListing:
    """One token as `queue-app token list` shows it: never the token, at most a fingerprint
    (the first characters of its hash, enough to tell two tokens apart in a log)."""

    id: int
    role: Role
    branch_code: str | None
    label: str | None
    kiosk_code: str | None
    fingerprint: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    state: str  # active, expired, revoked

    def as_json(self) -> dict[str, object]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "id": self.id,
            "role": self.role.value,
            "branch": self.branch_code,
            "label": self.label,
            "kiosk": self.kiosk_code,
            "fingerprint": self.fingerprint,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "state": self.state,
        }


FINGERPRINT_LENGTH = 8


def _state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def list_tokens(
    session: Session,
    clock: Clock,
    *,
    branch_code: str | None = None,
    role: str | None = None,
    include_inactive: bool = False,
) -> list[TokenListing]:
    """The tokens, oldest first; only those that still work unless ``include_inactive``.

    Raises InvalidInput (unknown role), NotFound (unknown branch).
    """
    now = clock.now()
    conditions: list[ColumnElement[bool]] = []
    if role is not None:
        try:
            conditions.append(ApiToken.role == Role(role))
        except ValueError:
            raise InvalidInput(
                f"unknown role {role!r}", role=[f"one of {', '.join(r.value for r in Role)}"]
            ) from None
    if branch_code is not None:
        branch = session.scalar(select(Branch).where(Branch.code == branch_code))
        if branch is None:
            raise NotFound(f"no branch {branch_code!r}", branch=branch_code)
        conditions.append(ApiToken.branch_id == branch.id)
    if not include_inactive:
        conditions.append(ApiToken.revoked_at.is_(None))
        conditions.append(or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
    return _listings(session, now, conditions)


def find_token(session: Session, clock: Clock, token_id: int) -> TokenListing:
    """One token, as listed, whatever its state. Raises NotFound."""
    found = _listings(session, clock.now(), [ApiToken.id == token_id])
    if not found:
        raise NotFound(f"no token with id {token_id}", id=token_id)
    return found[0]


def _listings(
    session: Session, now: datetime, conditions: list[ColumnElement[bool]]
) -> list[TokenListing]:
    rows = session.execute(
        select(ApiToken, Branch.code, Kiosk.code)
        .outerjoin(Branch, Branch.id == ApiToken.branch_id)
        .outerjoin(Kiosk, Kiosk.id == ApiToken.kiosk_id)
        .where(*conditions)
        .order_by(ApiToken.id)
    )
    return [
        TokenListing(
            id=token.id,
            role=token.role,
            branch_code=branch_code,
            label=token.label,
            kiosk_code=kiosk_code,
            fingerprint=token.token_hash[:FINGERPRINT_LENGTH],
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            state=_state(token, now),
        )
        for token, branch_code, kiosk_code in rows
    ]


def revoke_token(session: Session, clock: Clock, token_id: int) -> bool:
    """Revoke a token: it stops working at once in every process (the write gives the directory
    a new revision, directory.py). Return False when it was revoked already (nothing changes).

    Raises NotFound.
    """
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token with id {token_id}", id=token_id)
    if token.revoked_at is not None:
        return False
    token.revoked_at = clock.now()
    session.commit()
    return True


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
        token_id=token.id,
        token_label=token.label,
    )
