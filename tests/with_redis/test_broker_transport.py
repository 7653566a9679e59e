"""The worker's kombu transport: one redis-py client per pool, and kombu's bookkeeping unchanged."""

from __future__ import annotations

from typing import Any

import redis as redis_lib
from kombu import Queue
from kombu.transport import redis as kombu_redis

from jobqueue.settings import Settings
from tests.support.redis_monitor import commands_sent
from worker import kombu_transport
from worker.celery_app import create_celery


def _queue_holding(connection: Any, queue: Queue, numbers: list[int]) -> Any:
    """A consumer (acks on) of ``queue``, after publishing {"n": number} for each number."""
    producer = connection.Producer()
    for n in numbers:
        producer.publish({"n": n}, routing_key=queue.name, declare=[queue], serializer="json")
    return connection.SimpleQueue(queue, no_ack=False)


def test_plain_redis_urls_use_the_client_reusing_transport(idle_settings: Settings) -> None:
    app = create_celery(idle_settings)
    with app.connection_for_read() as connection:
        assert type(connection.transport) is kombu_transport.Transport
        channel = connection.default_channel
        assert isinstance(channel, kombu_transport.Channel)
        first = channel._create_client()
        assert channel._create_client() is first
        # A new pool (a reconnect, or the pool dropped after a fork) gets a client of its own.
        channel._disconnect_pools()
        renewed = channel._create_client()
        assert renewed is not first and renewed.connection_pool is channel.pool


def test_tls_urls_keep_kombus_transport_so_the_scheme_still_means_tls(idle_settings: Settings) -> None:
    app = create_celery(idle_settings.replace(redis_url="rediss://example.invalid:6380/0"))
    connection = app.connection_for_read()
    assert type(connection.transport) is kombu_redis.Transport
    assert connection.ssl  # kombu read rediss:// as TLS


def test_acked_message_leaves_no_unacked_entry_and_an_unacked_one_is_restored(idle_settings: Settings) -> None:
    client = redis_lib.Redis.from_url(idle_settings.redis_url)
    queue = Queue("transport-test")
    with create_celery(idle_settings).connection_for_read() as connection:
        simple = _queue_holding(connection, queue, [1, 2])
        first = simple.get(timeout=5)
        assert client.hlen("unacked") == 1  # kombu recorded the delivery through the shared client
        first.ack()
        assert client.hlen("unacked") == 0 and client.zcard("unacked_index") == 0
        second = simple.get(timeout=5)
        assert second.payload == {"n": 2}
        # Never acknowledged: the channel's close puts it back for the next consumer.
        simple.close()
    assert client.llen(queue.name) == 1
    client.delete(queue.name)


def test_acks_together_reach_redis_as_one_transaction_at_the_end_of_the_block(idle_settings: Settings) -> None:
    client = redis_lib.Redis.from_url(idle_settings.redis_url)
    queue = Queue("transport-batch-test")
    with create_celery(idle_settings).connection_for_read() as connection:
        simple = _queue_holding(connection, queue, [0, 1, 2])
        messages = [simple.get(timeout=5) for _ in range(3)]
        client.ping(), messages[0].channel.client.ping()  # connections open before MONITOR starts
        with commands_sent(idle_settings.redis_url) as sent, kombu_transport.acks_together(messages[0].channel):
            for message in messages:
                message.ack()
            unacked_inside_the_block = client.hlen("unacked")
        assert unacked_inside_the_block == 3  # nothing was sent before the block ended
        assert sent == ["HLEN", "MULTI", *["ZREM", "HDEL"] * 3, "EXEC"]
        assert client.hlen("unacked") == 0 and client.zcard("unacked_index") == 0
        simple.close()  # kombu counts them acknowledged: nothing is put back
    assert client.llen(queue.name) == 0


def test_a_channel_closed_after_its_transport_forgot_the_connection_restores_what_it_held(
    idle_settings: Settings,
) -> None:
    # Seen once as a fast worker lost Redis to a restart: kombu's Connection had dropped its
    # transport's client (Connection._do_close_transport) when a channel still holding a message
    # closed, and kombu's own channel then raised AttributeError building a client to restore it,
    # which stops a Celery worker ("Unrecoverable error").
    client = redis_lib.Redis.from_url(idle_settings.redis_url)
    queue = Queue("transport-forgotten-test")
    connection = create_celery(idle_settings).connection_for_read()
    held = _queue_holding(connection, queue, [1])
    held.get(timeout=5)
    assert client.hlen("unacked") == 1 and client.llen(queue.name) == 0
    channel = held.consumer.channel
    channel.connection.client = None
    channel.close()
    assert client.hlen("unacked") == 0 and client.llen(queue.name) == 1
    client.delete(queue.name)
