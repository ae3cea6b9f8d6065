"""tickets: today's free time offered after an outage ended

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 19:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import queue_app.db

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("offer_until", queue_app.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("offer_until")
