"""Kiosk enrolment: a technician turns a touch screen into one branch's kiosk with a short code.

``queue-app kiosk enrol --branch B [--kiosk K]`` prints an eight-digit code; the kiosk page, opened
on the new screen, sends it to ``POST /kiosk/B/enrol`` and gets a kiosk token, which the screen
keeps in its own storage. With ``--kiosk``, the code and then the token stand for that kiosk of the
config file (``kiosks:`` of the branch), whose network printer prints the screen's tickets.

Nobody types or sees the token, so it can be long; the code is what a person types, so it is
short, and made safe by living briefly, working once and being tried only a few times:

- eight digits: 10^8 codes, typed on a numeric keypad without mistakes in the letters;
- valid for ``CODE_LIFETIME`` and only once (a conditional UPDATE decides between two screens);
- after ``MAX_FAILURES`` wrong, used or expired codes at a branch within ``FAILURE_WINDOW``,
  that branch's enrolment refuses every code until the window has passed. Guessing then gets at
  most 10 tries per quarter hour, 960 a day: about one chance in 100,000 of hitting a live code
  during its day. The price is that someone hammering a branch's page can make its technician
  wait up to a quarter of an hour; the answer says how long.

Codes are stored as SHA-256 hashes, as tokens are, so that a database dump or a screen of the
table shows no live code. A hash of an eight-digit code does not resist an offline search: the
short life and the single use are the defence there.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from queue_app import access, directory
from queue_app.clock import Clock
from queue_app.db import rowcount
from queue_app.directory import BranchInfo, KioskInfo
from queue_app.errors import (
    EnrolmentCodeExpired,
    EnrolmentCodeUsed,
    EnrolmentCodeWrong,
    InvalidInput,
    RateLimited,
)
from queue_app.models import EnrolmentFailure, KioskEnrolment, Role

CODE_DIGITS = 8
CODE_LIFETIME = timedelta(hours=24)
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)
# Failures older than this say nothing any more; they are deleted as new ones come.
FAILURE_MEMORY = timedelta(days=1)
DEFAULT_LABEL = "kiosk"

# A technician may type on an Arabic keyboard: Arabic-Indic and Persian digits count as digits.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
_SEPARATORS = str.maketrans("", "", " -\u00a0\u2009\u202f")


@dataclass(frozen=True)
class EnrolmentCode:
    code: str  # the digits, as the kiosk accepts them
    branch_code: str
    expires_at: datetime
    label: str
    kiosk_code: str | None = None

    @property
    def grouped(self) -> str:
        """``1234 5678``: easier to read out and to type."""
        half = CODE_DIGITS // 2
        return f"{self.code[:half]} {self.code[half:]}"


@dataclass(frozen=True)
class Enrolled:
    token: str  # in clear: the only time it exists so
    branch: BranchInfo
    label: str
    kiosk: KioskInfo | None = None


def normalise_code(raw: str) -> str:
    """The code's digits, whatever the keyboard and grouping. Raises InvalidInput."""
    digits = raw.translate(_DIGITS).translate(_SEPARATORS)
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidInput(
            f"an enrolment code has {CODE_DIGITS} digits",
            code=[f"{CODE_DIGITS} digits, as printed by queue-app kiosk enrol"],
        )
    return digits


def _hash(code: str) -> str:
    return access.hash_token(code)


def create_code(
    session: Session,
    clock: Clock,
    branch_code: str,
    *,
    label: str | None = None,
    kiosk_code: str | None = None,
) -> EnrolmentCode:
    """Make a one-time enrolment code for a kiosk of the branch; with ``kiosk_code``, for that
    kiosk of the config file. Raises NotFound (branch or kiosk); nothing is written then."""
    now = clock.now()
    branch = directory.current(session).branch(branch_code)
    kiosk = branch.kiosk(kiosk_code) if kiosk_code is not None else None
    if label is None and kiosk is not None:
        label = f"kiosk {kiosk.code}"
    live = select(KioskEnrolment.code_hash).where(
        KioskEnrolment.branch_id == branch.id,
        KioskEnrolment.used_at.is_(None),
        KioskEnrolment.expires_at > now,
    )
    taken = set(session.scalars(live))
    while True:  # two live codes of one branch must differ; a clash is one in millions
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if _hash(code) not in taken:
            break
    enrolment = KioskEnrolment(
        branch_id=branch.id,
        code_hash=_hash(code),
        label=label,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        kiosk_id=kiosk.id if kiosk else None,
    )
    session.add(enrolment)
    session.commit()
    return EnrolmentCode(
        code=code,
        branch_code=branch.code,
        expires_at=enrolment.expires_at,
        label=label or DEFAULT_LABEL,
        kiosk_code=kiosk.code if kiosk else None,
    )


