"""Names shared by web and worker: task names, queues, job states and Redis keys."""

from __future__ import annotations

# Task names: the web sends by name and never imports task code.
PREDICT = "jobs.predict"
EXPLAIN = "jobs.explain"
# One chunk of a global explanation, run by any heavy process on any host.
EXPLAIN_CHUNK = "jobs.explain_chunk"
TRAIN = "jobs.train"
DELIVER_CALLBACK = "callbacks.deliver"

# Queues: cheap, latency-sensitive work and heavy, long-running work are
# consumed by separate worker processes so one never starves the other.
Q_FAST = "fast"
Q_HEAVY = "heavy"
# Callback deliveries wait on other people's servers: their own queue and
# process, so a slow receiver never holds up scoring.
Q_CALLBACKS = "callbacks"
QUEUES = (Q_FAST, Q_HEAVY, Q_CALLBACKS)
# The queues jobs run on; the callbacks queue carries deliveries, not jobs.
JOB_QUEUES = (Q_FAST, Q_HEAVY)

TASK_QUEUES = {PREDICT: Q_FAST, EXPLAIN: Q_HEAVY, EXPLAIN_CHUNK: Q_HEAVY, TRAIN: Q_HEAVY, DELIVER_CALLBACK: Q_CALLBACKS}
TASK_NAMES = {"predict": PREDICT, "explain": EXPLAIN, "train": TRAIN}

# Job states.
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})

# Redis keys. Everything the service writes is under one prefix so an
# operator can tell it apart from Celery's own keys.
PREFIX = "scoring:"
JOB_INDEX = PREFIX + "jobs"  # the open service's jobs; each tenant has its own index
# Ids of running jobs scored by when they started: what the reaper looks through.
RUNNING_INDEX = PREFIX + "running"
# Ids of queued jobs scored by when they were queued: the reaper finds there a job whose message
# vanished on its way to a worker (popped from the list, never recorded as delivered).
QUEUED_INDEX = PREFIX + "queued"
# Jobs that ended (or changed after they ended), waiting for the archiver: a stream it reads as a group.
ARCHIVE_STREAM = PREFIX + "archive"
ARCHIVE_GROUP = "archivers"
# Model name -> its active version's drift figures (JSON), as the archiver last computed them for /metrics.
DRIFT_FIGURES = PREFIX + "drift"
# Held by the one worker sweeping for lost jobs.
REAPER_LOCK = PREFIX + "reaper"
# Queued jobs a sweep found with no message anywhere, and when it first did.
REAPER_SUSPECTS = PREFIX + "reaper:suspects"


def job_index(tenant: str) -> str:
    """The sorted set listing one tenant's jobs ("" is the open service, without API keys)."""
    return f"{PREFIX}tenant:{tenant}:jobs" if tenant else JOB_INDEX


def job_key(job_id: str) -> str:
    """The hash holding one job's record."""
    return f"{PREFIX}job:{job_id}"


def done_channel(job_id: str) -> str:
    """The pub/sub channel told when a job reaches a terminal state."""
    return f"{PREFIX}done:{job_id}"


def idempotency_key(key: str, tenant: str = "") -> str:
    """Maps a client's Idempotency-Key to the job it created; tenants never share keys."""
    return f"{PREFIX}tenant:{tenant}:idem:{key}" if tenant else f"{PREFIX}idem:{key}"


def rate_key(tenant: str, window: int) -> str:
    """Counts one tenant's submissions in one fixed rate-limit window."""
    return f"{PREFIX}tenant:{tenant}:rate:{window}"


def fanout_key(job_id: str) -> str:
    """The plan of a job split into chunks: how many, how many done, which chunk each one handed on."""
    return f"{PREFIX}fanout:{job_id}"


def chunk_key(job_id: str, chunk: int) -> str:
    """One chunk's recorded outcome (its partial sums); written once, whoever computed it."""
    return f"{PREFIX}fanout:{job_id}:{chunk}"


def training_key(model: str) -> str:
    """Names the one train job of ``model`` queued or running, if any: training is one at a time per model."""
    return f"{PREFIX}training:{model}"


def cache_key(*parts: object) -> str:
    """A result shared by identical requests, e.g. ("explain-global", model, version, size, seed)."""
    return f"{PREFIX}cache:" + ":".join(str(p) for p in parts)


def workers_key(queue: str) -> str:
    """Sorted set of worker hostnames consuming ``queue``, scored by their last heartbeat."""
    return f"{PREFIX}workers:{queue}"


# Workers beat this often; one silent for HEARTBEAT_STALE_S counts as gone.
HEARTBEAT_INTERVAL_S = 5.0
HEARTBEAT_STALE_S = 15.0
