"""Accounts of the people who sign in (staff, managers, admins), their passwords, second factor
and signed-in sessions. No request here: the sign-in pages and the CLI call these functions.

Rules:
- Passwords are hashed with argon2id (argon2-cffi); at least ``MIN_PASSWORD_LENGTH`` characters.
- ``LOCK_AFTER`` wrong passwords in a row, from any address, lock the account for
  ``LOCK_MINUTES``; the web layer also limits attempts per address (web/sign_in.py).
- A session ends after ``IDLE`` without a request, after ``LONGEST`` in any case, on sign-out,
  and for every session of a person who is disabled or whose password is reset.
- With a second factor (TOTP, RFC 6238), a new session opens nothing until a code is given; a
  code is accepted once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from queue_app import audit
from queue_app.access import Principal
from queue_app.clock import Clock
from queue_app.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    QueueError,
    StateConflict,
    Unauthorized,
)
from queue_app.models import AuditEvent, Branch, Person, Role, SignedInSession

MIN_PASSWORD_LENGTH = 10
LOCK_AFTER = 5
LOCK_MINUTES = 15
IDLE = timedelta(hours=2)  # a counter may stand quiet over a long lunch; not longer
LONGEST = timedelta(hours=12)  # one working day
# Writing "last seen" on every request would make every page a write.
SEEN_EVERY = timedelta(minutes=1)
PEOPLE_ROLES = (Role.STAFF, Role.MANAGER, Role.ADMIN)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
TOTP_ISSUER = "Queue"

_hasher = PasswordHasher()


class AccountLocked(QueueError):
    """Too many wrong passwords in a row: the account waits ``LOCK_MINUTES``."""

    code, status = "account_locked", 429


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            password=[f"at least {MIN_PASSWORD_LENGTH} characters"],
        )
    if len(password) > 512:
        raise InvalidInput("a password is at most 512 characters", password=["too long"])


def normalise_username(username: str) -> str:
    return username.strip().lower()


def find_person(session: Session, username: str) -> Person:
    """Raises NotFound."""
    person = session.scalar(select(Person).where(Person.username == normalise_username(username)))
    if person is None:
        raise NotFound(f"no account {username!r}", username=username)
    return person


def create_person(
    session: Session,
    clock: Clock,
    username: str,
    *,
    role: str,
    branch_codes: Sequence[str],
    password: str,
    display_name: str | None = None,
) -> Person:
    """Add an account and commit. Staff and managers need at least one branch; an admin none.

    Raises InvalidInput, NotFound (a branch), StateConflict (the name is taken).
    """
    name = normalise_username(username)
    if not USERNAME.match(name):
        raise InvalidInput(
            f"{username!r} cannot be a user name: 2 to 64 letters a-z, digits, '.', '_' or '-'",
            username=["2-64 characters: a-z 0-9 . _ -"],
        )
    try:
        parsed_role = Role(role)
    except ValueError:
        parsed_role = None
    if parsed_role not in PEOPLE_ROLES:
        raise InvalidInput(
            f"a person is staff, manager or admin, not {role!r}",
            role=["staff, manager or admin"],
        )
    assert parsed_role is not None
    branches = _branches(session, branch_codes)
    if parsed_role == Role.ADMIN and branches:
        raise InvalidInput("an admin acts for all branches", branch=["leave it out"])
    if parsed_role != Role.ADMIN and not branches:
        raise InvalidInput(f"a {role} account needs a branch", branch=["required"])
    _check_password(password)
    if session.scalar(select(Person.id).where(Person.username == name)) is not None:
        raise StateConflict(f"the user name {name!r} is taken", username=name)
    person = Person(
        username=name,
        display_name=(display_name or name).strip()[:200] or name,
        role=parsed_role,
        password_hash=_hasher.hash(password),
        created_at=clock.now(),
        branches=branches,
    )
    session.add(person)
    session.commit()
    return person


def _branches(session: Session, codes: Sequence[str]) -> list[Branch]:
    found: list[Branch] = []
    for code in dict.fromkeys(codes):
        branch = session.scalar(select(Branch).where(Branch.code == code))
        if branch is None:
            raise NotFound(f"no branch {code!r}", branch=code)
        found.append(branch)
    return found


def _end_sessions(session: Session, person: Person, now: datetime) -> int:
    result = session.execute(
        update(SignedInSession)
        .where(SignedInSession.person_id == person.id, SignedInSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_disabled(session: Session, clock: Clock, username: str, disabled: bool) -> Person:
    """Disable (ending every session at once) or enable an account, and commit. Raises NotFound."""
    person = find_person(session, username)
    now = clock.now()
    if disabled:
        if person.disabled_at is None:
            person.disabled_at = now
        _end_sessions(session, person, now)
    else:
        person.disabled_at = None
        person.failed_sign_ins = 0
        person.locked_until = None
    session.commit()
    return person


def reset_password(
    session: Session, clock: Clock, username: str, password: str | None = None
) -> str:
    """Give an account a new password (a generated one unless given), end its sessions, lift a
    lock, and commit. Return the password. Raises NotFound, InvalidInput."""
    person = find_person(session, username)
    new = password if password is not None else generate_password()
    _check_password(new)
    person.password_hash = _hasher.hash(new)
    person.failed_sign_ins = 0
    person.locked_until = None
    _end_sessions(session, person, clock.now())
    session.commit()
    return new


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def set_second_factor(session: Session, username: str, on: bool) -> str | None:
    """Turn TOTP on (return the provisioning URI for an authenticator app) or off, and commit.

    Raises NotFound, InvalidInput (staff accounts: counters are shared desks; the issue asks
    the second factor of managers and admins)."""
    person = find_person(session, username)
    if not on:
        person.totp_secret = None
        person.totp_last_step = None
        session.commit()
        return None
    if person.role == Role.STAFF:
        raise InvalidInput(
            "the second factor is for managers and admins", username=["not a manager or admin"]
        )
    person.totp_secret = pyotp.random_base32()
    person.totp_last_step = None
    session.commit()
    return pyotp.TOTP(person.totp_secret).provisioning_uri(
        name=person.username, issuer_name=TOTP_ISSUER
    )


@dataclass(frozen=True)
class SignedIn:
    """A new session: the cookie's value (in clear, only now) and whether a code is still due."""

    token: str
    needs_code: bool
    role: Role
    branch_code: str | None  # the first of their branches, where they land


