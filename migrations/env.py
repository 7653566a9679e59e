"""Alembic's entry point: migrations run against the database of the service's settings."""

from __future__ import annotations

from alembic import context

from jobqueue.database import create_engine
from jobqueue.settings import Settings

settings = context.config.attributes.get("settings") or Settings.from_env()
engine = create_engine(settings)
try:
    with engine.begin() as connection:
        # Batch mode lets SQLite alter tables the way PostgreSQL can.
        context.configure(connection=connection, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
