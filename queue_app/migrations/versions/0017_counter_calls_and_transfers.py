"""counters.calls (two devices at one counter) and tickets.for_counter_id (transfers, holds)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("counters") as batch:
        batch.add_column(sa.Column("calls", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("for_counter_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_tickets_for_counter_id_counters"),
            "counters",
            ["for_counter_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint(batch.f("fk_tickets_for_counter_id_counters"), type_="foreignkey")
        batch.drop_column("for_counter_id")
    with op.batch_alter_table("counters") as batch:
        batch.drop_column("calls")
