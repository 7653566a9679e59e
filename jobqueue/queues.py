"""What is waiting on each queue, read straight from the broker's lists, and which workers consume it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

from jobqueue import contract

# Messages at the delivering end of a list looked at for the oldest waiting job:
# enough to step over a few canceled jobs whose messages are still queued.
HEAD_SCAN = 10


def broker_lists(queue: str) -> list[str]:
    """The Redis lists kombu keeps for ``queue``: the queue's name, then one per priority step above 0."""
    return [queue] + [f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step]


@dataclass(frozen=True)
class QueueState:
    """One queue now: messages waiting, age of the oldest waiting job, live consuming workers."""

    queue: str
    depth: int
    oldest_age_s: float
    workers: int


def message_job_id(raw: bytes | str, delivered: bool = False) -> str | None:
    """The job id of a queued message, or of an ``unacked`` entry ([message, exchange, routing key]);
    None for anything else. Celery puts the task id, which is the job id, in the headers."""
    try:
        message = json.loads(raw)
        return str((message[0] if delivered else message)["headers"]["id"])
    except (ValueError, LookupError, TypeError):
        return None


def _oldest_age(client: redis.Redis, queue: str, now_s: float) -> float:
    """Seconds since the oldest still-queued job among those next in line was created (0: none)."""
    pipe = client.pipeline(transaction=False)
    for name in broker_lists(queue):
        # kombu pushes on the left and pops on the right: the right end is delivered next.
        pipe.lrange(name, -HEAD_SCAN, -1)
    ids = [job_id for messages in pipe.execute() for job_id in map(message_job_id, messages) if job_id]
    if not ids:
        return 0.0
    for job_id in ids:
        pipe.hmget(contract.job_key(job_id), "status", "index_member")
    created = [
        int(member[:17]) / 1_000_000
        for status, member in pipe.execute()
        if status == contract.QUEUED.encode() and member
    ]
    return max(0.0, now_s - min(created)) if created else 0.0


def workers_online(client: redis.Redis, queue: str, now_s: float) -> int:
    """Workers consuming ``queue`` whose heartbeat is fresh."""
    return int(client.zcount(contract.workers_key(queue), now_s - contract.HEARTBEAT_STALE_S, "+inf"))


def read_queue(client: redis.Redis, queue: str, now_s: float) -> QueueState:
    """Depth (every priority list), oldest waiting job's age and workers heard from recently."""
    pipe = client.pipeline(transaction=False)
    for name in broker_lists(queue):
        pipe.llen(name)
    depth = sum(pipe.execute())
    return QueueState(
        queue=queue,
        depth=depth,
        oldest_age_s=round(_oldest_age(client, queue, now_s), 3),
        workers=workers_online(client, queue, now_s),
    )
