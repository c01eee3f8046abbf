"""Alembic environment: the connection comes from ``open_store`` (or alembic's own config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from leadsync.sync.tables import Base

config = context.config
target = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
