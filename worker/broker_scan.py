"""Finding a job's message in kombu's Redis structures, and taking a delivered one back, for the reaper.

A message waits in a list named after its queue; once delivered it sits in the
``unacked`` hash (delivery tag -> [message, exchange, routing key], the tag
scored by delivery time in ``unacked_index``) until acknowledged, or restored
to its queue after the visibility timeout. Celery puts the task id, which is
the job id, in each message's headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple, cast

import redis

from jobqueue.queues import message_job_id

PAGE = 500


class Delivery(NamedTuple):
    """A delivered, unacknowledged message: its kombu delivery tag and when it was delivered (epoch s)."""

    tag: str
    at: float


class BrokerMessages:
    """Finds jobs' messages, and takes a delivered one away from kombu so it can be sent anew."""

    def __init__(
        self, client: redis.Redis, unacked_key: str = "unacked", unacked_index_key: str = "unacked_index"
    ) -> None:
        self.redis = client
        self.unacked_key = unacked_key
        self.unacked_index_key = unacked_index_key

    def delivered(self) -> dict[str, Delivery]:
        """Job id -> delivery of every message delivered and not yet acknowledged.

        Small: at most each worker's concurrency times its prefetch multiplier.
        """
        # redis-py types replies loosely: these are (tag, delivery time) pairs and (tag, entry) pairs.
        scored = cast("list[tuple[bytes, float]]", self.redis.zrange(self.unacked_index_key, 0, -1, withscores=True))
        when = {tag.decode(): float(at) for tag, at in scored}
        held = {}
        for tag, value in cast("Iterator[tuple[bytes, bytes]]", self.redis.hscan_iter(self.unacked_key)):
            job_id = message_job_id(value, delivered=True)
            if job_id:
                held[job_id] = Delivery(tag.decode(), when.get(tag.decode(), 0.0))
        return held

    def waiting(self, queues: Iterable[str], wanted: set[str]) -> set[str]:
        """Which of the ``wanted`` job ids have a message waiting in one of ``queues``."""
        found: set[str] = set()
        for queue in queues:
            start = 0
            while found != wanted:
                page = cast("list[bytes]", self.redis.lrange(queue, start, start + PAGE - 1))
                found.update(job_id for job_id in map(message_job_id, page) if job_id in wanted)
                if len(page) < PAGE:
                    break
                start += PAGE
        return found

    def take(self, tag: str) -> bool:
        """Remove a delivered message, so the visibility timeout cannot bring it back as well.

        False if it was gone already (acknowledged, or restored by kombu).
        """
        pipe = self.redis.pipeline()
        pipe.hdel(self.unacked_key, tag)
        pipe.zrem(self.unacked_index_key, tag)
        removed, _ = pipe.execute()
        return bool(removed)
