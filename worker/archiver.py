"""``python -m worker archiver``: copy every job that ends from Redis into the archive, off the scoring path.

The loop reads up to ARCHIVE_BATCH_SIZE entries of the archive stream (its
own unacknowledged ones first; after a smaller batch it lingers a second so
the next one is fuller), reads their records, commits them in one
transaction, applies any erasure request that covers them (in the database,
then in Redis), and only then acknowledges the entries and lets the records
expire. A crash anywhere before the acknowledgement leaves the entries pending:
they are archived again, which changes nothing (an upsert by job id). While
the database or Redis is unreachable it retries with a growing pause; the
records wait in Redis (ARCHIVE_HOLD_S). Between batches it prunes jobs past
ARCHIVE_RETENTION_DAYS hourly and refreshes the drift figures /metrics shows.
Run one or several: they share the stream as one consumer group.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import redis
import sqlalchemy as sa

from jobqueue import contract, metrics
from jobqueue.archive import Archive
from jobqueue.archive_stream import ArchiveStream, erase
from jobqueue.connections import create_redis
from jobqueue.logs import configure_logging, exception_fields
from jobqueue.settings import Settings
from models.store import ModelStore
from worker.drift_figures import refresh_drift_figures

log = logging.getLogger(__name__)

BLOCK_MS = 1000
# After a batch smaller than ARCHIVE_BATCH_SIZE, wait this long for more: one transaction a second
# instead of one per job that ends keeps the archiver's cost per job small (nothing waits on it).
LINGER_S = 1.0
PRUNE_EVERY_S = 3600.0
MAX_PAUSE_S = 5.0
# The archiver yields the CPU to web and workers sharing its host: scoring comes first.
NICENESS = 10


def consumer_name() -> str:
    """This archiver in the group: its host, so an archiver restarted there resumes its own pending entries
    at once (two on one host share them harmlessly: archiving is idempotent)."""
    return socket.gethostname()


class Archiver:
    """Moves ended jobs from Redis to the archive; ``step`` does one batch, ``run`` loops until stopped."""

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        archive: Archive,
        consumer: str | None = None,
        drift: Callable[[], object] | None = None,
    ) -> None:
        self.settings = settings
        self.redis = client
        self.archive = archive
        self.stream = ArchiveStream(client, consumer or consumer_name(), settings.job_ttl_s)
        self.drift = drift
        self.stop = threading.Event()
        self._next_prune = 0.0
        self._next_drift = 0.0

    def step(self, block_ms: int = BLOCK_MS) -> int:
        """Archive one batch (waiting up to ``block_ms`` for one); how many entries it settled."""
        entries = self.stream.read(self.settings.archive_batch_size, block_ms)
        if not entries:
            return 0
        records = self.stream.records(entries)
        ended = [r for r in records.values() if r is not None and r.get("status") in contract.TERMINAL]
        gone = sorted({e.job_id for e in entries if e.job_id and records.get(e.job_id) is None})
        if gone:
            # Its record expired before any archiver committed it: down longer than ARCHIVE_HOLD_S.
            self.redis.hincrby(metrics.ARCHIVE_COUNTS, "expired", len(gone))
            log.error("archive_records_expired", extra={"jobs": len(gone), "job_ids": gone[:20]})
        stored = self._store(ended)
        if stored:
            erase(self.redis, stored)
        self.stream.done(entries)
        return len(entries)

    def _store(self, ended: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
        """Commit the batch; a record the database refuses as data (not an outage) is set aside, alone."""
        try:
            return self.archive.store(ended).erased
        except (sa.exc.IntegrityError, sa.exc.DataError):
            if len(ended) <= 1:
                job_ids = [record["id"] for record in ended]
                self.redis.hincrby(metrics.ARCHIVE_COUNTS, "refused", len(job_ids))
                log.error("archive_record_refused", extra={"job_ids": job_ids})
                return {}
        erased: dict[str, tuple[str, str]] = {}
        for record in ended:
            erased.update(self._store([record]))
        return erased

    def housekeeping(self, now: float) -> None:
        """Prune past retention (hourly) and refresh the drift figures (every DRIFT_REFRESH_S)."""
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            retention_s = self.settings.archive_retention_days * 86400
            horizon_us = int((now - self.settings.job_ttl_s - self.settings.archive_hold_s) * 1_000_000)
            removed = self.archive.prune(int((now - retention_s) * 1_000_000) if retention_s else 0, horizon_us)
            self.stream.forget_stale_consumers()
            if removed:
                log.info(
                    "archive_pruned", extra={"jobs": removed, "retention_days": self.settings.archive_retention_days}
                )
        if self.drift is not None and self.settings.drift_refresh_s and now >= self._next_drift:
            self._next_drift = now + self.settings.drift_refresh_s
            self.drift()

    def run(self) -> None:
        """Archive until ``stop`` is set; outages of Redis or the database only pause it."""
        pause, failing = 0.0, False
        while not self.stop.is_set():
            try:
                self.stream.ensure_group()
                while not self.stop.is_set():
                    settled = self.step()
                    self.housekeeping(time.time())
                    if failing:
                        log.warning("archive_resumed")
                        failing, pause = False, 0.0
                    if 0 < settled < self.settings.archive_batch_size:
                        self.stop.wait(LINGER_S)
            except (redis.ConnectionError, redis.TimeoutError, sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                if not failing:
                    log.warning("archive_paused", extra={**exception_fields(exc), "reason": type(exc).__name__})
                failing = True
            except Exception as exc:  # noqa: BLE001 - logged and retried; the entries stay pending meanwhile
                log.error("archive_failed", extra=exception_fields(exc))
                failing = True
            pause = min(MAX_PAUSE_S, max(0.2, pause * 2))
            self.stop.wait(pause)


def main(settings: Settings) -> int:
    """The archiver process: runs until SIGTERM or SIGINT, finishing the batch in hand."""
    configure_logging(settings.log_level)
    os.nice(NICENESS)
    client = create_redis(settings)
    archive = Archive.for_settings(settings)
    store = ModelStore.for_settings(settings)
    archiver = Archiver(
        settings, client, archive, drift=lambda: refresh_drift_figures(settings, client, archive, store)
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        archiver.stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    log.info("archiver_started", extra={"consumer": archiver.stream.consumer})
    archiver.run()
    archive.engine.dispose()
    return 0
