"""messages.lane (priority lanes, backfilled from the event; ix_messages_due by lane), send_buckets

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 00:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# queue_app.message_lanes.LANE_OF_KIND as it stood for this revision (a migration does not
# follow later code): kinds of lane 0 and 2; every other kind is lane 1.
NOW_KINDS = ("called", "your_turn", "turn_near")
BULK_KINDS = ("rescheduled", "no_slot", "system_back")


def _kind_is(kinds: Sequence[str]) -> str:
    return " OR ".join(f"event = '{k}' OR event LIKE '{k}:%'" for k in kinds)


def upgrade() -> None:
    op.drop_index("ix_messages_due", table_name="messages")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column("lane", sa.SmallInteger(), server_default="1", nullable=False)
        )
    op.execute(
        f"UPDATE messages SET lane = CASE WHEN {_kind_is(NOW_KINDS)} THEN 0 "
        f"WHEN {_kind_is(BULK_KINDS)} THEN 2 ELSE 1 END"
    )
    op.create_index(
        "ix_messages_due", "messages", ["status", "lane", "urgency", "next_attempt_at"]
    )
    op.create_table(
        "send_buckets",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "sender", name=op.f("pk_send_buckets")),
    )


def downgrade() -> None:
    op.drop_table("send_buckets")
    op.drop_index("ix_messages_due", table_name="messages")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("lane")
    op.create_index("ix_messages_due", "messages", ["status", "next_attempt_at", "urgency"])
