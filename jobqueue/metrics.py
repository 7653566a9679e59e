"""Job counters, histograms and per-minute rates: their Redis keys and buckets, and reading them back.

Why Redis and not process memory: jobs finish in Celery pool processes on any
host, and /metrics may be answered by any gunicorn worker. Redis is the one
place all of them share, and the Lua transition scripts update these keys in
the same atomic step as the state change (``scripts/metrics.lua``), so every
job is counted exactly once and every web process reports the same totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis

from jobqueue import contract
from jobqueue.records import text

JOBS = contract.PREFIX + "metrics:jobs"  # model|task|status -> jobs that ended so
SUBMITTED = contract.PREFIX + "metrics:submitted"  # model|task -> jobs accepted
DURATION = contract.PREFIX + "metrics:duration"  # queue|model|task|<bucket> and |sum, seconds running
QUEUE_WAIT = contract.PREFIX + "metrics:wait"  # queue|<bucket> and |sum, seconds from created to started
RATE_TTL_S = 2 * 3600  # per-minute rate hashes outlive any scaling window
# Jobs the archiver could not archive: "expired" (gone from Redis first), "refused" (by the database).
ARCHIVE_COUNTS = contract.PREFIX + "metrics:archive"

DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


def rate_key(queue: str, minute: int) -> str:
    """Hash of one queue's jobs enqueued and finished, and seconds spent on them, in one minute."""
    return f"{contract.PREFIX}metrics:rate:{queue}:{minute}"


@dataclass
class Histogram:
    """Observations per bucket (the last one is +Inf) and their sum."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus ``le`` buckets: (upper bound, observations at or below it)."""
        running, out = 0, []
        for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out


@dataclass(frozen=True)
class JobMetrics:
    """Everything the transitions have counted, as read in one round trip."""

    jobs: dict[tuple[str, ...], int]  # (model, task, status) -> jobs ended so
    submitted: dict[tuple[str, ...], int]  # (model, task) -> jobs accepted
    durations: dict[tuple[str, ...], Histogram]  # (queue, model, task)
    waits: dict[str, Histogram]  # queue


def _histograms(raw: dict[Any, Any], bounds: tuple[float, ...]) -> dict[Any, Histogram]:
    found: dict[Any, Histogram] = {}
    for name, value in raw.items():
        series, _, slot = text(name).rpartition("|")
        key = tuple(series.split("|")) if "|" in series else series
        histogram = found.setdefault(key, Histogram(bounds, [0] * (len(bounds) + 1)))
        if slot == "sum":
            histogram.total = float(value)
        else:
            histogram.counts[int(slot)] = int(float(value))
    return found


def read_metrics(client: redis.Redis) -> JobMetrics:
    """The counters and histograms as they stand."""
    pipe = client.pipeline(transaction=False)
    for key in (JOBS, SUBMITTED, DURATION, QUEUE_WAIT):
        pipe.hgetall(key)
    jobs, submitted, durations, waits = pipe.execute()
    return JobMetrics(
        jobs={tuple(text(k).split("|")): int(v) for k, v in jobs.items()},
        submitted={tuple(text(k).split("|")): int(v) for k, v in submitted.items()},
        durations=_histograms(durations, DURATION_BUCKETS),
        waits=_histograms(waits, WAIT_BUCKETS),
    )


@dataclass(frozen=True)
class Rate:
    """One queue's activity over the last ``seconds``."""

    enqueued: int
    finished: int
    busy_s: float
    seconds: float


def read_rate(client: redis.Redis, queue: str, window_s: int, now_s: float) -> Rate:
    """Activity of ``queue`` over whole minutes covering about ``window_s`` up to ``now_s``.

    The current minute counts for the seconds that have passed in it, so the
    rate divides what was counted by exactly the time it was counted over.
    """
    current = int(now_s // 60)
    minutes = range(current - max(1, window_s // 60), current + 1)
    pipe = client.pipeline(transaction=False)
    for minute in minutes:
        pipe.hmget(rate_key(queue, minute), "enqueued", "finished", "busy_s")
    rows = [[float(v or 0) for v in row] for row in pipe.execute()]
    return Rate(
        enqueued=int(sum(r[0] for r in rows)),
        finished=int(sum(r[1] for r in rows)),
        busy_s=sum(r[2] for r in rows),
        seconds=(len(minutes) - 1) * 60 + (now_s - current * 60),
    )
