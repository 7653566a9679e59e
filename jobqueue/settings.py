"""Service configuration: one frozen, validated value, and the only code that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from jobqueue import contract

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_MODEL_DIR = DEFAULT_VAR_DIR / "models"


class Settings(BaseModel):
    """Everything any process of the service can be told; tests build it directly.

    Each field is read from the environment variable of its upper-cased name
    (``job_ttl_s`` from ``JOB_TTL_S``) by ``from_env``; pydantic turns the text
    into the field's type, so ``int | None`` or a ``Literal`` need no parser of
    their own. The README's configuration table lists exactly these fields (a
    test compares them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", repr=False)  # may hold a password
    # rediss:// only: check the server's certificate (Heroku's Redis has a self-signed one: set 0 there),
    # against this CA bundle if one is given.
    redis_tls_verify: bool = True
    redis_tls_ca_file: str = ""
    # The database every host shares: the model registry (versions, manifests, artifacts, the active
    # version). PostgreSQL on Heroku and in compose; empty is VAR_DIR/registry.sqlite, for one host.
    database_url: str = Field(default="", repr=False)
    # This host's cache of the registry's artifacts: every file is checked against its manifest's
    # sha256 before it is written here, and again before it is unpickled.
    model_dir: Path = DEFAULT_MODEL_DIR
    # Built-in models trained into an image (the Dockerfile), published by `python -m models.setup`
    # into a registry that lacks them, instead of training them again.
    model_seed_dir: Path = PROJECT_ROOT / "models" / "seed"
    # Versions each model keeps: its newest this many, plus the active one and any a queued or running
    # job pins; older ones leave the registry and the hosts' caches.
    model_versions_kept: int = 10
    # How often each web process asks the registry whether a version was added, activated or removed.
    registry_poll_s: float = 1.0
    # Job records (and idempotency keys) live this long after creation.
    job_ttl_s: int = 24 * 3600
    # The archive, a table of the same database: the archiver process copies every job that ends there,
    # up to ARCHIVE_BATCH_SIZE per transaction, and keeps it ARCHIVE_RETENTION_DAYS after its creation
    # (0: for ever). Until it is committed there, a finished job stays in Redis at least ARCHIVE_HOLD_S
    # after it ended, however short JOB_TTL_S: an archiver down for less than that loses nothing.
    archive_retention_days: int = 400
    archive_batch_size: int = 500
    archive_hold_s: int = 7 * 24 * 3600
    # Drift: GET /models/<name>/drift compares the jobs of the last DRIFT_WINDOW_DAYS (the newest
    # DRIFT_MAX_JOBS at most) with the training data; the archiver refreshes the figures /metrics
    # exports every DRIFT_REFRESH_S (0: never).
    drift_window_days: float = 7.0
    drift_max_jobs: int = 10_000
    drift_refresh_s: int = 300
    max_request_bytes: int = 2 * 1024 * 1024
    max_batch_size: int = 10_000
    max_wait_s: float = 30.0
    # A lost broker must turn into a 503 quickly, never a hung request: within the connect timeout
    # when connections go unanswered, within the socket timeout when Redis accepts them and then
    # answers nothing (frozen, or packets dropped on a pooled connection). A healthy Redis must
    # never hit it, busy as it may be: one command waits for whatever runs before it. Measured
    # (python -m bench.redis_timeouts): the create script of a 10,000-record batch runs 3-8 ms
    # in Redis (0.6 MB; 14-26 ms near the 2 MiB body limit), the largest script of all, the
    # finish of 10,000 local explanations (17 MB), 230 ms (360 at worst). 1.5 s lets a command
    # wait behind four of those, and gets a 503 out within 2 s (frozen: 1.5 s; unreachable: 1 s).
    redis_connect_timeout_s: float = 1.0
    redis_socket_timeout_s: float = 1.5
    # Workers answer no one while they wait, and they write the large results: a 17 MB write
    # must get through (Python's socket timeout bounds a whole send) on a slower link too.
    worker_redis_socket_timeout_s: float = 5.0
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
    # At most this many chunks of one global explanation wait or run at once, on any heavy
    # processes of any hosts: its share. More heavy processes than this serve other jobs meanwhile.
    explain_chunks_in_flight: int = 4
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
    # admin); several per tenant for rotation. Empty: the service runs open,
    # which the web allows on a loopback address only, unless ALLOW_OPEN is set.
    api_keys: str = Field(default="", repr=False)
    allow_open: bool = False
    # Browser origins allowed to call the API (comma-separated); empty: no CORS.
    cors_origins: str = ""
    # Backpressure: POST /jobs answers 429 once a queue holds this many messages (0: no limit),
    max_queue_depth_fast: int = 10_000
    max_queue_depth_heavy: int = 200
    # and once a tenant submitted this many jobs in the current window (0: no limit).
    rate_limit_per_key: int = 1200
    rate_limit_window_s: int = 60
    # Callbacks are signed with this secret; without it callback_url is refused.
    callback_secret: str = Field(default="", repr=False)
    # Callback hosts must resolve to public addresses unless these allow more:
    # loopback only, or every address (receivers on the deployment's own network).
    callback_allow_loopback: bool = False
    callback_allow_private: bool = False
    callback_timeout_s: float = 5.0
    callback_max_attempts: int = 8
    # Retry n waits about backoff * 2**(n-1) seconds (jittered), at most backoff_max.
    callback_backoff_s: float = 5.0
    callback_backoff_max_s: float = 900.0
    # The web process (gunicorn): address and port, worker processes, threads per
    # process (a ?wait holds a thread) and worker class. Loopback unless told
    # otherwise: a platform's router or a container's port mapping needs 0.0.0.0.
    web_host: str = "127.0.0.1"
    port: int = 8000
    web_concurrency: int = 2
    web_threads: int = 32
    web_worker_class: Literal["gthread", "sync"] = "gthread"
    # Worker processes: pool size of each queue's worker, messages the fast
    # worker reserves per pool process (so micro-batches can form), jobs a
    # heavy pool process runs before it is replaced (returning SHAP's memory).
    fast_concurrency: int = 2
    fast_prefetch_multiplier: int = 32
    heavy_concurrency: int = 1
    heavy_max_tasks_per_child: int = 1000
    # A heavy pool process past this resident size after a task is replaced:
    # SHAP and pandas keep memory they freed. Below a 512 MB dyno's memory.
    heavy_max_memory_mb: int = Field(default=400, ge=1)
    # Heavy workers run at this niceness (0-19), so on a host they share with
    # the signup path they take only the CPU it leaves (at 19, about 1.5 % of
    # a contended core); alone on a dyno it costs nothing.
    heavy_nice: int = Field(default=19, ge=0, le=19)
    callback_concurrency: int = 4
    # The scaling signal: the longest a job should wait in each queue, the
    # recent past it measures arrivals and job times over, and the bounds of
    # the worker count it suggests.
    fast_target_wait_s: float = 5.0
    heavy_target_wait_s: float = 120.0
    scaling_window_s: int = 300
    scale_min_workers: int = 1
    scale_max_workers: int = 20
    # The optional Flower dashboard; ``user:password`` protects it.
    flower_address: str = "127.0.0.1"
    flower_port: int = 5555
    flower_basic_auth: str = Field(default="", repr=False)
    # `make run`'s private Redis listens here (None: a free port).
    redis_port: int | None = None
    # `make run` keeps its private Redis's data in VAR_DIR/redis, and the address of the Redis it
    # serves with in VAR_DIR/run/redis.json, where the project's commands find it.
    var_dir: Path = DEFAULT_VAR_DIR

    @field_validator("model_dir", "model_seed_dir", "var_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.resolve()

    @property
    def database(self) -> str:
        """The SQLAlchemy URL of ``database_url``, or of the local SQLite file when it is empty.

        Heroku names PostgreSQL ``postgres://``, which SQLAlchemy no longer reads; both
        spellings use the psycopg (3) driver.
        """
        url = self.database_url or f"sqlite:///{self.var_dir / 'registry.sqlite'}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        if self.visibility_timeout_s <= max(self.fast_time_limit_s, self.heavy_time_limit_s):
            raise ValueError("VISIBILITY_TIMEOUT_S must exceed every task time limit")
        if self.explain_chunk_rows < 1 or self.explain_chunks_in_flight < 1:
            raise ValueError("EXPLAIN_CHUNK_ROWS and EXPLAIN_CHUNKS_IN_FLIGHT must be at least 1")
        # A retry waits unacknowledged in the worker; past the visibility timeout it would be sent twice.
        if self.callback_backoff_max_s >= self.visibility_timeout_s:
            raise ValueError("CALLBACK_BACKOFF_MAX_S must be below VISIBILITY_TIMEOUT_S")
        if self.callback_max_attempts < 1 or self.rate_limit_window_s < 1:
            raise ValueError("CALLBACK_MAX_ATTEMPTS and RATE_LIMIT_WINDOW_S must be at least 1")
        if self.model_versions_cached < 1:
            raise ValueError("MODEL_VERSIONS_CACHED must be at least 1")
        if (
            min(
                self.fast_concurrency,
                self.heavy_concurrency,
                self.callback_concurrency,
                self.web_concurrency,
                self.web_threads,
                self.fast_prefetch_multiplier,
                self.heavy_max_tasks_per_child,
            )
            < 1
        ):
            raise ValueError("process, pool, thread and prefetch counts must be at least 1")
        if min(self.fast_target_wait_s, self.heavy_target_wait_s) <= 0 or self.scaling_window_s < 60:
            raise ValueError("target waits must be positive and SCALING_WINDOW_S at least 60")
        if not 0 <= self.scale_min_workers <= self.scale_max_workers:
            raise ValueError("need 0 <= SCALE_MIN_WORKERS <= SCALE_MAX_WORKERS")
        if self.model_versions_kept < 1 or self.registry_poll_s <= 0:
            raise ValueError("MODEL_VERSIONS_KEPT must be at least 1 and REGISTRY_POLL_S positive")
        if self.archive_retention_days < 0 or self.archive_batch_size < 1 or self.archive_hold_s < 0:
            raise ValueError("need ARCHIVE_RETENTION_DAYS >= 0, ARCHIVE_BATCH_SIZE >= 1 and ARCHIVE_HOLD_S >= 0")
        if self.drift_window_days <= 0 or self.drift_max_jobs < 1 or self.drift_refresh_s < 0:
            raise ValueError("need DRIFT_WINDOW_DAYS > 0, DRIFT_MAX_JOBS >= 1 and DRIFT_REFRESH_S >= 0")
        if self.unacked_restore_interval_s < 1 or self.reaper_grace_s < 1:
            raise ValueError("UNACKED_RESTORE_INTERVAL_S and REAPER_GRACE_S must be at least 1")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from the environment: each field from its upper-cased name; unset or empty keeps the default."""
        env = os.environ if env is None else env
        raw = {name: env[name.upper()] for name in cls.model_fields if env.get(name.upper(), "") != ""}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])).upper() or 'settings'}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"invalid configuration: {problems}") from None

    def as_env(self) -> dict[str, str]:
        """The environment variables that give a child process exactly these settings."""
        return {name.upper(): _env_text(value) for name, value in self.model_dump().items() if value is not None}

    def replace(self, **changes: Any) -> "Settings":
        """A validated copy with some fields changed (tests use it to point at their own Redis)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def time_limit_s(self, queue: str) -> int:
        """The hard time limit of a task on ``queue``."""
        if queue == contract.Q_CALLBACKS:
            # connect and read timeouts, plus time to sign and record the attempt
            return int(2 * self.callback_timeout_s) + 10
        return self.heavy_time_limit_s if queue == contract.Q_HEAVY else self.fast_time_limit_s


def _env_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
