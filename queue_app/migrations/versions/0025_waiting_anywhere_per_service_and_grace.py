"""waiting anywhere per service (turn_near_minutes, turn_near_people), branches.late_grace_minutes,
tickets.came_back_at

Revision ID: 0025
Revises: 0024 (given 0022; follows main's head 0024 since merging main)
Create Date: 2026-12-07 02:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import queue_app.db

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("turn_near_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("turn_near_people", sa.Integer(), nullable=True))
    with op.batch_alter_table("branches") as batch:
        batch.add_column(
            sa.Column("late_grace_minutes", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("came_back_at", queue_app.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("came_back_at")
    with op.batch_alter_table("branches") as batch:
        batch.drop_column("late_grace_minutes")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("turn_near_people")
        batch.drop_column("turn_near_minutes")
