"""The Redis side of the archive: the stream of jobs that ended, read by the archivers as one consumer group.

The scripts that end a job (``finish``, ``cancel``) or change an ended one
(``record_callback``) add its id to ``scoring:archive`` in the same atomic
step, and keep its record at least ARCHIVE_HOLD_S. An archiver reads entries
as a member of the ``archivers`` group, commits their records to the database,
and only then acknowledges and deletes the entries and gives the records their
ordinary expiry back (``archived.lua``). An entry read but never acknowledged
(its archiver died, or the database refused the commit) stays pending: the same
archiver (a consumer is named after its host, so a restarted archiver is the
same one) reads its own pending entries again first, and any archiver claims
those another one left idle for ``CLAIM_IDLE_MS`` (its host is gone).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

from jobqueue import contract
from jobqueue.records import decode_record, text
from jobqueue.scripts import load

ARCHIVED, ERASE = load("archived"), load("erase")
# An archiver that has held entries this long without acknowledging them is taken for dead.
CLAIM_IDLE_MS = 30_000
# Consumers without pending entries and silent this long are dropped from the group.
STALE_CONSUMER_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Entry:
    """One stream entry: a job that ended, or changed after it ended."""

    id: str
    job_id: str


@dataclass(frozen=True)
class Backlog:
    """Entries waiting for the archive, and how long the oldest one has waited."""

    entries: int
    oldest_age_s: float


class ArchiveStream:
    """Reads and acknowledges archive entries as one consumer of the archivers' group."""

    def __init__(self, client: redis.Redis, consumer: str, ttl_s: int, claim_idle_ms: int = CLAIM_IDLE_MS) -> None:
        self.redis = client
        self.consumer = consumer
        self.ttl_s = ttl_s
        self.claim_idle_ms = claim_idle_ms

    def ensure_group(self) -> None:
        """Create the group (and the stream) if missing, from the first entry: none is skipped."""
        try:
            self.redis.xgroup_create(contract.ARCHIVE_STREAM, contract.ARCHIVE_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int, block_ms: int) -> list[Entry]:
        """The next entries to archive: this consumer's unacknowledged ones, then a dead one's, then new ones.

        Waits up to ``block_ms`` (0: not at all) for new entries when there is nothing else.
        """
        try:
            return self._read(count, block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (its data was flushed): start again from the stream's first entry.
            self.ensure_group()
            return self._read(count, block_ms)

    def _read(self, count: int, block_ms: int) -> list[Entry]:
        own = self._entries(self._group_read("0", count, None))
        if own:
            return own
        claimed = self.redis.xautoclaim(
            contract.ARCHIVE_STREAM,
            contract.ARCHIVE_GROUP,
            self.consumer,
            min_idle_time=self.claim_idle_ms,
            start_id="0-0",
            count=count,
        )
        taken = self._entries(claimed[1])
        if taken:
            return taken
        return self._entries(self._group_read(">", count, block_ms or None))

    def _group_read(self, start: str, count: int, block_ms: int | None) -> list[Any]:
        reply = cast(
            "list[Any]",
            self.redis.xreadgroup(
                contract.ARCHIVE_GROUP, self.consumer, {contract.ARCHIVE_STREAM: start}, count=count, block=block_ms
            ),
        )
        return list(reply[0][1]) if reply else []

    @staticmethod
    def _entries(raw: Sequence[Any]) -> list[Entry]:
        # An entry deleted after it was read (by another archiver that archived it) comes back without fields.
        return [Entry(text(entry_id), text((fields or {}).get(b"job", b""))) for entry_id, fields in raw]

    def records(self, entries: Sequence[Entry]) -> dict[str, dict[str, Any] | None]:
        """The current record of each entry's job, read in one round trip; None where it is gone."""
        job_ids = list(dict.fromkeys(entry.job_id for entry in entries if entry.job_id))
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(contract.job_key(job_id))
        return {
            job_id: decode_record(raw) if raw else None for job_id, raw in zip(job_ids, pipe.execute(), strict=True)
        }

    def done(self, entries: Sequence[Entry]) -> None:
        """The entries' jobs are committed: acknowledge and delete the entries, and let the records expire."""
        if not entries:
            return
        ARCHIVED(
            self.redis,
            keys={
                "stream": contract.ARCHIVE_STREAM,
                "jobs": [contract.job_key(entry.job_id or "-") for entry in entries],
            },
            group=contract.ARCHIVE_GROUP,
            entries=[entry.id for entry in entries],
            ttl_s=self.ttl_s,
        )

    def forget_stale_consumers(self) -> int:
        """Drop consumers (archivers long gone) that hold no entry; how many were dropped."""
        dropped = 0
        try:
            consumers = self.redis.xinfo_consumers(contract.ARCHIVE_STREAM, contract.ARCHIVE_GROUP)
        except redis.ResponseError:
            return 0  # no stream or no group yet
        for consumer in consumers:
            name = text(consumer["name"])
            if name != self.consumer and consumer["pending"] == 0 and consumer["idle"] > STALE_CONSUMER_MS:
                self.redis.xgroup_delconsumer(contract.ARCHIVE_STREAM, contract.ARCHIVE_GROUP, name)
                dropped += 1
        return dropped


def backlog(client: redis.Redis, now_s: float | None = None) -> Backlog:
    """Entries not yet archived (new or pending), and the age of the oldest; one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.xlen(contract.ARCHIVE_STREAM)
    pipe.xrange(contract.ARCHIVE_STREAM, count=1)
    length, first = pipe.execute()
    if not first:
        return Backlog(int(length), 0.0)
    # An entry id begins with the milliseconds of its XADD.
    added_ms = int(text(first[0][0]).split("-", 1)[0])
    return Backlog(int(length), max(0.0, (now_s if now_s is not None else time.time()) - added_ms / 1000))


def erase(client: redis.Redis, anonymised: dict[str, tuple[str, str]]) -> int:
    """Strip the inputs of these ended jobs from Redis: job id -> (result, error) JSON left in their place.

    Returns how many records were erased (a job gone from Redis, or still running, is not).
    """
    if not anonymised:
        return 0
    job_ids = list(anonymised)
    return int(
        ERASE(
            client,
            keys={"jobs": [contract.job_key(job_id) for job_id in job_ids]},
            results=[anonymised[job_id][0] for job_id in job_ids],
            errors=[anonymised[job_id][1] for job_id in job_ids],
        )
    )
