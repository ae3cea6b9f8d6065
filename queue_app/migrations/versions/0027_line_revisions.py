"""line_revisions: a number per branch that grows with every change to one of its tickets

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-07 06:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No rows to fill: a branch's first ticket change inserts its row (line_revision.bump).
    op.create_table(
        "line_revisions",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_line_revisions_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("branch_id", name=op.f("pk_line_revisions")),
    )


def downgrade() -> None:
    op.drop_table("line_revisions")