def _check_not_locked(session: Session, branch: BranchInfo, now: datetime) -> None:
    recent = session.execute(
        select(func.count(), func.min(EnrolmentFailure.at)).where(
            EnrolmentFailure.branch_id == branch.id, EnrolmentFailure.at > now - FAILURE_WINDOW
        )
    ).one()
    count, oldest = recent
    if count >= MAX_FAILURES:
        retry_after = max(1, math.ceil((oldest + FAILURE_WINDOW - now).total_seconds()))
        raise RateLimited(
            f"too many wrong enrolment codes at {branch.code}; try again later",
            retry_after_seconds=retry_after,
        )


def _fail(session: Session, branch: BranchInfo, now: datetime, error: Exception) -> NoReturn:
    """Count the failed attempt (committed: it must outlive the refusal), then raise ``error``."""
    session.rollback()
    session.execute(
        delete(EnrolmentFailure).where(
            EnrolmentFailure.branch_id == branch.id, EnrolmentFailure.at < now - FAILURE_MEMORY
        )
    )
    session.add(EnrolmentFailure(branch_id=branch.id, at=now))
    session.commit()
    raise error


def enrol(session: Session, clock: Clock, branch_code: str, raw_code: str) -> Enrolled:
    """Exchange an enrolment code for a new kiosk token of the branch.

    Raises NotFound (branch), InvalidInput (not a code's shape; not counted as an attempt),
    RateLimited (too many failures lately), EnrolmentCodeWrong (also a code of another branch),
    EnrolmentCodeUsed, EnrolmentCodeExpired. A failure changes nothing but the failure count.
    """
    now = clock.now()
    branch = directory.current(session).branch(branch_code)
    code = normalise_code(raw_code)
    _check_not_locked(session, branch, now)
    candidates = session.scalars(
        select(KioskEnrolment)
        .where(KioskEnrolment.branch_id == branch.id, KioskEnrolment.code_hash == _hash(code))
        .order_by(KioskEnrolment.created_at.desc())
    ).all()
    live = [c for c in candidates if c.used_at is None and c.expires_at > now]
    if not live:
        if any(c.used_at is None for c in candidates):
            _fail(session, branch, now, EnrolmentCodeExpired("this enrolment code has expired"))
        if candidates:
            _fail(session, branch, now, EnrolmentCodeUsed("this enrolment code was already used"))
        _fail(session, branch, now, EnrolmentCodeWrong(f"no such enrolment code at {branch.code}"))
    enrolment = live[0]
    # Conditional: of two screens sending the same code at once, one wins, the other is told.
    won = rowcount(
        session.execute(
            update(KioskEnrolment)
            .where(KioskEnrolment.id == enrolment.id, KioskEnrolment.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if not won:
        _fail(session, branch, now, EnrolmentCodeUsed("this enrolment code was already used"))
    label = enrolment.label or DEFAULT_LABEL
    kiosk = branch.kiosk_by_id(enrolment.kiosk_id)
    raw, token = access.add_token(
        session, clock, Role.KIOSK, branch.id, label=label, kiosk_id=enrolment.kiosk_id
    )
    session.flush()
    session.execute(
        update(KioskEnrolment)
        .where(KioskEnrolment.id == enrolment.id)
        .values(token_id=token.id)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return Enrolled(token=raw, branch=branch, label=label, kiosk=kiosk)
