"""outage_reports: who reported (the token), so that reports count once per reporter

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 22:35:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outage_reports") as batch_op:
        batch_op.add_column(sa.Column("reporter_token_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outage_reports_reporter_token_id_api_tokens"),
            "api_tokens",
            ["reporter_token_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outage_reports") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outage_reports_reporter_token_id_api_tokens"), type_="foreignkey"
        )
        batch_op.drop_column("reporter_token_id")
