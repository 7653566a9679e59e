"""A fresh model registry for a benchmark: a SQLite file and a cache under one folder, and its settings."""

from __future__ import annotations

import os
from pathlib import Path

from jobqueue.database import migrate
from jobqueue.settings import Settings
from models.store import ModelStore


def registry_env(root: Path) -> dict[str, str]:
    """The environment that points processes at the registry kept under ``root``."""
    return {"DATABASE_URL": f"sqlite:///{root / 'registry.sqlite'}", "MODEL_DIR": str(root / "cache")}


def fresh_registry(root: Path) -> ModelStore:
    """The (migrated) store kept under ``root``."""
    settings = Settings.from_env(registry_env(root))
    migrate(settings)
    return ModelStore.for_settings(settings)


def service_env(root: Path, redis_url: str) -> dict[str, str]:
    """This environment plus what a benchmark's service processes share: Redis, the registry, quiet logs."""
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        **registry_env(root),
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
    }
