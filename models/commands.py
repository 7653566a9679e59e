"""What the models' command lines and training jobs share: the store of the settings, and pruning after a publish."""

from __future__ import annotations

import logging

import redis

from jobqueue.connections import create_redis
from jobqueue.pins import pinned_versions
from jobqueue.settings import Settings
from models.store import ModelStore

log = logging.getLogger(__name__)


def cli_store(settings: Settings) -> ModelStore:
    """The registry of DATABASE_URL, with this host's cache in MODEL_DIR."""
    return ModelStore.for_settings(settings)


def prune_after_publish(store: ModelStore, settings: Settings, client: redis.Redis | None = None) -> list[str]:
    """Keep each model's newest MODEL_VERSIONS_KEPT versions, the active one and those queued or running jobs pin.

    The pins are read from Redis; without Redis nothing is pruned (a version a
    waiting job needs must never go), and the next publish tries again.
    Returns what was removed, as "name version".
    """
    try:
        pinned = pinned_versions(client or create_redis(settings))
    except redis.RedisError as exc:
        log.warning("registry not pruned: Redis unreachable (%s); the next publish tries again", exc)
        return []
    removed = store.prune(settings.model_versions_kept, pinned)
    if removed:
        log.info("registry pruned: %s", ", ".join(f"{name} {version}" for name, version in removed))
    return [f"{name} {version}" for name, version in removed]
