"""Running the archiver's own code in the test process: one batch after another until the stream is empty."""

from __future__ import annotations

from jobqueue.archive import Archive
from jobqueue.connections import create_redis
from jobqueue.settings import Settings
from worker.archiver import Archiver


def archiver_for(settings: Settings, consumer: str = "test-archiver", claim_idle_ms: int | None = None) -> Archiver:
    """An archiver on ``settings``' Redis and database, its group created."""
    archiver = Archiver(settings, create_redis(settings), Archive.for_settings(settings), consumer=consumer)
    if claim_idle_ms is not None:
        archiver.stream.claim_idle_ms = claim_idle_ms
    archiver.stream.ensure_group()
    return archiver


def drain(settings: Settings, archiver: Archiver | None = None) -> int:
    """Archive every entry waiting (without blocking); how many were settled."""
    archiver = archiver or archiver_for(settings)
    total = 0
    while settled := archiver.step(block_ms=0):
        total += settled
    return total
