"""What the job store takes and gives back: new jobs, start and finish outcomes, refusals, decoded records."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

_JSON_FIELDS = ("request", "result", "error")
_INT_FIELDS = ("progress_done", "progress_total", "attempts", "callback_attempts", "callback_last_status")


def utcnow() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


def isoformat(moment: dt.datetime) -> str:
    """The contract's time format: ISO 8601 with milliseconds and a Z."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def text(value: Any) -> str:
    """A Redis reply (bytes) or any value as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_record(raw: dict[Any, Any]) -> dict[str, Any]:
    """A stored (or published) record with its JSON and integer fields parsed."""
    record: dict[str, Any] = {text(k): text(v) for k, v in raw.items()}
    for name in _JSON_FIELDS:
        if name in record:
            record[name] = json.loads(record[name])
    for name in _INT_FIELDS:
        if name in record:
            record[name] = int(record[name])
    return record


@dataclass(frozen=True)
class Limits:
    """The admission checks the create script makes before it records anything; 0 turns one off."""

    rate: int = 0  # submissions allowed in the tenant's current window
    rate_key: str = "-"  # the counter of that window
    rate_ttl_s: int = 1
    max_depth: int = 0  # the queue's waiting messages, across its broker lists
    depth_lists: tuple[str, ...] = ()
    # A mark (contract.training_key) naming the one job of its kind queued or running: while it
    # names such a job, another is refused; the job holds it until it ends. "-": none.
    one_at_a_time: str = "-"


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
    # The Celery message (jobqueue.messages.job_message) pushed onto ``queue`` with the record.
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
class Outcome:
    """How one job ended, as a worker records it."""

    job_id: str
    status: str
    result: Any = None
    error: dict[str, str] | None = None


@dataclass(frozen=True)
class Finish:
    """What ``finish`` did: whether this outcome was recorded, and if so whether a callback is due."""

    recorded: bool
    callback_due: bool = False

    def __bool__(self) -> bool:
        return self.recorded


class Refused(Exception):
    """The create script refused the job: ``reason`` is "rate_limited", "queue_full" or "train_in_progress"."""

    def __init__(self, reason: str, count: int = 0, holder: str = "", holder_tenant: str = "") -> None:
        super().__init__(reason, count)
        self.reason = reason
        self.count = count  # the tenant's submissions in the window, or the queue's depth
        # train_in_progress: the job already queued or running, and its tenant
        self.holder = holder
        self.holder_tenant = holder_tenant


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used with a different request body."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id
