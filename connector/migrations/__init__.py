"""Alembic migrations of the state store (run by ``leadsync.sync.state.open_store``)."""
