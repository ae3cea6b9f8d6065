"""WhatsApp beside SMS: a branch's channels, a ticket's channel, a message's channel and its
fallback to SMS, an inbound message's channel

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-07 00:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _channel() -> sa.Column[str]:
    return sa.Column("channel", sa.String(length=10), server_default="sms", nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("branches") as batch_op:
        batch_op.add_column(
            sa.Column("channels", sa.String(length=40), server_default="sms", nullable=False)
        )
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.add_column(_channel())
    with op.batch_alter_table("inbound_sms") as batch_op:
        batch_op.add_column(_channel())
        batch_op.create_index(
            "ix_inbound_sms_whatsapp_window", ["phone", "channel", "received_at"]
        )
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(_channel())
        batch_op.add_column(sa.Column("fell_back_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("fallback_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("whatsapp_sid", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_messages_whatsapp_sid"), ["whatsapp_sid"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_messages_channel_known"), "channel IN ('sms', 'whatsapp')"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_messages_fallback_is_sms"), "fell_back_at IS NULL OR channel = 'sms'"
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_messages_fallback_is_sms"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_messages_channel_known"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_messages_whatsapp_sid"), type_="unique")
        batch_op.drop_column("whatsapp_sid")
        batch_op.drop_column("fallback_reason")
        batch_op.drop_column("fell_back_at")
        batch_op.drop_column("channel")
    with op.batch_alter_table("inbound_sms") as batch_op:
        batch_op.drop_index("ix_inbound_sms_whatsapp_window")
        batch_op.drop_column("channel")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_column("channel")
    with op.batch_alter_table("branches") as batch_op:
        batch_op.drop_column("channels")
