"""Service configuration: one frozen value, read from the environment in one place."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from worker import contract

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "store"


# Annotations are strings (``from __future__ import annotations``); these are the types used.
_PARSERS = {
    "str": str,
    "int": int,
    "float": float,
    "bool": lambda raw: raw.strip().lower() not in ("0", "false", "no", "off"),
    "Path": lambda raw: Path(raw).resolve(),
}


@dataclass(frozen=True)
class Settings:
    """Everything the web and worker processes can be told; tests build it directly."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    model_dir: Path = DEFAULT_MODEL_DIR
    # Job records (and idempotency keys) live this long after creation.
    job_ttl_s: int = 24 * 3600
    max_request_bytes: int = 2 * 1024 * 1024
    max_batch_size: int = 10_000
    max_wait_s: float = 30.0
    # A lost broker must turn into a 503 quickly, never a hung request.
    redis_connect_timeout_s: float = 1.0
    redis_socket_timeout_s: float = 5.0
    retry_after_s: int = 5
    # Unacknowledged messages come back after this long; it must exceed every
    # task's hard time limit or a slow job would run twice concurrently.
    visibility_timeout_s: int = 3600
    # How often each worker sweeps for messages past the visibility timeout
    # (kombu's restore of unacknowledged messages); it bounds redelivery after
    # a whole worker is lost at VISIBILITY_TIMEOUT_S + this.
    unacked_restore_interval_s: int = 60
    # Hard time limits per queue. The soft limit, SOFT_TIME_LIMIT_MARGIN_S
    # earlier (none if the margin is 0 or not below the limit), lets a job
    # record a readable timeout; a job stuck in native code past the hard limit
    # has its process killed, and is retried until MAX_ATTEMPTS fails it.
    fast_time_limit_s: int = 60
    heavy_time_limit_s: int = 1800
    soft_time_limit_margin_s: int = 5
    # Customers per chunk of a global explanation (~0.2 s each at the benchmarked
    # speed): a worker stopped mid-job loses at most one chunk, and cancellation
    # takes effect within one.
    explain_chunk_rows: int = 500
    # Predict jobs waiting together are scored in one model call, at most this many.
    batch_max_size: int = 64
    # A job whose worker died this many times is failed instead of retried.
    max_attempts: int = 3
    # The reaper: every REAPER_INTERVAL_S one worker looks for jobs running
    # REAPER_GRACE_S past their queue's hard time limit, whose message was lost
    # or is held by a worker that vanished. 0 turns it off.
    reaper_interval_s: int = 30
    reaper_grace_s: int = 30
    warm_models: bool = True
    # Versions of one model a worker process keeps loaded: the active one and,
    # during a rollout, the one that jobs submitted before it still pin.
    model_versions_cached: int = 2
    log_level: str = "INFO"
    # API keys as comma-separated ``role:tenant:secret`` entries (role: client or
    # admin); several per tenant for rotation. Empty: the service runs open.
    api_keys: str = field(default="", repr=False)
    # Browser origins allowed to call the API (comma-separated); empty: no CORS.
    cors_origins: str = ""
    # Backpressure: POST /jobs answers 429 once a queue holds this many messages (0: no limit),
    max_queue_depth_fast: int = 10_000
    max_queue_depth_heavy: int = 200
    # and once a tenant submitted this many jobs in the current window (0: no limit).
    rate_limit_per_key: int = 1200
    rate_limit_window_s: int = 60
    # Callbacks are signed with this secret; without it callback_url is refused.
    callback_secret: str = field(default="", repr=False)
    # Callback hosts must resolve to public addresses unless these allow more:
    # loopback only, or every address (receivers on the deployment's own network).
    callback_allow_loopback: bool = False
    callback_allow_private: bool = False
    callback_timeout_s: float = 5.0
    callback_max_attempts: int = 8
    # Retry n waits about backoff * 2**(n-1) seconds (jittered), at most backoff_max.
    callback_backoff_s: float = 5.0
    callback_backoff_max_s: float = 900.0
    # Pool size of one worker process of each queue: the same variables the
    # Procfile passes to `celery worker -c`, with the same defaults.
    fast_concurrency: int = 2
    heavy_concurrency: int = 1
    # The scaling signal: the longest a job should wait in each queue, the
    # recent past it measures arrivals and job times over, and the bounds of
    # the worker count it suggests.
    fast_target_wait_s: float = 5.0
    heavy_target_wait_s: float = 120.0
    scaling_window_s: int = 300
    scale_min_workers: int = 1
    scale_max_workers: int = 20

    def __post_init__(self) -> None:
        if self.visibility_timeout_s <= max(self.fast_time_limit_s, self.heavy_time_limit_s):
            raise ValueError("VISIBILITY_TIMEOUT_S must exceed every task time limit")
        if self.explain_chunk_rows < 1:
            raise ValueError("EXPLAIN_CHUNK_ROWS must be at least 1")
        # A retry waits unacknowledged in the worker; past the visibility timeout it would be sent twice.
        if self.callback_backoff_max_s >= self.visibility_timeout_s:
            raise ValueError("CALLBACK_BACKOFF_MAX_S must be below VISIBILITY_TIMEOUT_S")
        if self.callback_max_attempts < 1 or self.rate_limit_window_s < 1:
            raise ValueError("CALLBACK_MAX_ATTEMPTS and RATE_LIMIT_WINDOW_S must be at least 1")
        if self.model_versions_cached < 1:
            raise ValueError("MODEL_VERSIONS_CACHED must be at least 1")
        if min(self.fast_concurrency, self.heavy_concurrency) < 1:
            raise ValueError("FAST_CONCURRENCY and HEAVY_CONCURRENCY must be at least 1")
        if min(self.fast_target_wait_s, self.heavy_target_wait_s) <= 0 or self.scaling_window_s < 60:
            raise ValueError("target waits must be positive and SCALING_WINDOW_S at least 60")
        if not 0 <= self.scale_min_workers <= self.scale_max_workers:
            raise ValueError("need 0 <= SCALE_MIN_WORKERS <= SCALE_MAX_WORKERS")
        if self.unacked_restore_interval_s < 1 or self.reaper_grace_s < 1:
            raise ValueError("UNACKED_RESTORE_INTERVAL_S and REAPER_GRACE_S must be at least 1")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from the environment (the only place it is read): each field from its
        upper-cased name, e.g. ``job_ttl_s`` from ``JOB_TTL_S``; unset or empty keeps the default."""
        env = os.environ if env is None else env
        values = {}
        for setting in dataclasses.fields(cls):
            raw = env.get(setting.name.upper())
            if raw in (None, ""):
                continue
            try:
                values[setting.name] = _PARSERS[setting.type](raw)
            except ValueError:
                raise ValueError(f"{setting.name.upper()}={raw!r} is not a valid {setting.type}") from None
        return cls(**values)

    def time_limit_s(self, queue: str) -> int:
        """The hard time limit of a task on ``queue``."""
        if queue == contract.Q_CALLBACKS:
            # connect and read timeouts, plus time to sign and record the attempt
            return int(2 * self.callback_timeout_s) + 10
        return self.heavy_time_limit_s if queue == contract.Q_HEAVY else self.fast_time_limit_s

    def replace(self, **changes: object) -> "Settings":
        """A copy with some fields changed (tests use it to point at their own Redis)."""
        return dataclasses.replace(self, **changes)
