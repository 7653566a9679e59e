"""Backpressure at the door: a full queue, or a tenant over its rate, is a 429 before anything is recorded.

The checks run inside the job store's create script, in the same round trip
that records the job, so admission costs no extra trip and a refused request
leaves nothing behind. Under concurrent submissions the depth limit is exact
(the script is atomic); the rate counts refused attempts too, as a fixed
window does.
"""
from __future__ import annotations

import math

from web.errors import ApiError
from worker import contract
from worker.jobstore import Limits, Refused
from worker.queues import broker_lists
from worker.settings import Settings


class Admission:
    """Says which limits a tenant's submission to a queue must pass, and how a refusal reads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_depth = {contract.Q_FAST: settings.max_queue_depth_fast,
                          contract.Q_HEAVY: settings.max_queue_depth_heavy}

    def limits(self, tenant: str, queue: str, now: float) -> Limits:
        """The limits for a submission at ``now`` (epoch seconds).

        The rate counts a tenant's submissions per fixed window; the open
        service (tenant "") has no key to count against, so only depth applies.
        """
        rate, window_s = (self.settings.rate_limit_per_key if tenant else 0), self.settings.rate_limit_window_s
        max_depth = self.max_depth.get(queue, 0)
        return Limits(
            rate=rate, rate_key=contract.rate_key(tenant, int(now // window_s)) if rate else "-",
            rate_ttl_s=window_s + 1, max_depth=max_depth,
            depth_lists=tuple(broker_lists(queue)) if max_depth else ())

    def refusal(self, refused: Refused, queue: str, now: float) -> ApiError:
        """The 429 a refused submission gets, with the Retry-After that fits its reason."""
        if refused.reason == "rate_limited":
            rate, window_s = self.settings.rate_limit_per_key, self.settings.rate_limit_window_s
            wait = max(1, math.ceil((now // window_s + 1) * window_s - now))
            return ApiError(429, "rate_limited", f"this key's tenant may submit {rate} jobs per {window_s} s; "
                                                 f"retry in {wait} s", headers={"Retry-After": str(wait)})
        return ApiError(429, "queue_full", f"the {queue} queue holds {refused.count} jobs, its limit; nothing "
                                           "was accepted, retry later",
                        headers={"Retry-After": str(self.settings.retry_after_s)})
