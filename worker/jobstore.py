"""Job records in Redis: creation, state transitions, listing and waiting, each transition atomic.

A job is a hash at ``contract.job_key(id)`` that expires ``ttl`` seconds after
creation. Transitions are Lua scripts so that two workers (a redelivered
message) or a worker and a cancelling client can never both win: the first
terminal state written is the only one.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Sequence

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from worker import contract, jobmetrics, jobscripts

_JSON_FIELDS = ("request", "result", "error")
_INT_FIELDS = ("progress_done", "progress_total", "attempts", "callback_attempts", "callback_last_status")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def isoformat(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Limits:
    """The admission checks the create script makes before it records anything; 0 turns one off."""

    rate: int = 0  # submissions allowed in the tenant's current window
    rate_key: str = "-"  # the counter of that window
    rate_ttl_s: int = 1
    max_depth: int = 0  # the queue's waiting messages, across its broker lists
    depth_lists: tuple[str, ...] = ()


class Refused(Exception):
    """The create script refused the job: ``reason`` is "rate_limited" or "queue_full"."""

    def __init__(self, reason: str, count: int) -> None:
        super().__init__(reason, count)
        self.reason = reason
        self.count = count  # the tenant's submissions in the window, or the queue's depth


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request body."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id


@dataclass(frozen=True)
class NewJob:
    """What the web knows about a job before it is queued."""

    id: str
    model: str
    model_version: str
    task: str
    queue: str
    request: dict[str, Any]
    total: int
    idempotency_key: str | None = None
    body_hash: str = ""
    tenant: str = ""  # "" when the service runs without API keys
    callback_url: str | None = None
    # The Celery message (worker.messages.job_message) pushed onto ``queue`` with the record.
    message: str = ""


@dataclass(frozen=True)
class StartOutcome:
    """What a worker should do with a delivered job: run it, skip it, or give up on it."""

    action: str  # "run" | "skip" | "give_up" | "missing"
    request: dict[str, Any] | None = None
    model: str = ""
    model_version: str = ""
    task: str = ""
    queue: str = ""
    attempts: int = 0
    queue_wait_s: float | None = None  # on the first delivery only: seconds from created to started
    detail: str = ""
    callback_unsent: bool = False  # skipped, finished job whose callback was never attempted


@dataclass(frozen=True)
class Finish:
    """What ``finish`` did: whether this outcome was recorded, and if so whether a callback is due."""

    recorded: bool
    callback_due: bool = False

    def __bool__(self) -> bool:
        return self.recorded


class JobStore:
    """Reads and moves job records; shared by the web (create, cancel, read) and workers (start, finish)."""

    def __init__(self, client: redis.Redis, ttl_s: int, max_attempts: int = 3) -> None:
        self.redis = client
        self.ttl_s = ttl_s
        self.max_attempts = max_attempts
        self._create = client.register_script(jobscripts.CREATE)
        self._start = client.register_script(jobscripts.START)
        self._finish = client.register_script(jobscripts.FINISH)
        self._cancel = client.register_script(jobscripts.CANCEL)
        self._progress = client.register_script(jobscripts.PROGRESS)
        self._release = client.register_script(jobscripts.RELEASE)
        self._requeue = client.register_script(jobscripts.REQUEUE)

    # -- web side ---------------------------------------------------------
    def create(self, job: NewJob, limits: Limits = Limits()) -> tuple[dict[str, Any], bool]:
        """Check ``limits``, record a job and queue its message, in one atomic round trip; with an
        idempotency key already used, return that job instead (a retry is never refused).

        Returns (record, created). Raises Refused when a limit is reached, and
        IdempotencyConflict if the key was used with another body.
        """
        now = utcnow()
        created_us = int(now.timestamp() * 1_000_000)
        prune_before = f"{created_us - self.ttl_s * 1_000_000:017d}"
        fields = {
            "id": job.id, "model": job.model, "model_version": job.model_version,
            "task": job.task, "queue": job.queue, "status": contract.QUEUED,
            "created_at": isoformat(now),
            "expires_at": isoformat(now + dt.timedelta(seconds=self.ttl_s)),
            "request": json.dumps(job.request, separators=(",", ":")),
            "progress_done": 0, "progress_total": job.total, "attempts": 0,
            "index_member": f"{created_us:017d}:{job.id}", "tenant": job.tenant,
        }
        if job.callback_url:
            fields.update(callback_url=job.callback_url, callback_attempts=0)
        flat = [item for pair in fields.items() for item in pair]
        use_idem = job.idempotency_key is not None
        idem_key = contract.idempotency_key(job.idempotency_key or "-", job.tenant)
        reply = self._create(
            keys=[contract.job_key(job.id), contract.job_index(job.tenant), idem_key, job.queue,
                  jobmetrics.SUBMITTED, limits.rate_key, *jobmetrics.rate_keys(now.timestamp()),
                  *(limits.depth_lists if limits.max_depth else ())],
            args=[self.ttl_s, "1" if use_idem else "0", f"{job.id} {job.body_hash}",
                  fields["index_member"], prune_before, job.message, f"{job.model}|{job.task}", job.queue,
                  limits.rate, limits.rate_ttl_s, limits.max_depth, *flat])
        outcome = _text(reply[0])
        if outcome == "created":
            return decode_record(fields), True
        if outcome in ("rate_limited", "queue_full"):
            raise Refused(outcome, int(reply[1]))
        existing_id, _, existing_hash = _text(reply[1]).partition(" ")
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
        reply = _text(self._cancel(keys=[contract.job_key(job_id), contract.RUNNING_INDEX, jobmetrics.JOBS],
                                   args=[isoformat(utcnow()), contract.done_channel(job_id), contract.Q_HEAVY,
                                         job_id]))
        return Finish(recorded=reply in ("ok", "callback"), callback_due=reply == "callback")

    def list(self, model: str | None = None, status: str | None = None, limit: int = 20,
             cursor: str | None = None, tenant: str = "") -> tuple[list[dict[str, Any]], str | None]:
        """One tenant's recent jobs, newest first, optionally filtered; returns (jobs, next cursor or None)."""
        upper = f"({cursor}" if cursor else "+"
        found: list[dict[str, Any]] = []
        # Bound the scan so a rare filter over a huge index cannot take forever.
        budget = max(1000, limit * 20)
        while len(found) < limit and budget > 0:
            members = self.redis.zrevrangebylex(contract.job_index(tenant), upper, "-", start=0, num=100)
            if not members:
                return found, None
            pipe = self.redis.pipeline(transaction=False)
            for member in members:
                pipe.hgetall(contract.job_key(_text(member).split(":", 1)[1]))
            for member, raw in zip(members, pipe.execute()):
                budget -= 1
                upper = "(" + _text(member)
                if not raw:
                    continue
                record = decode_record(raw)
                if (model and record["model"] != model) or (status and record["status"] != status):
                    continue
                found.append(record)
                if len(found) == limit:
                    return found, _text(member)
        return found, (upper[1:] if budget <= 0 else None)

    # -- worker side ------------------------------------------------------
    def start(self, job_id: str, worker: str = "") -> StartOutcome:
        """Move a job delivered to ``worker`` to running, unless it is finished, canceled or has failed
        too often."""
        return self.start_many([job_id], worker)[0]

    def start_many(self, job_ids: Sequence[str], worker: str = "") -> list[StartOutcome]:
        """``start`` for a micro-batch of jobs, in one round trip; outcomes in the same order."""
        now = utcnow()
        calls = [([contract.job_key(job_id), contract.RUNNING_INDEX, jobmetrics.QUEUE_WAIT],
                  [isoformat(now), self.max_attempts, repr(now.timestamp()), worker, job_id])
                 for job_id in job_ids]
        outcomes = []
        for raw in self._run_pipelined(self._start, calls):
            reply = [_text(part) for part in raw]
            if reply[0] == "run":
                model, version, task, queue, attempts, wait = reply[2:8]
                outcomes.append(StartOutcome("run", json.loads(reply[1]), model, version, task, queue,
                                             int(attempts), float(wait) if wait else None))
            elif reply[0] == "give_up":
                outcomes.append(StartOutcome("give_up", None, *reply[2:6], detail=reply[1]))
            else:
                outcomes.append(StartOutcome(reply[0], detail=reply[1] if len(reply) > 1 else "",
                                             callback_unsent=len(reply) > 2 and reply[2] == "1"))
        return outcomes

    def progress(self, job_id: str, done: int, total: int) -> None:
        """Record progress of a running job."""
        self._progress(keys=[contract.job_key(job_id)], args=[done, total])

    def finish(self, job_id: str, status: str, result: Any = None,
               error: dict[str, str] | None = None) -> Finish:
        """Write the terminal state; falsy if another outcome was already recorded (it stands)."""
        return self.finish_many([Outcome(job_id, status, result, error)])[0]

    def finish_many(self, outcomes: Sequence["Outcome"]) -> list[Finish]:
        """``finish`` for a micro-batch, in one round trip; results in the same order."""
        now = utcnow()
        keys = [jobmetrics.JOBS, jobmetrics.DURATION, *jobmetrics.rate_keys(now.timestamp())]
        calls = [([contract.job_key(o.job_id), contract.RUNNING_INDEX, *keys],
                  [o.status, isoformat(now), json.dumps(o.result, separators=(",", ":")), json.dumps(o.error),
                   contract.done_channel(o.job_id), repr(now.timestamp()), repr(1 / len(outcomes)), o.job_id])
                 for o in outcomes]
        return [Finish(recorded=_text(r) in ("ok", "callback"), callback_due=_text(r) == "callback")
                for r in self._run_pipelined(self._finish, calls)]

    def _run_pipelined(self, script: Script, calls: Sequence[tuple[list[Any], list[Any]]]) -> list[Any]:
        """Run ``script`` once per (keys, args) in one pipelined round trip; the replies in order.

        redis-py's pipeline asks SCRIPT EXISTS before every execute that holds a
        script, a second round trip per batch. Here the script runs by its sha
        alone, and only if Redis has lost it (a restart) are the calls it refused
        run again once it is loaded: each call runs exactly once.
        """
        replies: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        for _ in range(2):
            pipe = self.redis.pipeline(transaction=False)
            for index in pending:
                keys, args = calls[index]
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            refused = []
            for index, reply in zip(pending, pipe.execute(raise_on_error=False)):
                if isinstance(reply, NoScriptError):
                    refused.append(index)
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    replies[index] = reply
            if not refused:
                return replies
            self.redis.script_load(script.script)  # its sha is its text's: the calls above stay valid
            pending = refused
        raise NoScriptError(f"script {script.sha} vanished from Redis as soon as it was loaded")

    def release(self, job_id: str) -> bool:
        """Hand a running job back to the queue without counting the attempt (graceful stop)."""
        return bool(self._release(keys=[contract.job_key(job_id), contract.RUNNING_INDEX], args=[job_id]))

    # -- reaper side ------------------------------------------------------
    def started_before(self, moment: float, limit: int = 100) -> list[tuple[str, float]]:
        """(job id, start time) of running jobs started before ``moment`` (epoch seconds), oldest first."""
        return [(_text(member), score) for member, score in self.redis.zrangebyscore(
            contract.RUNNING_INDEX, "-inf", moment, start=0, num=limit, withscores=True)]

    def requeue(self, job_id: str, queue: str, message: str) -> str:
        """Put a job whose message was lost back in ``queue`` as queued, with ``message``, atomically.

        Returns 'requeued', or the status (or 'missing') that means it needs nothing.
        """
        return _text(self._requeue(keys=[contract.job_key(job_id), contract.RUNNING_INDEX, queue],
                                   args=[job_id, message]))

    def forget(self, job_id: str) -> None:
        """Drop a job that no longer runs from the running index."""
        self.redis.zrem(contract.RUNNING_INDEX, job_id)

    def postpone(self, job_id: str, moment: float) -> None:
        """Count a running job as started at ``moment``: its message waits in the queue."""
        self.redis.zadd(contract.RUNNING_INDEX, {job_id: moment}, xx=True)


@dataclass(frozen=True)
class Outcome:
    """How one job ended, as a worker records it."""

    job_id: str
    status: str
    result: Any = None
    error: dict[str, str] | None = None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_record(raw: dict[Any, Any]) -> dict[str, Any]:
    """A stored (or published) record with its JSON and integer fields parsed."""
    record = {_text(k): _text(v) for k, v in raw.items()}
    for name in _JSON_FIELDS:
        if name in record:
            record[name] = json.loads(record[name])
    for name in _INT_FIELDS:
        if name in record:
            record[name] = int(record[name])
    return record
