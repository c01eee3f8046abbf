"""decision_history: every change leadsync decided, per contact and field, and why

Appended by the sync loop in the transaction that commits the decisions; read by
``leadsync history``; pruned after ``state.history_days`` (``leadsync.sync.history``).

Revision ID: 0005_decision_history
Revises: 0004_routing_indexes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_decision_history"
down_revision = "0004_routing_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("contact_id", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=50), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("cause", sa.String(length=250), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_history")),
    )
    op.create_index("ix_decision_history_contact", "decision_history", ["connection", "contact_id", "at"])
    op.create_index("ix_decision_history_at", "decision_history", ["connection", "at"])


def downgrade() -> None:
    op.drop_index("ix_decision_history_at", table_name="decision_history")
    op.drop_index("ix_decision_history_contact", table_name="decision_history")
    op.drop_table("decision_history")
