"""A consumer bootstep that removes from this host's model cache the versions the registry no longer has.

Versions leave the registry when a training prunes them (``MODEL_VERSIONS_KEPT``);
web hosts forget them at their next refresh, and worker hosts here, once a
minute, from the main process (pool processes keep at most a few versions per
model loaded, least recently used first out).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

from models.store import ModelStore
from worker.runtime import worker_app

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 60.0


class CacheSweep(bootsteps.StartStopStep):
    """Every SWEEP_INTERVAL_S, drop cached versions the registry has pruned."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_ref: Any = None
        self.store: ModelStore | None = None

    def start(self, consumer: Any) -> None:
        if self.timer_ref is not None:
            return
        self.store = ModelStore.for_settings(worker_app(consumer.app).scoring_settings)
        self.timer_ref = consumer.timer.call_repeatedly(SWEEP_INTERVAL_S, self.sweep, (), priority=10)

    def stop(self, consumer: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None

    shutdown = stop

    def sweep(self) -> None:
        """One pass: read which versions the registry has, delete the others here."""
        if self.store is None:
            return
        try:
            removed = self.store.cache.retain(self.store.snapshot().pairs())
        except Exception:  # the registry may be down: sweep again next time
            log.warning("model cache sweep failed", exc_info=True)
            return
        if removed:
            log.info("removed from this host's model cache: %s", ", ".join(f"{n} {v}" for n, v in removed))
