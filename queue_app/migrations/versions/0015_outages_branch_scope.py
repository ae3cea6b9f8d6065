"""outages.branch_id: an outage for one branch (its manager, its staff's reports) or, null, for
every branch (the health monitor, an admin)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OPEN_EVERYWHERE = "ended_at IS NULL AND branch_id IS NULL"
OPEN_AT_BRANCH = "ended_at IS NULL AND branch_id IS NOT NULL"


def upgrade() -> None:
    # Two outages of one system open at once (two requests racing before this rule): the later
    # ones end when they began, so that the index can be made; the first holds the pause.
    op.execute(
        """
        UPDATE outages SET ended_at = started_at, ended_by = 'merged'
        WHERE ended_at IS NULL AND EXISTS (
            SELECT 1 FROM outages AS first
            WHERE first.backend_id = outages.backend_id
              AND first.ended_at IS NULL
              AND first.id < outages.id
        )
        """
    )
    # Outages stored before keep a null branch: they were taken everywhere, as they paused.
    with op.batch_alter_table("outages") as batch_op:
        batch_op.add_column(sa.Column("branch_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outages_branch_id"), ["branch_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outages_branch_id_branches"),
            "branches",
            ["branch_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            "uq_outages_open_everywhere",
            ["backend_id"],
            unique=True,
            postgresql_where=sa.text(OPEN_EVERYWHERE),
            sqlite_where=sa.text(OPEN_EVERYWHERE),
        )
        batch_op.create_index(
            "uq_outages_open_at_branch",
            ["backend_id", "branch_id"],
            unique=True,
            postgresql_where=sa.text(OPEN_AT_BRANCH),
            sqlite_where=sa.text(OPEN_AT_BRANCH),
        )


def downgrade() -> None:
    with op.batch_alter_table("outages") as batch_op:
        batch_op.drop_index("uq_outages_open_at_branch")
        batch_op.drop_index("uq_outages_open_everywhere")
        batch_op.drop_constraint(batch_op.f("fk_outages_branch_id_branches"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outages_branch_id"))
        batch_op.drop_column("branch_id")
