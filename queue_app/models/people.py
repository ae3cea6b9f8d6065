"""People who sign in: counter staff, branch managers and admins, each with their own account.

Kiosks and machines keep role tokens (models/tokens.py); a person never shares a credential."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from queue_app.db import Base, UTCDateTime, str_enum
from queue_app.models.branches import Branch
from queue_app.models.tokens import Role

person_branches = Table(
    "person_branches",
    Base.metadata,
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    Column("branch_id", ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True),
)


class Person(Base):
    """An account. Staff and managers act for the branches listed; an admin for all."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept lower case, so "Ahmed" and "ahmed" are one account.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    # An argon2id hash (argon2-cffi's encoded form, with its own salt and parameters).
    password_hash: Mapped[str] = mapped_column(String(200))
    # Base32 TOTP secret when the second factor is on (managers and admins may turn it on).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # A code is accepted once: the time step of the last one used.
    totp_last_step: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Wrong passwords in a row, from any address, and until when the account refuses sign-in.
    failed_sign_ins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    branches: Mapped[list[Branch]] = relationship(secondary=person_branches, order_by=Branch.code)


class SignedInSession(Base):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is kept here,
    so signing out, disabling a person or resetting a password ends it at once."""

    __tablename__ = "signed_in_sessions"
    __table_args__ = (
        Index("ix_signed_in_sessions_person", "person_id", "ended_at"),
        Index("ix_signed_in_sessions_token", "token_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Until the second factor is given, the session opens nothing but the code page.
    needs_code: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    person: Mapped[Person] = relationship()
