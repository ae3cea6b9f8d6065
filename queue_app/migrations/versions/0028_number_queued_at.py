"""ticket_number_sequences.last_queued_at: the place in line of the last number given

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 09:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, nothing to fill: the next number taken sets it (numbering.take_number).
    with op.batch_alter_table("ticket_number_sequences") as batch:
        batch.add_column(sa.Column("last_queued_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_number_sequences") as batch:
        batch.drop_column("last_queued_at")
