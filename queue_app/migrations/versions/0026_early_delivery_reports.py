"""early_delivery_reports: status callbacks that came before their send was recorded

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-07 02:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "early_delivery_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_delivery_reports")),
    )
    op.create_index(
        op.f("ix_early_delivery_reports_provider_sid"),
        "early_delivery_reports",
        ["provider_sid"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_early_delivery_reports_provider_sid"), table_name="early_delivery_reports"
    )
    op.drop_table("early_delivery_reports")
