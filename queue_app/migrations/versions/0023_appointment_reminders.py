"""branches.reminder_evening, branches.reminder_morning: the times of the appointment reminders

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 02:40:00

"""

from collections.abc import Sequence
from datetime import time

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# queue_app.models.branches.DEFAULT_EVENING_REMINDER as it stood for this revision: the branches
# that exist get what a branch loaded now without ``reminders`` gets.
EVENING = time(19, 0)


def upgrade() -> None:
    with op.batch_alter_table("branches") as batch_op:
        batch_op.add_column(sa.Column("reminder_evening", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("reminder_morning", sa.Time(), nullable=True))
    # A bound value, so that each dialect stores the time its own way (SQLite as text).
    branches = sa.table("branches", sa.column("reminder_evening", sa.Time()))
    op.execute(branches.update().values(reminder_evening=EVENING))


def downgrade() -> None:
    with op.batch_alter_table("branches") as batch_op:
        batch_op.drop_column("reminder_morning")
        batch_op.drop_column("reminder_evening")
