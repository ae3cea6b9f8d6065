"""maintenance_windows: the same window (system, start, end) is stored once while not withdrawn

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Copies announced before this rule: keep the first, mark the later ones withdrawn when
    # they were announced, so that the index can be made (their moves were made by the first).
    op.execute(
        """
        UPDATE maintenance_windows SET cancelled_at = announced_at
        WHERE cancelled_at IS NULL AND EXISTS (
            SELECT 1 FROM maintenance_windows AS first
            WHERE first.backend_id = maintenance_windows.backend_id
              AND first.starts_at = maintenance_windows.starts_at
              AND first.ends_at = maintenance_windows.ends_at
              AND first.cancelled_at IS NULL
              AND first.id < maintenance_windows.id
        )
        """
    )
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.create_index(
            "uq_maintenance_windows_announced",
            ["backend_id", "starts_at", "ends_at"],
            unique=True,
            postgresql_where=sa.text("cancelled_at IS NULL"),
            sqlite_where=sa.text("cancelled_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("maintenance_windows") as batch:
        batch.drop_index("uq_maintenance_windows_announced")
