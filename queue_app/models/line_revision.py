from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from queue_app.db import Base


class LineRevision(Base):
    """A branch's line revision: a number that grows with every change to one of its tickets
    (see line_revision.py). Ticket pages use it to answer "nothing changed" without a lookup."""

    __tablename__ = "line_revisions"

    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(BigInteger, default=1)
