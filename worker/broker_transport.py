"""kombu's Redis transport, reusing one redis-py client per connection pool instead of one per call.

kombu's Redis channel builds a fresh ``redis.Redis`` around its pool for every
unacked-bookkeeping write and every ack. ``Redis.__init__`` rebuilds redis-py's
table of ~165 response callbacks each time (redis/redis-py#3624), which was a
fifth of the fast worker's main-process CPU per message. A client holds no
state of its own beyond the pool it wraps, and redis-py clients are safe to
share between threads, so this channel keeps one per pool: a new pool (after a
reconnect or a fork) gets a new client.
"""
from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    """A kombu Redis channel whose synchronous client is built once per connection pool."""

    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            # The BRPOP/publish client, which kombu already caches per channel.
            return super()._create_client(asynchronous=True)
        pool, client = self.pool, self._shared_client
        if client is None or client.connection_pool is not pool:
            client = self._shared_client = super()._create_client()
        return client


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with the client-reusing channel."""

    Channel = Channel


def transport_for(broker_url: str) -> str | None:
    """This transport for plain ``redis://`` URLs; None (kombu's choice) for any other scheme.

    An explicit transport would hide the scheme from kombu, which reads ``rediss://``
    as "use TLS", so those URLs keep kombu's own transport.
    """
    return f"{__name__}:Transport" if broker_url.startswith("redis://") else None
