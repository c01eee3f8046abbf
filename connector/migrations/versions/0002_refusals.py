"""refusals: the rules that last decided each connection, and a cause on each dead letter

Revision ID: 0002_refusals
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_refusals"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rules_applied",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connection", name=op.f("pk_rules_applied")),
    )
    # batch mode: SQLite cannot ALTER TABLE ... ADD a column with everything PostgreSQL can
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cause", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_column("cause")
    op.drop_table("rules_applied")
