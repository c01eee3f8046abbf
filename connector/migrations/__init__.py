"""Alembic migrations of the state store (run by ``connector.sync.state.open_store``)."""
