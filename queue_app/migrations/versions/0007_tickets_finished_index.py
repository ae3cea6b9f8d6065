"""tickets: index of a service's finished tickets, for its measured pace

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 18:50:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_finished", "tickets", ["service_id", "finished_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tickets_finished", table_name="tickets")
