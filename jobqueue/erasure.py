"""Erasure on the Redis side: the jobs still in Redis that name a customer, and what their records keep.

Jobs of the last JOB_TTL_S that are archived are found through the archive.
Those not archived yet are few and all indexed: the queued and running jobs,
and the ended ones waiting on the archive stream. Only those are read here,
never every job in Redis.
"""

from __future__ import annotations

import json
from typing import Any, cast

import redis

from jobqueue import contract
from jobqueue.archive_rows import anonymous, anonymous_error, customer_ids
from jobqueue.records import decode_record, text

SCAN_BATCH = 500


def anonymised(record: dict[str, Any]) -> tuple[str, str]:
    """The (result, error) JSON an erased record keeps: its decision, its error's type."""
    return (
        json.dumps(anonymous(record.get("result")), separators=(",", ":")),
        json.dumps(anonymous_error(record.get("error")), separators=(",", ":")),
    )


def unarchived_job_ids(client: redis.Redis) -> list[str]:
    """Jobs queued, running, or ended and waiting for the archiver."""
    pipe = client.pipeline(transaction=False)
    pipe.zrange(contract.QUEUED_INDEX, 0, -1)
    pipe.zrange(contract.RUNNING_INDEX, 0, -1)
    pipe.xrange(contract.ARCHIVE_STREAM)
    queued, running, entries = pipe.execute()
    ids = [text(job_id) for job_id in [*queued, *running]]
    ids += [text(cast("dict[bytes, bytes]", fields).get(b"job", b"")) for _, fields in entries if fields]
    return list(dict.fromkeys(job_id for job_id in ids if job_id))


def unarchived_naming(client: redis.Redis, customer_id: int) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Of the jobs not archived yet, those naming ``customer_id``: (ended: id -> record, not ended: ids)."""
    ended: dict[str, dict[str, Any]] = {}
    running: list[str] = []
    job_ids = unarchived_job_ids(client)
    for start in range(0, len(job_ids), SCAN_BATCH):
        part = job_ids[start : start + SCAN_BATCH]
        pipe = client.pipeline(transaction=False)
        for job_id in part:
            pipe.hgetall(contract.job_key(job_id))
        for job_id, raw in zip(part, pipe.execute(), strict=True):
            if not raw:
                continue
            record = decode_record(raw)
            if customer_id not in customer_ids(record.get("request")):
                continue
            if record.get("status") in contract.TERMINAL:
                ended[job_id] = record
            else:
                running.append(job_id)
    return ended, running