WRONG = "wrong user name or password"


def sign_in(
    session: Session,
    clock: Clock,
    username: str,
    password: str,
    *,
    address: str | None = None,
    user_agent: str | None = None,
) -> SignedIn:
    """Check a password and open a new session (a new token every time, so a token planted
    before sign-in is worth nothing), and commit.

    Raises Unauthorized (the same words whether the name or the password is wrong),
    AccountLocked.
    """
    now = clock.now()
    person = session.scalar(select(Person).where(Person.username == normalise_username(username)))
    if person is None:
        # Spend the time a real check takes, so timing does not tell which names exist.
        _verify(_DUMMY_HASH, password)
        raise Unauthorized(WRONG)
    if person.locked_until is not None and person.locked_until > now:
        wait = max(1, int((person.locked_until - now).total_seconds() // 60) + 1)
        raise AccountLocked(
            f"too many wrong passwords: try again in {wait} minutes", retry_after=wait * 60
        )
    if not _verify(person.password_hash, password):
        person.failed_sign_ins += 1
        note = "wrong password"
        if person.failed_sign_ins >= LOCK_AFTER:
            person.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            person.failed_sign_ins = 0
            note = f"wrong password; locked for {LOCK_MINUTES} minutes"
        session.add(
            _record(clock, person, "person.sign_in", audit.REFUSED, note, address, user_agent)
        )
        session.commit()
        raise Unauthorized(WRONG)
    if person.disabled_at is not None:
        session.add(
            _record(clock, person, "person.sign_in", audit.REFUSED, "disabled", address, user_agent)
        )
        session.commit()
        raise Forbidden("this account is disabled; ask your administrator")
    if _hasher.check_needs_rehash(person.password_hash):
        person.password_hash = _hasher.hash(password)
    person.failed_sign_ins = 0
    person.locked_until = None
    raw = secrets.token_urlsafe(32)
    session.add(
        SignedInSession(
            token_hash=_hash(raw),
            person_id=person.id,
            created_at=now,
            last_seen_at=now,
            needs_code=person.totp_secret is not None,
            address=(address or "")[:64] or None,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    session.add(_record(clock, person, "person.sign_in", audit.DONE, None, address, user_agent))
    session.commit()
    return SignedIn(
        token=raw,
        needs_code=person.totp_secret is not None,
        role=person.role,
        branch_code=person.branches[0].code if person.branches else None,
    )


def _record(
    clock: Clock,
    person: Person,
    action: str,
    outcome: str,
    note: str | None,
    address: str | None,
    user_agent: str | None,
) -> AuditEvent:
    """The audit trail's record of a sign-in or sign-out, under the person's first branch (so
    that its managers see it)."""
    return audit.signing_in(
        clock,
        person_id=person.id,
        name=person.display_name,
        role=person.role.value,
        branch_id=person.branches[0].id if person.branches else None,
        action=action,
        outcome=outcome,
        note=note,
        address=address,
        user_agent=user_agent,
    )


def _verify(encoded: str, password: str) -> bool:
    try:
        return _hasher.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def give_code(session: Session, clock: Clock, token: str | None, code: str) -> None:
    """Complete a sign-in with the authenticator's code, and commit. A wrong code counts as a
    wrong password (the lock applies). Raises Unauthorized, AccountLocked."""
    now = clock.now()
    found = _live_session(session, now, token)
    if found is None:
        raise Unauthorized("the sign-in expired; start again")
    person = found.person
    if not found.needs_code or person.totp_secret is None:
        return
    if person.locked_until is not None and person.locked_until > now:
        raise AccountLocked("too many wrong codes: try again later")
    totp = pyotp.TOTP(person.totp_secret)
    step = _matching_step(totp, code.strip(), now)
    if step is None or (person.totp_last_step is not None and step <= person.totp_last_step):
        person.failed_sign_ins += 1
        if person.failed_sign_ins >= LOCK_AFTER:
            person.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            person.failed_sign_ins = 0
            found.ended_at = now
        session.commit()
        raise Unauthorized("wrong or already used code")
    person.totp_last_step = step
    person.failed_sign_ins = 0
    found.needs_code = False
    session.commit()


def _matching_step(totp: pyotp.TOTP, code: str, now: datetime) -> int | None:
    """The time step a code belongs to, allowing one step of clock drift either way."""
    if not code.isdigit():
        return None
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def current_code(secret: str, now: datetime) -> str:
    """The code an authenticator app would show now (for tests and the CLI's check)."""
    return pyotp.TOTP(secret).at(now)


def _live_session(session: Session, now: datetime, token: str | None) -> SignedInSession | None:
    if not token:
        return None
    found = session.scalar(
        select(SignedInSession).where(SignedInSession.token_hash == _hash(token))
    )
    if found is None or found.ended_at is not None:
        return None
    if now - found.last_seen_at > IDLE or now - found.created_at > LONGEST:
        return None
    if found.person.disabled_at is not None:
        return None
    return found


def principal_of(session: Session, clock: Clock, token: str | None) -> Principal | None:
    """The person behind a session cookie, or None when there is no live, complete session.
    Notes the request as the session's last activity (at most once a minute)."""
    now = clock.now()
    found = _live_session(session, now, token)
    if found is None or found.needs_code:
        return None
    if now - found.last_seen_at >= SEEN_EVERY:
        found.last_seen_at = now
        session.commit()
    person = found.person
    branches = person.branches
    first = branches[0] if branches else None
    return Principal(
        role=person.role,
        branch_id=first.id if first else None,
        branch_code=first.code if first else None,
        branch_ids=frozenset(b.id for b in branches),
        person_id=person.id,
        name=person.display_name,
    )


def waiting_for_code(session: Session, clock: Clock, token: str | None) -> bool:
    found = _live_session(session, clock.now(), token)
    return found is not None and found.needs_code


def sign_out(
    session: Session,
    clock: Clock,
    token: str | None,
    *,
    address: str | None = None,
    user_agent: str | None = None,
) -> None:
    """End the session, and commit; nothing happens for a session that is gone already."""
    if not token:
        return
    found = session.scalar(
        select(SignedInSession).where(
            SignedInSession.token_hash == _hash(token), SignedInSession.ended_at.is_(None)
        )
    )
    if found is None:
        return
    found.ended_at = clock.now()
    session.add(
        _record(clock, found.person, "person.sign_out", audit.DONE, None, address, user_agent)
    )
    session.commit()


@dataclass(frozen=True)
class Account:
    """One account as `queue-app user list` shows it."""

    username: str
    display_name: str
    role: Role
    branch_codes: tuple[str, ...]
    second_factor: bool
    state: str  # active, disabled, locked


def list_people(session: Session, clock: Clock) -> list[Account]:
    now = clock.now()
    accounts = []
    for person in session.scalars(select(Person).order_by(Person.username)):
        if person.disabled_at is not None:
            state = "disabled"
        elif person.locked_until is not None and person.locked_until > now:
            state = "locked"
        else:
            state = "active"
        accounts.append(
            Account(
                username=person.username,
                display_name=person.display_name,
                role=person.role,
                branch_codes=tuple(b.code for b in person.branches),
                second_factor=person.totp_secret is not None,
                state=state,
            )
        )
    return accounts
