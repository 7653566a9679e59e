"""kombu's Redis transport, with one redis-py client per connection pool and acks sent in bulk.

kombu's Redis channel builds a fresh ``redis.Redis`` around its pool for every
unacked-bookkeeping write and every ack. ``Redis.__init__`` rebuilds redis-py's
table of ~165 response callbacks each time (redis/redis-py#3624), which was a
fifth of the fast worker's main-process CPU per message. A client holds no
state of its own beyond the pool it wraps, and redis-py clients are safe to
share between threads, so this channel keeps one per pool: a new pool (after a
reconnect or a fork) gets a new client, and a channel closing after kombu
forgot the broker's address restores its messages through the client it had.

kombu also acknowledges each message with a MULTI/EXEC round trip of its own.
The micro-batcher settles a whole batch at once, so its QoS can send that
batch's acks as one transaction (``acks_together``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual


class QoS(kombu_redis.QoS):
    """kombu's Redis ack emulation, able to send a run of acks in one round trip."""

    _ack_pipe: Any = None

    @contextmanager
    def acks_together(self) -> Iterator[None]:
        """Acks made inside the block reach Redis as one transaction when it ends.

        Until then those messages stay in the unacked set, which is the safe side:
        a crash in between redelivers them, and their jobs are already recorded.
        """
        if self._ack_pipe is not None:  # nested: the outermost block sends them
            yield
            return
        with self.pipe_or_acquire() as pipe:
            self._ack_pipe = pipe
            try:
                yield
            finally:
                self._ack_pipe = None
            pipe.execute()

    def ack(self, delivery_tag: str) -> None:
        if self._ack_pipe is None:
            super().ack(delivery_tag)
            return
        # A private kombu method that celery-types leaves out; tests/with_redis/test_broker_transport.py
        # pins what it does against kombu's own acks.
        self._remove_from_indices(delivery_tag, self._ack_pipe)  # type: ignore[attr-defined]
        virtual.QoS.ack(self, delivery_tag)  # kombu's prefetch bookkeeping, without its own round trip


class Channel(kombu_redis.Channel):
    """A kombu Redis channel whose synchronous client is built once per connection pool."""

    QoS = QoS
    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            # The BRPOP/publish client, which kombu already caches per channel.
            return super()._create_client(asynchronous=True)  # type: ignore[misc]  # private, see ack()
        client = self._shared_client
        if getattr(self, "_pool", None) is None and getattr(self.connection, "client", None) is None:
            # kombu's Connection dropped the transport's address (it does on losing Redis) while
            # this channel still holds messages to restore as it closes: building a pool now
            # raises AttributeError, which stops the worker. The client this channel had still
            # knows the address, and its pool reconnects if Redis is back.
            if client is None:
                raise redis.ConnectionError("the broker connection is closed")
            return client
        pool = self.pool
        if client is None or client.connection_pool is not pool:
            client = self._shared_client = super()._create_client()  # type: ignore[misc]  # private, see ack()
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


def acks_together(channel: Any) -> AbstractContextManager[None]:
    """A block whose acks on ``channel`` share one round trip, where its transport can do that."""
    together = getattr(getattr(channel, "qos", None), "acks_together", None)
    return together() if together is not None else nullcontext()
