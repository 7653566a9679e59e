"""Worker process hooks: logging set-up and loading the active models once per process."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import current_app
from celery.signals import setup_logging, worker_process_init
from threadpoolctl import threadpool_limits

from jobqueue.logs import configure_logging
from models.manifest import ArtifactRefused
from worker.runtime import runtime_for

log = logging.getLogger(__name__)


@setup_logging.connect
def log_json_lines(loglevel: Any = None, **_: Any) -> None:
    """JSON lines, as the web writes them; connecting this signal is what keeps Celery from
    installing its own handlers (and from redirecting stdout into the log)."""
    configure_logging(loglevel or logging.INFO)


@worker_process_init.connect
def one_native_thread(**_: Any) -> None:
    """One BLAS and one OpenMP thread per pool process: the pool size is the parallelism.

    Measured on a global explanation's chunks: OpenMP's second thread (in the
    model's predict and SHAP) cut a chunk's wall time by 8 % for 80 % more
    CPU, and with two pool processes on two cores the extra threads only
    contended, with each other and with the signup path.
    """
    threadpool_limits(limits=1)
    # OpenMP is loaded later, with scikit-learn's first import in this process; it reads this then.
    os.environ["OMP_NUM_THREADS"] = "1"


@worker_process_init.connect
def warm_models(**_: Any) -> None:
    """Load every active model in each pool process, so the first job does not pay for it.

    Runs after the fork: OpenMP and BLAS thread pools are not fork-safe, so
    nothing is loaded in the parent.
    """
    runtime = runtime_for(current_app)
    if not runtime.settings.warm_models:
        return
    snapshot = runtime.models.store.snapshot()
    for name in snapshot.names():
        version = snapshot.active_version(name)
        try:
            loaded = runtime.models.get(name, version)
            log.info("loaded %s %s", name, loaded.manifest.version)
        except ArtifactRefused as exc:
            log.error("model %s is unavailable: %s", name, exc)
