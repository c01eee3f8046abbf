"""routing_indexes: the contacts at a company domain, and an owner's assignments by time

The sync loop no longer loads every contact into a routing index at the start of each run; it
asks the state store for the contacts routing looks at (``leadsync.sync.routing_store``).

Revision ID: 0004_routing_indexes
Revises: 0003_leases
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0004_routing_indexes"
down_revision = "0003_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contacts_domain", "contacts", ["connection", "domain"])
    op.create_index("ix_contacts_assigned", "contacts", ["connection", "owner_id", "assigned_at"])


def downgrade() -> None:
    op.drop_index("ix_contacts_assigned", table_name="contacts")
    op.drop_index("ix_contacts_domain", table_name="contacts")
