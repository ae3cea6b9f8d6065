"""outage_reports.reporter_person_id: a signed-in person's reports count once, as a token's do

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 23:55:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outage_reports") as batch_op:
        batch_op.add_column(sa.Column("reporter_person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outage_reports_reporter_person_id_people"),
            "people",
            ["reporter_person_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outage_reports") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outage_reports_reporter_person_id_people"), type_="foreignkey"
        )
        batch_op.drop_column("reporter_person_id")
