"""Backpressure at the door: a full queue, or a tenant over its rate, is a 429 before anything is recorded.

Both checks are one pipelined round trip to Redis. Under concurrent
submissions a queue can overshoot its limit by the number of requests checked
at the same moment; the limit bounds the backlog, it is not a reservation.
"""
from __future__ import annotations

import math
import time

import redis

from web.errors import ApiError
from worker import contract
from worker.queues import broker_lists
from worker.settings import Settings


class Admission:
    """Decides whether a tenant may add a job to a queue right now."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.redis = client
        self.max_depth = {contract.Q_FAST: settings.max_queue_depth_fast,
                          contract.Q_HEAVY: settings.max_queue_depth_heavy}

    def check(self, tenant: str, queue: str) -> None:
        """Raise a 429 ApiError (with Retry-After) if the queue is full or the tenant over its rate.

        The rate counts a tenant's submissions per fixed window; the open
        service (tenant "") has no key to count against, so only depth applies.
        """
        max_depth = self.max_depth.get(queue, 0)
        rate, window_s = (self.settings.rate_limit_per_key if tenant else 0), self.settings.rate_limit_window_s
        if not max_depth and not rate:
            return
        now = time.time()
        window = int(now // window_s)
        pipe = self.redis.pipeline(transaction=False)
        if rate:
            key = contract.rate_key(tenant, window)
            pipe.set(key, 0, ex=window_s + 1, nx=True)
            pipe.incr(key)
        lists = broker_lists(queue) if max_depth else []
        for name in lists:
            pipe.llen(name)
        replies = pipe.execute()
        if rate and replies[1] > rate:
            wait = max(1, math.ceil((window + 1) * window_s - now))
            raise ApiError(429, "rate_limited", f"this key's tenant may submit {rate} jobs per {window_s} s; "
                                                f"retry in {wait} s", headers={"Retry-After": str(wait)})
        depth = sum(replies[-len(lists):]) if lists else 0
        if max_depth and depth >= max_depth:
            raise ApiError(429, "queue_full", f"the {queue} queue holds {depth} jobs, its limit; nothing was "
                                              "accepted, retry later",
                           headers={"Retry-After": str(self.settings.retry_after_s)})
