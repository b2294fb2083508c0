"""incidents: a failed automatic step on the instance (element, error, attempts, next retry)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-15 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import itsm.storage.tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_element", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("failed_since", itsm.storage.tables.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("next_retry_at", itsm.storage.tables.UtcDateTime(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_process_instances_status_retry"),
            ["status", "next_retry_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_instances_status_retry"))
        batch_op.drop_column("next_retry_at")
        batch_op.drop_column("failed_since")
        batch_op.drop_column("attempts")
        batch_op.drop_column("last_error")
        batch_op.drop_column("failed_element")
