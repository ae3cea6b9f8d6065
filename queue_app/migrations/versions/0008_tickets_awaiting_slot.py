"""tickets: the move that found no free time for a ticket yet

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 19:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("awaiting_slot_for", sa.String(length=80), nullable=True))
        batch.create_index("ix_tickets_awaiting_slot_for", ["awaiting_slot_for"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_awaiting_slot_for")
        batch.drop_column("awaiting_slot_for")
