"""branches: walk-in tickets before the opening, and the "your turn is near" text

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("branches") as batch:
        batch.add_column(
            sa.Column("early_tickets_minutes", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("turn_near_minutes", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("turn_near_minutes")
        batch.drop_column("early_tickets_minutes")
