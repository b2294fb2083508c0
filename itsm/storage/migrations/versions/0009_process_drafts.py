"""process drafts: the designer's saved work per process; each version keeps its scenarios

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-22 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import itsm.storage.tables

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("process_definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scenarios_json", sa.Text(), nullable=True))
    op.create_table(
        "process_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("dmn_json", sa.Text(), nullable=False),
        sa.Column("forms_json", sa.Text(), nullable=False),
        sa.Column("scenarios_json", sa.Text(), nullable=True),
        sa.Column("saved_by", sa.String(length=120), nullable=False),
        sa.Column("saved_at", itsm.storage.tables.UtcDateTime(), nullable=False),
        sa.Column("based_on_definition_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["based_on_definition_id"],
            ["process_definitions.id"],
            name=op.f("fk_process_drafts_based_on_definition_id_process_definitions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_drafts")),
        sa.UniqueConstraint("key", name=op.f("uq_process_drafts_key")),
    )


def downgrade() -> None:
    op.drop_table("process_drafts")
    with op.batch_alter_table("process_definitions", schema=None) as batch_op:
        batch_op.drop_column("scenarios_json")
