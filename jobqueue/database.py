"""The shared database: one SQLAlchemy engine per process, and its schema brought up to date by Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from jobqueue.settings import PROJECT_ROOT, Settings

MIGRATIONS = PROJECT_ROOT / "migrations"


def create_engine(settings: Settings) -> Engine:
    """An engine for ``settings.database``; connections open lazily, so build it after any fork."""
    url = sa.make_url(settings.database)
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Few connections per process: a web process polls one small row a second and reads artifacts
    # only when a version is new to its host; hosted plans allow 20 connections in all.
    return sa.create_engine(
        url, pool_size=1, max_overflow=2, pool_pre_ping=True, pool_recycle=300, connect_args={"connect_timeout": 5}
    )


def _sqlite_pragmas(connection: Any, _: object) -> None:
    # Readers never wait for the one writer (WAL), and a writer waits for another instead of failing.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(settings: Settings) -> None:
    """Bring the database's schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["settings"] = settings
    command.upgrade(config, "head")
