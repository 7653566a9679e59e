"""The scaling signal: per queue, what waits, how fast jobs finish, and how many workers meet the target wait.

The suggested number of worker processes for a queue, from the last
``SCALING_WINDOW_S`` seconds:

    S      mean pool-slot seconds per job: busy seconds / jobs finished in the window, where
           the jobs of one micro-batch share its time (if none finished in the window: over the
           two hours the per-minute counts are kept)
    λ      jobs enqueued per second in the window
    W      the queue's target wait (FAST_TARGET_WAIT_S, HEAVY_TARGET_WAIT_S)
    slots  λ·S + depth·S / W
           λ·S pool slots are busy on average (Little's law) just to keep up,
           and depth·S / W more clear the jobs already waiting within W
    suggested = ceil(slots / c), within [SCALE_MIN_WORKERS, SCALE_MAX_WORKERS],
           where c is one worker process's pool size (FAST_CONCURRENCY, HEAVY_CONCURRENCY)

Without any S (nothing finished for two hours, as in a new deployment) there
is nothing to size by: while jobs wait it suggests one worker more than are
online, so capacity grows a step at a time until the first jobs give timings.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import redis

from jobqueue import contract, metrics, queues
from jobqueue.settings import Settings


@dataclass(frozen=True)
class QueueSignal:
    """What an autoscaler needs to know about one queue."""

    queue: str
    depth: int
    oldest_age_s: float
    workers: int
    concurrency: int
    arrivals_per_min: float
    throughput_per_min: float
    mean_job_s: float | None  # None: no job finished in the last two hours
    target_wait_s: float
    suggested_workers: int


def _mean_job_s(client: redis.Redis, queue: str, recent: metrics.Rate, now_s: float) -> float | None:
    """Pool-slot seconds per job over the window, else over the two hours the per-minute counts are kept."""
    rate = recent if recent.finished else metrics.read_rate(client, queue, metrics.RATE_TTL_S, now_s)
    return rate.busy_s / rate.finished if rate.finished else None


def suggest(
    depth: int,
    arrivals_per_s: float,
    mean_job_s: float | None,
    target_wait_s: float,
    concurrency: int,
    workers: int,
    settings: Settings,
) -> int:
    """Worker processes needed to keep up with arrivals and clear the backlog within the target wait."""
    if mean_job_s is None:
        wanted = workers + 1 if depth else 0
    else:
        slots = arrivals_per_s * mean_job_s + depth * mean_job_s / target_wait_s
        wanted = math.ceil(slots / concurrency - 1e-9)
    return min(settings.scale_max_workers, max(settings.scale_min_workers, wanted))


def queue_signal(
    client: redis.Redis, settings: Settings, queue: str, now_s: float, state: queues.QueueState | None = None
) -> QueueSignal:
    """The signal of one job queue, from the broker's lists, the heartbeats and the rate counters
    (``state``: the queue as already read, if it was)."""
    state = state or queues.read_queue(client, queue, now_s)
    rate = metrics.read_rate(client, queue, settings.scaling_window_s, now_s)
    mean = _mean_job_s(client, queue, rate, now_s)
    concurrency = settings.fast_concurrency if queue == contract.Q_FAST else settings.heavy_concurrency
    target = settings.fast_target_wait_s if queue == contract.Q_FAST else settings.heavy_target_wait_s
    return QueueSignal(
        queue=queue,
        depth=state.depth,
        oldest_age_s=state.oldest_age_s,
        workers=state.workers,
        concurrency=concurrency,
        arrivals_per_min=round(rate.enqueued * 60 / rate.seconds, 3),
        throughput_per_min=round(rate.finished * 60 / rate.seconds, 3),
        mean_job_s=None if mean is None else round(mean, 4),
        target_wait_s=target,
        suggested_workers=suggest(
            state.depth, rate.enqueued / rate.seconds, mean, target, concurrency, state.workers, settings
        ),
    )


def scaling_signal(client: redis.Redis, settings: Settings, now_s: float) -> dict[str, Any]:
    """Every job queue's signal, as GET /scaling and ``python -m tools.scale --json`` show it."""
    return {
        "window_s": settings.scaling_window_s,
        "queues": {q: asdict(queue_signal(client, settings, q, now_s)) for q in contract.JOB_QUEUES},
    }
