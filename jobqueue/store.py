"""Job records in Redis: creation, state transitions, listing, each transition one atomic script.

A job is a hash at ``contract.job_key(id)`` that expires ``ttl`` seconds after
creation. Transitions are the Lua scripts of ``jobqueue/scripts`` so that two
workers (a redelivered message) or a worker and a cancelling client can never
both win: the first terminal state written is the only one. Besides the job
hash, the running index (job id scored by when it started) lists the jobs a
worker is running: the reaper reads it to find those whose message was lost.
Transitions also count jobs, waits and durations for /metrics
(``jobqueue.metrics``) in the same atomic step, and the ones that end a job
add it to the archive stream (``jobqueue.archive_stream``), keeping its record
at least ``archive_hold_s`` until the archiver has committed it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, cast

import redis

from jobqueue import contract, metrics
from jobqueue.archive_rows import customer_ids
from jobqueue.records import (
    Finish,
    IdempotencyConflict,
    Limits,
    NewJob,
    Outcome,
    Refused,
    StartOutcome,
    decode_record,
    isoformat,
    text,
    utcnow,
)
from jobqueue.scripts import load, run_pipelined
from jobqueue.settings import Settings

NO_LIMITS = Limits()
CREATE, START, FINISH, CANCEL = load("create"), load("start"), load("finish"), load("cancel")
FANOUT_PLAN, FANOUT_RECORD = load("fanout_plan"), load("fanout_record")
PROGRESS, REQUEUE, RECORD_CALLBACK = load("progress"), load("requeue"), load("record_callback")


class JobStore:
    """Reads and moves job records; shared by the web (create, cancel, read) and workers (start, finish)."""

    def __init__(
        self, client: redis.Redis, ttl_s: int, max_attempts: int = 3, archive_hold_s: int = 7 * 24 * 3600
    ) -> None:
        self.redis = client
        self.ttl_s = ttl_s
        self.max_attempts = max_attempts
        self.archive_hold_s = archive_hold_s

    @classmethod
    def for_settings(cls, client: redis.Redis, settings: Settings) -> "JobStore":
        """The store with the job TTL, attempt limit and archive hold of ``settings``."""
        return cls(
            client,
            ttl_s=settings.job_ttl_s,
            max_attempts=settings.max_attempts,
            archive_hold_s=settings.archive_hold_s,
        )

    # -- web side ---------------------------------------------------------
    def create(self, job: NewJob, limits: Limits = NO_LIMITS) -> tuple[dict[str, Any], bool]:
        """Check ``limits``, record a job and queue its message, in one atomic round trip; with an
        idempotency key already used, return that job instead (a retry is never refused).

        Returns (record, created). Raises Refused when a limit is reached, and
        IdempotencyConflict if the key was used with another body.
        """
        now = utcnow()
        created_us = int(now.timestamp() * 1_000_000)
        fields: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "model_version": job.model_version,
            "task": job.task,
            "queue": job.queue,
            "status": contract.QUEUED,
            "created_at": isoformat(now),
            "expires_at": isoformat(now + dt.timedelta(seconds=self.ttl_s)),
            "request": json.dumps(job.request, separators=(",", ":")),
            "progress_done": "0",
            "progress_total": str(job.total),
            "attempts": "0",
            "index_member": f"{created_us:017d}:{job.id}",
            "tenant": job.tenant,
        }
        if job.callback_url:
            fields.update(callback_url=job.callback_url, callback_attempts="0")
        idem_key = contract.idempotency_key(job.idempotency_key or "-", job.tenant)
        reply = CREATE(
            self.redis,
            keys={
                "job": contract.job_key(job.id),
                "index": contract.job_index(job.tenant),
                "idempotency": idem_key,
                "queue": job.queue,
                "queued": contract.QUEUED_INDEX,
                "submitted": metrics.SUBMITTED,
                "rate_limit": limits.rate_key,
                "rate": metrics.rate_key(job.queue, int(now.timestamp() // 60)),
                "depth_lists": list(limits.depth_lists if limits.max_depth else ()),
                "mark": limits.one_at_a_time,
            },
            now_s=repr(now.timestamp()),
            ttl_s=self.ttl_s,
            idempotent=job.idempotency_key is not None,
            idempotency_value=f"{job.id} {job.body_hash}",
            prune_before=f"{created_us - self.ttl_s * 1_000_000:017d}",
            message=job.message,
            series=f"{job.model}|{job.task}",
            rate_limit=limits.rate,
            rate_window_ttl_s=limits.rate_ttl_s,
            max_depth=limits.max_depth,
            rate_ttl_s=metrics.RATE_TTL_S,
            one_at_a_time=limits.one_at_a_time != "-",
            job_prefix=contract.job_key(""),
            fields=fields,
        )
        outcome = text(reply[0])
        if outcome == "created":
            return decode_record(fields), True
        if outcome in ("rate_limited", "queue_full"):
            raise Refused(outcome, int(reply[1]))
        if outcome == "train_in_progress":
            raise Refused(outcome, holder=text(reply[1]), holder_tenant=text(reply[2]))
        existing_id, _, existing_hash = text(reply[1]).partition(" ")
        if existing_hash != job.body_hash:
            raise IdempotencyConflict(existing_id)
        record = self.get(existing_id)
        if record is None:  # the earlier job expired before its key did; start afresh
            self.redis.delete(idem_key)
            return self.create(job, limits)
        return record, False

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The decoded record, or None if never issued or expired."""
        raw = self.redis.hgetall(contract.job_key(job_id))
        return decode_record(raw) if raw else None

    def cancel(self, job_id: str) -> Finish:
        """Cancel a queued job, or a running heavy one (it stops at its next chunk, and its outcome
        is never recorded over the cancellation); falsy if missing or its status prevented it."""
        reply = text(
            CANCEL(
                self.redis,
                keys={
                    "job": contract.job_key(job_id),
                    "running": contract.RUNNING_INDEX,
                    "queued": contract.QUEUED_INDEX,
                    "jobs_counter": metrics.JOBS,
                    "archive": contract.ARCHIVE_STREAM,
                },
                job_id=job_id,
                finished_at=isoformat(utcnow()),
                channel=contract.done_channel(job_id),
                interruptible_queue=contract.Q_HEAVY,
                hold_s=self.archive_hold_s,
            )
        )
        return Finish(recorded=reply in ("ok", "callback"), callback_due=reply == "callback")

    def recent(
        self,
        model: str | None = None,
        status: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
        tenant: str = "",
        since_us: int | None = None,
        until_us: int | None = None,
        customer_id: int | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One tenant's recent jobs, newest first, optionally filtered; returns (jobs, next cursor or None).

        ``since_us`` (included) and ``until_us`` (excluded) bound the creation time, in microseconds;
        ``customer_id`` keeps the jobs whose records name that credit customer.
        """
        upper = f"({cursor}" if cursor else "+"
        if until_us is not None:
            # Members begin with the creation time: everything from that microsecond on is out.
            before = f"({until_us:017d}:"
            upper = before if upper == "+" or before < upper else upper
        lower = f"[{since_us:017d}:" if since_us is not None else "-"
        found: list[dict[str, Any]] = []
        # Bound the scan so a rare filter over a huge index cannot take forever.
        budget = max(1000, limit * 20)
        while len(found) < limit and budget > 0:
            members = self.redis.zrevrangebylex(contract.job_index(tenant), upper, lower, start=0, num=100)
            if not members:
                return found, None
            pipe = self.redis.pipeline(transaction=False)
            for member in members:
                pipe.hgetall(contract.job_key(text(member).split(":", 1)[1]))
            for member, raw in zip(members, pipe.execute(), strict=True):
                budget -= 1
                upper = "(" + text(member)
                if not raw:
                    continue
                record = decode_record(raw)
                if (model and record["model"] != model) or (status and record["status"] != status):
                    continue
                if customer_id is not None and customer_id not in customer_ids(record.get("request")):
                    continue
                found.append(record)
                if len(found) == limit:
                    return found, text(member)
        return found, (upper[1:] if budget <= 0 else None)

    # -- worker side ------------------------------------------------------
    def start(self, job_id: str, worker: str = "") -> StartOutcome:
        """Move a job delivered to ``worker`` to running, unless it is finished, canceled or has failed
        too often."""
        return self.start_many([job_id], worker)[0]

    def start_many(self, job_ids: Sequence[str], worker: str = "") -> list[StartOutcome]:
        """``start`` for a micro-batch of jobs, in one round trip; outcomes in the same order."""
        now = utcnow()
        shared = {
            "worker": worker,
            "now": isoformat(now),
            "now_s": repr(now.timestamp()),
            "max_attempts": self.max_attempts,
            "wait_buckets": metrics.WAIT_BUCKETS,
        }
        calls = [
            (
                {
                    "job": contract.job_key(job_id),
                    "running": contract.RUNNING_INDEX,
                    "queued": contract.QUEUED_INDEX,
                    "wait_histogram": metrics.QUEUE_WAIT,
                },
                {"job_id": job_id, **shared},
            )
            for job_id in job_ids
        ]
        outcomes = []
        for raw in run_pipelined(self.redis, START, calls):
            reply = [text(part) for part in raw]
            if reply[0] == "run":
                model, version, task, queue, attempts, wait = reply[2:8]
                outcomes.append(
                    StartOutcome(
                        "run",
                        json.loads(reply[1]),
                        model,
                        version,
                        task,
                        queue,
                        int(attempts),
                        float(wait) if wait else None,
                    )
                )
            elif reply[0] == "give_up":
                model, version, task, queue = reply[2:6]
                outcomes.append(StartOutcome("give_up", None, model, version, task, queue, detail=reply[1]))
            else:
                outcomes.append(
                    StartOutcome(
                        reply[0],
                        detail=reply[1] if len(reply) > 1 else "",
                        callback_unsent=len(reply) > 2 and reply[2] == "1",
                    )
                )
        return outcomes

    def progress(self, job_id: str, done: int, total: int) -> None:
        """Record progress of a running job."""
        PROGRESS(self.redis, keys={"job": contract.job_key(job_id)}, done=done, total=total)

    def finish(self, job_id: str, status: str, result: Any = None, error: dict[str, str] | None = None) -> Finish:
        """Write the terminal state; falsy if another outcome was already recorded (it stands)."""
        return self.finish_many([Outcome(job_id, status, result, error)])[0]

    def finish_many(self, outcomes: Sequence[Outcome]) -> list[Finish]:
        """``finish`` for a micro-batch, in one round trip; results in the same order."""
        now = utcnow()
        minute = int(now.timestamp() // 60)
        keys: dict[str, str | dict[str, str]] = {
            "running": contract.RUNNING_INDEX,
            "queued": contract.QUEUED_INDEX,
            "jobs_counter": metrics.JOBS,
            "duration_histogram": metrics.DURATION,
            "rates": {queue: metrics.rate_key(queue, minute) for queue in contract.JOB_QUEUES},
            "archive": contract.ARCHIVE_STREAM,
        }
        shared: dict[str, Any] = {
            "finished_at": isoformat(now),
            "now_s": repr(now.timestamp()),
            "slot_share": 1 / len(outcomes),
            "duration_buckets": metrics.DURATION_BUCKETS,
            "rate_ttl_s": metrics.RATE_TTL_S,
            "hold_s": self.archive_hold_s,
        }
        calls = [
            (
                {"job": contract.job_key(o.job_id), **keys},
                {
                    "job_id": o.job_id,
                    "status": o.status,
                    "result": json.dumps(o.result, separators=(",", ":")),
                    "error": json.dumps(o.error),
                    "channel": contract.done_channel(o.job_id),
                    **shared,
                },
            )
            for o in outcomes
        ]
        return [
            Finish(recorded=text(r) in ("ok", "callback"), callback_due=text(r) == "callback")
            for r in run_pipelined(self.redis, FINISH, calls)
        ]

    def plan_fanout(self, job_id: str, chunks: int, rows: int, in_flight: int) -> tuple[str, list[int]]:
        """Plan a running job as ``chunks`` chunks of ``rows`` rows in all, or find where its plan stands.

        Returns ("planned" | "resumed" | "stopped", the chunks to send now).
        """
        reply = FANOUT_PLAN(
            self.redis,
            keys={"job": contract.job_key(job_id), "fanout": contract.fanout_key(job_id)},
            total=chunks,
            rows=rows,
            in_flight=in_flight,
            ttl_s=self.ttl_s,
            chunk_prefix=contract.chunk_key(job_id, 0)[:-1],
        )
        return text(reply[0]), [int(chunk) for chunk in reply[1:]]

    def record_chunk(self, job_id: str, chunk: int, rows: int, sums: list[float]) -> tuple[str, int]:
        """Record a chunk's partial sums once; (state, the chunk to send next or -1). See fanout_record.lua."""
        reply = FANOUT_RECORD(
            self.redis,
            keys={
                "job": contract.job_key(job_id),
                "fanout": contract.fanout_key(job_id),
                "chunk": contract.chunk_key(job_id, chunk),
                "running": contract.RUNNING_INDEX,
            },
            # JSON floats round-trip exactly: the merged sums equal one process's, bit for bit.
            job_id=job_id,
            chunk=chunk,
            rows=rows,
            sums=json.dumps(sums),
            now_s=repr(utcnow().timestamp()),
            ttl_s=self.ttl_s,
        )
        return text(reply[0]), int(reply[1])

    def chunk_outcomes(self, job_id: str, chunks: int) -> list[list[float] | None]:
        """Every chunk's recorded partial sums, in chunk order (None where a chunk is not recorded)."""
        raw = cast("list[bytes | None]", self.redis.mget([contract.chunk_key(job_id, i) for i in range(chunks)]))
        return [None if value is None else list(json.loads(value)) for value in raw]

    def drop_fanout(self, job_id: str, chunks: int) -> None:
        """Forget a finished job's plan and chunk outcomes."""
        self.redis.delete(contract.fanout_key(job_id), *(contract.chunk_key(job_id, i) for i in range(chunks)))

    def record_callback_attempt(
        self, job_id: str, attempt: int, http_status: int | None, error: str | None, delivered: bool
    ) -> bool:
        """Record delivery attempt ``attempt``; False if it is stale (made already, or delivered)."""
        return (
            text(
                RECORD_CALLBACK(
                    self.redis,
                    keys={"job": contract.job_key(job_id), "archive": contract.ARCHIVE_STREAM},
                    job_id=job_id,
                    attempt=attempt,
                    at=isoformat(utcnow()),
                    http_status=http_status,
                    error=error or None,
                    delivered=delivered,
                    hold_s=self.archive_hold_s,
                )
            )
            == "ok"
        )

    # -- reaper side ------------------------------------------------------
    def started_before(self, moment: float, limit: int = 100) -> list[tuple[str, float]]:
        """(job id, start time) of running jobs started before ``moment`` (epoch seconds), oldest first."""
        # redis-py types the reply as any reply; with scores it is (member, score) pairs.
        found = cast(
            "list[tuple[bytes, float]]",
            self.redis.zrangebyscore(contract.RUNNING_INDEX, "-inf", moment, start=0, num=limit, withscores=True),
        )
        return [(text(member), float(score)) for member, score in found]

    def requeue(self, job_id: str, queue: str, message: str, only_queued: bool = False) -> str:
        """Put a job whose message was lost back in ``queue`` as queued, with ``message``, atomically.

        ``only_queued`` leaves a job that started meanwhile alone. Returns
        'requeued', or the status (or 'missing') that means it needs nothing.
        """
        keys = {
            "job": contract.job_key(job_id),
            "running": contract.RUNNING_INDEX,
            "queued": contract.QUEUED_INDEX,
            "queue": queue,
        }
        return text(
            REQUEUE(
                self.redis,
                keys=keys,
                job_id=job_id,
                message=message,
                now_s=repr(utcnow().timestamp()),
                only_queued=only_queued or None,
            )
        )

    def queued_before(self, moment: float, limit: int = 500) -> list[tuple[str, float]]:
        """(job id, time queued) of jobs queued before ``moment`` and not delivered since, oldest first."""
        found = cast(
            "list[tuple[bytes, float]]",
            self.redis.zrangebyscore(contract.QUEUED_INDEX, "-inf", moment, start=0, num=limit, withscores=True),
        )
        return [(text(member), float(score)) for member, score in found]

    def suspect(self, missing: set[str], now: float) -> dict[str, float]:
        """Note these queued jobs as found without a message at ``now``; forget earlier suspects not among them.

        Returns job id -> when each was first found so (epoch seconds).
        """
        pipe = self.redis.pipeline()
        pipe.hgetall(contract.REAPER_SUSPECTS)
        pipe.delete(contract.REAPER_SUSPECTS)
        earlier = {text(k): float(v) for k, v in cast("dict[bytes, bytes]", pipe.execute()[0]).items()}
        since = {job_id: earlier.get(job_id, now) for job_id in missing}
        if since:
            self.redis.hset(contract.REAPER_SUSPECTS, mapping={k: repr(v) for k, v in since.items()})
        return since

    def recheck_queued(self, job_id: str, moment: float | None) -> None:
        """Look at a queued job again from ``moment`` (its message was seen waiting); None forgets it."""
        if moment is None:
            self.redis.zrem(contract.QUEUED_INDEX, job_id)
        else:
            self.redis.zadd(contract.QUEUED_INDEX, {job_id: moment}, xx=True)

    def forget(self, job_id: str) -> None:
        """Drop a job that no longer runs from the running index."""
        self.redis.zrem(contract.RUNNING_INDEX, job_id)

    def postpone(self, job_id: str, moment: float) -> None:
        """Count a running job as started at ``moment``: its message waits in the queue."""
        self.redis.zadd(contract.RUNNING_INDEX, {job_id: moment}, xx=True)
