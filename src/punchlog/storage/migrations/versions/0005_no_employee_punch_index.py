"""no per-employee punch index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 19:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("punches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_punches_employee_id_punched_at"))


def downgrade() -> None:
    with op.batch_alter_table("punches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_punches_employee_id_punched_at"),
            ["employee_id", "punched_at"],
            unique=False,
        )
