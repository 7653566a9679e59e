"""Which model versions queued or running jobs still need: a version they pin must not be pruned."""

from __future__ import annotations

from typing import cast

import redis

from jobqueue import contract
from jobqueue.queues import broker_lists, message_job_id
from jobqueue.records import text

# kombu's hash of delivered, unacknowledged messages (a job a worker holds but may not have started).
UNACKED = "unacked"


def pinned_versions(client: redis.Redis) -> dict[str, set[str]]:
    """Model name -> the versions that jobs waiting, delivered or running were submitted with.

    Reads every waiting message (at most the queue depth limits), the delivered
    ones and the running index: it runs after a training, not per job.
    """
    pipe = client.pipeline(transaction=False)
    for queue in contract.JOB_QUEUES:
        for name in broker_lists(queue):
            pipe.lrange(name, 0, -1)
    pipe.hvals(UNACKED)
    pipe.zrange(contract.RUNNING_INDEX, 0, -1)
    *lists, delivered, running = pipe.execute()
    ids = {job_id for messages in lists for job_id in map(message_job_id, messages) if job_id}
    ids |= {job_id for job_id in (message_job_id(raw, delivered=True) for raw in delivered) if job_id}
    ids |= {text(member) for member in running}
    for job_id in ids:
        pipe.hmget(contract.job_key(job_id), "model", "model_version", "status")
    pinned: dict[str, set[str]] = {}
    for model, version, status in cast("list[list[bytes | None]]", pipe.execute()):
        if model and version and status in (contract.QUEUED.encode(), contract.RUNNING.encode()):
            pinned.setdefault(model.decode(), set()).add(version.decode())
    return pinned
