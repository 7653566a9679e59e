"""The Redis client every process uses, tuned to fail fast when the server is gone."""

from __future__ import annotations

import redis

from jobqueue.settings import Settings


def create_redis(settings: Settings) -> redis.Redis:
    """A pooled, thread-safe client; connection errors surface within the connect timeout."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        socket_timeout=settings.redis_socket_timeout_s,
        health_check_interval=10,
    )
