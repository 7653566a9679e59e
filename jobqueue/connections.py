"""The Redis client every process uses, tuned to fail fast when the server is gone."""

from __future__ import annotations

from typing import Any

import redis

from jobqueue.settings import Settings


def create_redis(settings: Settings) -> redis.Redis:
    """A pooled, thread-safe client; connection errors surface within the connect timeout."""
    return redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        socket_timeout=settings.redis_socket_timeout_s,
        health_check_interval=10,
        **tls_options(settings),
    )


def tls_options(settings: Settings) -> dict[str, Any]:
    """redis-py's certificate options for a ``rediss://`` URL (nothing for ``redis://``).

    Heroku's Redis presents a self-signed certificate: REDIS_TLS_VERIFY=0 accepts
    it (the traffic is still encrypted); REDIS_TLS_CA_FILE checks against a CA.
    """
    if not settings.redis_url.startswith("rediss://"):
        return {}
    options: dict[str, Any] = {"ssl_cert_reqs": "required" if settings.redis_tls_verify else "none"}
    if settings.redis_tls_ca_file:
        options["ssl_ca_certs"] = settings.redis_tls_ca_file
    return options
