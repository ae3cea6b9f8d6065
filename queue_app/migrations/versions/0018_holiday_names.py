"""holidays: an optional name in Arabic and English, given in the manager's console

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 23:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("holidays") as batch_op:
        batch_op.add_column(sa.Column("name_ar", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holidays") as batch_op:
        batch_op.drop_column("name_en")
        batch_op.drop_column("name_ar")
